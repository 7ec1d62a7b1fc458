"""Patient tables as clinics hold them: values a clinic may not have, unit-labelled headers, ID
columns, bad rows listed rather than the whole file refused, and a template per cohort model.

The Python API, the CLI and the model service keep the strict reader (``data.read_frame``: the
first bad value refuses the call, naming column and row). The page's batch upload reads with
``read_batch``: the good rows are answered and each bad cell is listed with its row, column,
value and the allowed range. ``fill_unmeasured`` and ``unmeasured_spread`` serve the METABRIC
form, whose gene-expression values most clinics do not have.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.survival.data import Covariate, expected_text, read_csv_bytes, value_problems
from medcore.survival.metrics import GROUP_WORDS, horizon_label

__all__ = [
    "UNMEASURED",
    "UNMEASURED_NOTE",
    "ID_COLUMN",
    "Batch",
    "unmeasured",
    "fill_unmeasured",
    "unmeasured_spread",
    "filled_message",
    "column_label",
    "column_key",
    "template_csv",
    "read_batch",
    "problems_table",
    "results_table",
]

# Covariates a clinic rarely has, with the training cohort's 5th, 50th and 95th percentiles (numpy's
# linear percentiles of survival/metabric_train.csv, 1,523 patients; the 50th is the card's
# reference_row). Left out, a value takes the 50th; the 5th-95th give the spread of the prediction.
UNMEASURED: dict[str, dict[str, tuple[float, float, float]]] = {
    "survival-metabric": {
        "egfr_expr": (5.4567741, 5.9544563, 7.7005523),
        "pgr_expr": (5.17629297, 5.891523, 8.2363322),
        "erbb2_expr": (8.9902653, 10.535431, 13.9562569),
        "mki67_expr": (5.4232382, 5.8120804, 6.52356887),
    },
}
UNMEASURED_NOTE: dict[str, tuple[str, str]] = {
    "survival-metabric": (
        "The four mRNA values are gene-expression levels of EGFR, PGR, ERBB2 (HER2) and MKI67 (Ki-67) "
        "measured in the tumour tissue by a gene-expression microarray, as log2 intensities, as in the "
        "METABRIC study. They are not the ER/PR/HER2 or Ki-67 results of a routine pathology report, and "
        "most clinics do not have them. Leave a box empty if not measured: the training cohort's median "
        "is used, and the result says so.",
        "Without gene-expression data, the GBSG model (relapse-free survival) uses only routine clinical "
        "factors; it was trained on node-positive patients.",
    ),
}
ID_COLUMN = "patient_id"  # the template's identifier column (any non-input column is carried through)
_BLANK_NOTE = "blank = not measured"


def unmeasured(model_name: str) -> dict[str, tuple[float, float, float]]:
    """The covariates of ``model_name`` that may be left out: name -> (5th, 50th, 95th percentile)."""
    return UNMEASURED.get(model_name, {})


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def fill_unmeasured(model, row: dict) -> tuple[dict, list[str]]:
    """``row`` with its blank optional covariates set to the training cohort's median, and their names.

    Blank: missing, None, NaN or empty text. Required covariates are left as they are (the
    reader refuses them, naming the column).
    """
    filled = [name for name in unmeasured(model.name) if _blank(row.get(name))]
    return {**row, **{name: float(model.reference_row[name]) for name in filled}}, filled


def unmeasured_spread(model, row: dict, filled: list[str]) -> dict | None:
    """How far the answer could move had the ``filled`` covariates been measured.

    Each filled covariate is set to its training 5th, 50th and 95th percentile, in every
    combination (3**k patients); the answers of those inside the training cohort are summarised.

    Returns:
        None when nothing was filled, else ``{"combinations", "inside", "risk_percentile": [low,
        high], "horizon", "survival": [low, high], "median_survival": [low, high]}`` (None in
        ``median_survival``: not reached within follow-up; the ranges are absent when no
        combination is inside the cohort).
    """
    if not filled:
        return None
    levels = [unmeasured(model.name)[name] for name in filled]
    rows = [{**row, **dict(zip(filled, combo))} for combo in itertools.product(*levels)]
    answered = [r for r in model.analyse(rows) if not r["out_of_domain"]]
    spread: dict = {"combinations": len(rows), "inside": len(answered)}
    if not answered:
        return spread
    label = horizon_label(model.horizons[-1], model.time_unit)
    medians = [r["median_survival"] for r in answered]
    reached = [m for m in medians if m is not None]
    spread.update(
        risk_percentile=[min(r["risk_percentile"] for r in answered), max(r["risk_percentile"] for r in answered)],
        horizon=label,
        survival=[min(r[f"survival@{label}"] for r in answered), max(r[f"survival@{label}"] for r in answered)],
        median_survival=[min(reached) if reached else None, None if None in medians else max(reached)],
    )
    return spread


def _time(value: float | None, unit: str) -> str:
    return "not reached" if value is None else f"{value:.0f} {unit}"


def filled_message(model, filled: list[str], spread: dict | None) -> str:
    """The page's words for a prediction made with filled values: which, with what, and how much it could move."""
    by_name = {c.name: c for c in model.cohort.covariates}
    values = ", ".join(
        f"{by_name[n].description} = {model.reference_row[n]:.2f} {by_name[n].unit}".rstrip() for n in filled
    )
    rests = "the clinical factors only" if len(filled) == len(unmeasured(model.name)) else "the values entered"
    text = (
        f"Not measured, so filled with the training cohort's median: {values}. "
        f"The result rests on {rests}: the filled values neither raise nor lower the risk against the "
        "cohort's median patient."
    )
    if not spread:
        return text
    if not spread["inside"]:
        return text + " No combination of 5th-95th percentile values lies inside the training cohort."
    low, high = spread["risk_percentile"]
    s_low, s_high = spread["survival"]
    m_low, m_high = spread["median_survival"]
    unit = model.time_unit
    medians = _time(m_low, unit) if m_low == m_high else f"from {_time(m_low, unit)} to {_time(m_high, unit)}"
    outside = spread["combinations"] - spread["inside"]
    return text + (
        f" Had they been measured anywhere between their training 5th and 95th percentiles, the risk "
        f"percentile would lie between {low:.0f} and {high:.0f}, {model.endpoint} at {spread['horizon']} "
        f"between {s_low:.0%} and {s_high:.0%}, and the median {model.endpoint} {medians} "
        f"(each at its 5th, 50th or 95th percentile: {spread['combinations']} combinations"
        + (f", {outside} outside the training cohort left out" if outside else "")
        + ")."
    )


# ----- headers, templates ---------------------------------------------------------------------------
def column_label(covariate: Covariate, optional: bool = False) -> str:
    """The template's header of a covariate: its name with the unit or the code key,
    e.g. 'age (years)', 'hormone_therapy (0 = no; 1 = yes)'. The reader accepts it as-is."""
    if covariate.categories:
        parts = ["; ".join(f"{code} = {word}" for code, word in sorted(covariate.categories.items()))]
    else:
        parts = [covariate.unit]
    parts.append(_BLANK_NOTE if optional else "")
    shown = "; ".join(part for part in parts if part)
    return f"{covariate.name} ({shown})" if shown else covariate.name


def _allowed(covariate: Covariate) -> str:
    if covariate.categories:
        return ", ".join(f"{code} = {word}" for code, word in sorted(covariate.categories.items()))
    low, high = covariate.range
    return f"{low:g}-{high:g} {covariate.unit}".rstrip()


def _expected(covariate: Covariate) -> str:
    """``expected_text`` with the code key of a coded column: 'Post-menopausal, 0-1 (0 = no, 1 = yes)'."""
    return expected_text(covariate) + (f" ({_allowed(covariate)})" if covariate.categories else "")


def column_key(model) -> pd.DataFrame:
    """What each template column means and the values it takes (the key to the coded columns)."""
    optional = unmeasured(model.name)
    rows = [
        {
            "column": ID_COLUMN,
            "meaning": "your identifier (optional); every column that is not a model input is kept in the results",
            "values": "any text",
        }
    ]
    for covariate in model.cohort.covariates:
        note = "; blank = not measured (the training cohort's median is used)" if covariate.name in optional else ""
        rows.append(
            {
                "column": column_label(covariate, covariate.name in optional),
                "meaning": covariate.description,
                "values": _allowed(covariate) + note,
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def template_csv(model) -> str:
    """A CSV the batch reader accepts as-is: an ID column and one row, the training cohort's median patient."""
    optional = unmeasured(model.name)
    row: dict = {ID_COLUMN: "example-1"}
    for covariate in model.cohort.covariates:
        value = float(model.reference_row[covariate.name])
        whole = covariate.categories or covariate.type in ("binary", "integer")
        row[column_label(covariate, covariate.name in optional)] = int(round(value)) if whole else float(f"{value:.6g}")
    return pd.DataFrame([row]).to_csv(index=False)


def _norm(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text).strip().lower().replace("_", " "))
    return text.replace("tumour", "tumor").replace("oestrogen", "estrogen")


def _match_headers(columns: list, covariates: tuple[Covariate, ...], optional: dict, name: str) -> dict:
    """File header -> covariate name, for the headers that name a covariate (with or without unit or key)."""
    mapping: dict = {}
    for header in columns:
        found = re.fullmatch(r"(.*?)\s*\((.*)\)\s*", str(header))
        base, inside = (found.group(1), found.group(2)) if found else (str(header), "")
        target = next((c for c in covariates if _norm(base) in (_norm(c.name), _norm(c.description))), None)
        if target is None:
            continue
        first = _norm(inside.split(";")[0])
        if inside and first != _norm(target.unit) and not (target.categories and "=" in inside):
            raise InvalidInputError(
                f"{name}: the column '{header}' looks like {target.name}, but '{inside}' is not its unit or code "
                f"key. Expected: {_expected(target)}. Convert the values if needed and name the column "
                f"'{target.name}' or '{column_label(target, target.name in optional)}'."
            )
        earlier = next((h for h, n in mapping.items() if n == target.name), None)
        if earlier is not None:
            raise InvalidInputError(
                f"{name}: the columns '{earlier}' and '{header}' both give {target.name}; keep one of them."
            )
        mapping[header] = target.name
    return mapping


# ----- the batch reader -----------------------------------------------------------------------------
@dataclass
class Batch:
    """A patient CSV read for the page: the good rows' covariates, the bad cells, the carried columns."""

    n_rows: int
    clean: pd.DataFrame  # good rows only: covariate columns as float64, in the model's order
    rows: list[int]  # the 1-based row number (1 = first data row) of each row of ``clean``
    carried: pd.DataFrame  # every row's other columns (IDs...), as the text in the file
    problems: list[dict] = field(default_factory=list)  # {"row", "column", "value", "problem", "allowed"}
    filled: dict[int, list[str]] = field(default_factory=dict)  # row number -> covariates filled with the median
    columns: dict[str, str] = field(default_factory=dict)  # file header -> covariate name


def _as_text(data: bytes, frame: pd.DataFrame) -> pd.DataFrame:
    """The file's cells as the text written in it ('007' stays '007'), aligned with ``frame``."""
    try:
        text = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, nrows=len(frame))
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError):
        text = None
    if text is None or text.shape != frame.shape or list(text.columns) != list(frame.columns):
        text = frame.astype(str).where(frame.notna(), "")
    return text.reset_index(drop=True)


def _codes_from_words(values: pd.Series, covariate: Covariate) -> pd.Series:
    """A coded column with its words ('yes', 'no', '>50 mm') replaced by their codes; other cells unchanged."""
    words = {word.strip().lower(): code for code, word in covariate.categories.items()}
    return values.map(lambda v: words.get(v.strip().lower(), v) if isinstance(v, str) else v)


def read_batch(model, data: bytes, name: str = "upload") -> Batch:
    """A CSV of patients for ``model``: every row checked on its own.

    Headers may be the covariate names ('age'), their descriptions, or either with the unit or
    code key in brackets ('age (years)', the template's headers). Other columns (an ID) are
    carried through unchanged. Optional covariates (``UNMEASURED``) may be blank or absent: the
    training cohort's median is used and the row says so.

    Raises:
        InvalidInputError: the file cannot be read as a CSV, holds no rows, lacks a required
            column, names a column with a wrong unit or names one twice. A bad value does not
            raise: it lands in ``Batch.problems`` and its row is left out of ``Batch.clean``.
    """
    frame = read_csv_bytes(name, data).reset_index(drop=True)
    if len(frame) == 0:
        raise InvalidInputError(f"{name} holds no patients (no data rows). Add one row per patient.")
    covariates, optional = model.cohort.covariates, unmeasured(model.name)
    mapping = _match_headers(list(frame.columns), covariates, optional, name)
    carried = [h for h in frame.columns if h not in mapping]
    missing = [c for c in covariates if c.name not in mapping.values() and c.name not in optional]
    if missing:
        raise InvalidInputError(
            f"{name} lacks the column(s) {', '.join(c.name for c in missing)} ("
            + "; ".join(_expected(c) for c in missing)
            + ")."
            + (
                f" Columns that are not model inputs (kept as they are): {', '.join(map(repr, carried))}."
                if carried
                else ""
            )
            + " Download the template for the headers, or use the bare names: "
            + ", ".join(c.name for c in covariates)
            + "."
        )
    text = _as_text(data, frame)
    header_of = {covariate_name: header for header, covariate_name in mapping.items()}
    n = len(frame)
    values, bad = {}, np.zeros(n, dtype=bool)
    problems: list[dict] = []
    filled: dict[int, list[str]] = {}
    for covariate in covariates:
        header = header_of.get(covariate.name)
        column = frame[header] if header is not None else pd.Series([np.nan] * n)
        if covariate.categories:
            column = _codes_from_words(column, covariate)
        if covariate.name in optional:
            blank = column.map(_blank).to_numpy(dtype=bool)
            for index in np.flatnonzero(blank):
                filled.setdefault(int(index) + 1, []).append(covariate.name)
            column = column.where(~blank, float(model.reference_row[covariate.name]))
        numbers, checks = value_problems(column, covariate)
        told = np.zeros(n, dtype=bool)
        for mask, problem in checks:
            for index in np.flatnonzero(mask & ~told):
                problems.append(
                    {
                        "row": int(index) + 1,
                        "column": str(header),
                        "value": (text[header].iloc[index] if header is not None else "") or "(empty)",
                        "problem": problem,
                        "allowed": _expected(covariate),
                    }
                )
            told |= mask
        bad |= told
        values[covariate.name] = numbers
    good = np.flatnonzero(~bad)
    clean = pd.DataFrame(values).iloc[good].reset_index(drop=True)
    problems.sort(key=lambda p: p["row"])
    return Batch(
        n_rows=n,
        clean=clean,
        rows=[int(i) + 1 for i in good],
        carried=text[carried].copy() if carried else pd.DataFrame(index=range(n)),
        problems=problems,
        filled={row: names for row, names in filled.items() if not bad[row - 1]},
        columns={str(h): c for h, c in mapping.items()},
    )


def problems_table(batch: Batch) -> pd.DataFrame:
    """One line per bad cell: row (1 = first patient), column, value as written, problem, allowed values."""
    columns = ["row", "column", "value", "problem", "allowed"]
    return pd.DataFrame([{key: p[key] for key in columns} for p in batch.problems], columns=columns)


def results_table(model, batch: Batch, results: list[dict]) -> pd.DataFrame:
    """Every row of the file: its carried columns unchanged, then the answer, or why there is none.

    ``results`` are ``model.analyse(batch.clean)``. The median is "not reached" when the curve stays
    above 50 % within follow-up; "" when the row got no answer (the note says why).
    """
    unit, endpoint = model.time_unit, model.endpoint
    labels = [horizon_label(h, unit) for h in model.horizons]
    answers = dict(zip(batch.rows, results))
    reasons: dict[int, list[str]] = {}
    for p in batch.problems:
        reasons.setdefault(p["row"], []).append(
            f"'{p['column']}' = {p['value']!r} {p['problem']} (expected: {p['allowed']})"
        )
    median_column = f"median {endpoint} ({unit})"
    records = []
    for number in range(1, batch.n_rows + 1):
        answer = answers.get(number)
        record: dict = {"row": number}
        if answer is None:
            record.update({"risk percentile": np.nan, "risk group (cohort third)": "not analysed", median_column: ""})
            record.update({f"{endpoint} at {label}": np.nan for label in labels})
            record["note"] = "Not read: " + "; ".join(reasons.get(number, [])) + "."
        else:
            answered = not answer["out_of_domain"]
            median = answer.get("median_survival")
            record.update(
                {
                    "risk percentile": round(answer.get("risk_percentile", np.nan), 1),
                    "risk group (cohort third)": GROUP_WORDS.get(answer.get("risk_group"), "not analysed"),
                    median_column: (f"{median:.1f}" if median is not None else "not reached") if answered else "",
                }
            )
            record.update(
                {f"{endpoint} at {label}": round(answer.get(f"survival@{label}", np.nan), 3) for label in labels}
            )
            notes = list(answer["warnings"])
            if batch.filled.get(number):
                notes.append("not measured, the training cohort's median used: " + ", ".join(batch.filled[number]))
            record["note"] = "; ".join(notes)
        records.append(record)
    table = pd.DataFrame(records)
    carried = batch.carried.reset_index(drop=True)
    carried.columns = [f"{c} (from file)" if c in table.columns else c for c in carried.columns]
    return pd.concat([carried, table], axis=1)
