"""Score the symptom assessment on clinician-written vignettes: triage and differential figures.

A vignette file is a CSV with ``text, age, sex, triage, diagnosis, known`` (``known`` = yes when
the diagnosis is one of the model's conditions). Figures, each with a 95 % Wilson interval and n:
triage accuracy, emergency recall, safety (the share triaged at or above the right level),
under-triage of emergencies, top-1 and top-3 on known diagnoses, and the share of unknown-
diagnosis cases answered confidently (``fits`` with a top probability >= 0.5). The project's own
vignettes (``medcore/assessment/vignettes/``) are evaluation data: nothing is fitted on them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from medcore.assessment.knowledge import LEVELS
from medcore.core.errors import InvalidInputError
from medcore.core.uncertainty import wilson

__all__ = ["VIGNETTES_DIR", "wilson", "read_vignettes", "assess_vignettes", "vignette_metrics", "evaluate_file"]

VIGNETTES_DIR = Path(__file__).resolve().parent / "vignettes"
_REQUIRED = ("text", "triage", "diagnosis")


def read_vignettes(source: Path | str | bytes) -> list[dict]:
    """Vignette rows from a CSV path or its bytes.

    Raises:
        InvalidInputError: a required column is missing or a triage level is unknown (row named).
    """
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else Path(source).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in _REQUIRED if column not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInputError(
            f"The vignette file lacks the column(s) {missing}; it needs {list(_REQUIRED)} (and optionally age, sex, "
            "known, id)."
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        if row["triage"] not in LEVELS:
            raise InvalidInputError(f"Row {number}: triage {row['triage']!r} is not one of {list(LEVELS)}.")
        rows.append(row)
    return rows


def assess_vignettes(model, rows: list[dict]) -> list[dict]:
    """One outcome per vignette: the assessment's level, top diagnoses, fits, or the refusal."""
    outcomes = []
    for row in rows:
        try:
            age = float(row["age"]) if row.get("age") not in (None, "") else None
        except ValueError:
            age = None
        try:
            result = model.assess(row["text"], age=age, sex=row.get("sex") or None)
            ranked = [d["condition"] for d in result["differential"]]
            top = result["differential"][0]["probability"] if result["differential"] else 0.0
            outcome = {
                "level": result["triage"]["level"],
                "ranked": ranked,
                "fits": result["fits"],
                "top": top,
                "error": None,
            }
        except InvalidInputError as err:
            outcome = {"level": None, "ranked": [], "fits": False, "top": 0.0, "error": str(err)}
        outcomes.append({**row, **outcome})
    return outcomes


def _share(flags: list[bool]) -> tuple[float | None, list, int]:
    n = len(flags)
    return (sum(flags) / n if n else None), wilson(sum(flags), n), n


def vignette_metrics(outcomes: list[dict]) -> dict:
    """Triage and differential figures with 95 % Wilson intervals and their n (see the module)."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    figures: dict = {}

    def put(key: str, flags: list[bool]) -> None:
        value, interval, n = _share(flags)
        figures[key] = None if value is None else round(value, 6)
        figures[f"{key}_ci95"] = interval
        figures[f"n_{key}"] = n

    # A refusal gives no level: it counts as wrong and, for safety, as under-triage.
    levels = [(o["triage"], o["level"]) for o in outcomes]
    put("triage_accuracy", [gold == got for gold, got in levels])
    put("emergency_recall", [got == "emergency" for gold, got in levels if gold == "emergency"])
    put("safety", [got is not None and rank[got] >= rank[gold] for gold, got in levels])
    put("over_triage", [got is not None and rank[got] > rank[gold] for gold, got in levels])
    known = [o for o in outcomes if str(o.get("known", "")).lower() == "yes"]
    put("top1", [bool(o["ranked"]) and o["ranked"][0] == o["diagnosis"] for o in known])
    put("top3", [o["diagnosis"] in o["ranked"][:3] for o in known])
    put("known_fits", [bool(o["fits"]) for o in known])
    unknown = [o for o in outcomes if str(o.get("known", "")).lower() == "no"]
    put("unknown_confident", [bool(o["fits"]) and o["top"] >= 0.5 for o in unknown])
    put("refused", [o["error"] is not None for o in outcomes])
    figures["n"] = len(outcomes)
    figures["confusion"] = {
        gold: {got: sum(1 for g, o in levels if g == gold and o == got) for got in (*LEVELS, None)} for gold in LEVELS
    }
    return figures


def evaluate_file(model, path: Path | str) -> dict:
    """Figures of ``model`` on a vignette CSV, plus each case's outcome (for a table)."""
    outcomes = assess_vignettes(model, read_vignettes(path))
    return {"metrics": vignette_metrics(outcomes), "cases": outcomes}
