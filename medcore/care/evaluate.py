"""Evaluating the care recommender: the temporal protocol of ARCHITECTURE.md and its ranking metrics.

``evaluate_recommender`` scores a Synthea export (a folder, or the tables of an uploaded zip)
beside the popularity baseline measured in the same run; ``medcore.core.evaluate`` calls
``evaluate_upload`` for the page's zip upload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from medcore.care.data import folder_sha256, load_synthea, read_synthea_zip, temporal_queries, timelines
from medcore.care.model import MAX_K, CareRecommender
from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.core.uncertainty import wilson

__all__ = [
    "ACCEPTED_UPLOADS",
    "evaluate_upload",
    "evaluate_recommender",
    "ranking_metrics",
    "per_patient_at",
    "ranking_intervals",
    "CASES",
    "forbidden_hits",
    "evaluate_plan_cases",
]

CASES = Path(__file__).resolve().parent / "cases" / "outpatients.json"

ACCEPTED_UPLOADS = {".zip": "zip of a Synthea CSV export folder (patients.csv, conditions.csv, procedures.csv...)"}


def evaluate_upload(
    model: CareRecommender, name: str, data: bytes, progress: Callable[[float], None] | None = None
) -> dict:
    """``evaluate_recommender`` on a zipped Synthea export, read in memory (the page's upload)."""
    result = evaluate_recommender(model, read_synthea_zip(name, data, LIMITS["max_unpacked_bytes"]))
    if progress:
        progress(1.0)
    return result


def evaluate_recommender(model: CareRecommender, path: Path | str | dict[str, bytes], ks=range(1, 21)) -> dict:
    """The temporal protocol of ARCHITECTURE.md on the patients of a Synthea folder.

    Per patient, the history before the 80th-percentile cutoff of their service items (with their
    age at the cutoff and sex) is given to ``model.recommend``; its top 20 are scored against the
    service items that came at or after the cutoff. The popularity baseline (the model's own
    training popularity, no age or sex) is scored on the same patients in the same run.

    Args:
        model: a loaded care recommender.
        path: a Synthea CSV export folder (or a data root holding ``synthea_unmc/``), or the
            tables of an uploaded zip (``medcore.care.data.read_synthea_zip``).

    Returns:
        ``model``, ``protocol``, ``n``, ``skipped``, ``hr@10``, ``ndcg@10``, ``recall@10``,
        ``baseline`` (``popularity``: the same three figures), ``curves`` (per method, HR/NDCG/
        recall at k = 1..20) and ``notes``.

    Raises:
        InvalidInputError: the folder is not a Synthea export, or no patient qualifies.
    """
    data = load_synthea(path)
    queries, skipped = temporal_queries(timelines(data))
    if not queries:
        raise InvalidInputError(
            f"No patient in '{data.folder}' qualifies for the temporal protocol (each needs at least 5 service "
            "items, 2 history items and a service item after the cutoff); evaluate on a larger export."
        )
    ks = list(ks)
    targets = [query.targets for query in queries]
    methods = {
        "model": [model.ranked_items(q.history, min(max(ks), MAX_K), q.age, q.sex or None) for q in queries],
        "popularity": [model.ranked_items(q.history, min(max(ks), MAX_K), component="popularity") for q in queries],
    }
    curves = {name: ranking_metrics(ranked, targets, ks) for name, ranked in methods.items()}
    headline = ("hr@10", "ndcg@10", "recall@10")
    notes = []
    if folder_sha256(path) == model.card.get("training", {}).get("data_sha256"):
        notes.append(
            "These are the patients the model was trained on, so these figures are optimistic; the card's "
            "validation figures are on patients held out from training."
        )
    return {
        "model": model.name,
        "protocol": "temporal: history before the 80th-percentile cutoff of each patient's service items, "
        "targets = service items first seen at or after it",
        "n": len(queries),
        "skipped": skipped,
        **{key: curves["model"][key] for key in headline},
        "baseline": {"popularity": {key: curves["popularity"][key] for key in headline}},
        "curves": {
            name: {metric: [curve[f"{metric}@{k}"] for k in ks] for metric in ("hr", "ndcg", "recall")} | {"k": ks}
            for name, curve in curves.items()
        },
        "notes": notes,
    }


def ranking_metrics(rankings: list[list[str]], targets: list[list[str]], ks=range(1, 21)) -> dict:
    """HR@k, NDCG@k and recall@k of ranked lists against target sets.

    HR@k: 1 if any target is in the top k. NDCG@k: binary-relevance DCG of the top k over the
    ideal DCG of ``min(k, len(targets))`` hits. Recall@k: targets in the top k / all targets.

    Args:
        rankings: per patient, item ids best first (at least ``max(ks)`` long where possible).
        targets: per patient, the non-empty set of item ids that came next.
        ks: the cut-offs.

    Returns:
        ``{"n": N, "hr@1": ..., "ndcg@1": ..., "recall@1": ..., ...}`` averaged over patients.
    """
    if len(rankings) != len(targets):
        raise InvalidInputError(f"Got {len(rankings)} rankings but {len(targets)} target lists; pass one per patient.")
    ks = list(ks)
    discounts = 1.0 / np.log2(np.arange(2, max(ks) + 2))
    sums = {f"{metric}@{k}": 0.0 for k in ks for metric in ("hr", "ndcg", "recall")}
    for ranked, wanted in zip(rankings, targets):
        wanted = set(wanted)
        if not wanted:
            raise InvalidInputError("Every patient needs at least one target item; drop patients without targets.")
        hits = np.array([item in wanted for item in ranked[: max(ks)]] + [False] * max(0, max(ks) - len(ranked)))
        for k in ks:
            top = hits[:k]
            sums[f"hr@{k}"] += float(top.any())
            sums[f"ndcg@{k}"] += float((top * discounts[:k]).sum() / discounts[: min(k, len(wanted))].sum())
            sums[f"recall@{k}"] += float(top.sum() / len(wanted))
    n = len(rankings)
    return {"n": n, **{key: (value / n if n else float("nan")) for key, value in sums.items()}}


def per_patient_at(rankings: list[list[str]], targets: list[list[str]], k: int = 10) -> dict[str, np.ndarray]:
    """Per patient: ``hr``, ``ndcg`` and ``recall`` at ``k`` (float arrays (N,)), as ``ranking_metrics`` averages them."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    out = {"hr": [], "ndcg": [], "recall": []}
    for ranked, wanted in zip(rankings, targets):
        wanted = set(wanted)
        hits = np.array([item in wanted for item in ranked[:k]] + [False] * max(0, k - len(ranked)))
        out["hr"].append(float(hits.any()))
        out["ndcg"].append(float((hits * discounts).sum() / discounts[: min(k, len(wanted))].sum()))
        out["recall"].append(float(hits.sum() / len(wanted)))
    return {key: np.array(values) for key, values in out.items()}


def ranking_intervals(rankings: list[list[str]], targets: list[list[str]], k: int = 10, seed: int = 0) -> dict:
    """95 % bootstrap intervals over patients of HR@k, NDCG@k and recall@k: ``{"hr@10": [low, high], ...}``."""
    from medcore.core.uncertainty import bootstrap_intervals

    values = per_patient_at(rankings, targets, k)
    return bootstrap_intervals(
        lambda rows: {f"{metric}@{k}": values[metric][rows].mean() for metric in values}, len(targets), seed=seed
    )


def forbidden_hits(plan: dict, forbidden: list[str], groups: dict[str, set[str]]) -> list[str]:
    """The forbidden entries a plan shows: item ids, ``group:NAME``, ``re:`` patterns on the
    suggestions' descriptions (all in ``next``) and care-gap ids (in ``care_gaps``)."""
    shown_items = {entry["item"]: entry["description"] for entry in plan["next"]}
    gap_ids = {gap["id"] for gap in plan["care_gaps"]}
    hits = []
    for rule in forbidden:
        if rule.startswith("re:"):
            hit = any(re.search(rule[3:], text) for text in shown_items.values())
        elif rule.startswith("group:"):
            hit = bool(groups.get(rule[6:], set()) & shown_items.keys())
        elif ":" in rule:
            hit = rule in shown_items
        else:
            hit = rule in gap_ids
        if hit:
            hits.append(rule)
    return hits


def evaluate_plan_cases(model: CareRecommender, path: Path = CASES, k: int = 10) -> dict:
    """Score ``plan`` on written outpatient cases: guideline items present, forbidden items shown.

    Returns:
        ``{"n_cases", "expected", "present", "present_share", "present_share_ci95",
        "status_checked", "status_right", "forbidden_checked", "forbidden_shown",
        "cases_with_forbidden", "failures": [{case, missing, wrong_status, forbidden}]}``.
    """
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    today = date.fromisoformat(document["today"])
    groups = model._planner.groups
    expected = present = checked = right = forbidden_checked = forbidden_shown = with_forbidden = 0
    failures = []
    for case in document["cases"]:
        plan = model.plan(
            case["history"], age=case.get("age"), sex=case.get("sex"), lifestyle=case.get("lifestyle"), k=k, today=today
        )
        status = {gap["id"]: gap["status"] for gap in plan["care_gaps"]}
        missing, wrong = [], []
        for wanted in case["expected"]:
            gap, want_status = (wanted["id"], wanted.get("status")) if isinstance(wanted, dict) else (wanted, None)
            expected += 1
            if gap in status:
                present += 1
            else:
                missing.append(gap)
            if want_status is not None:
                checked += 1
                if status.get(gap) == want_status:
                    right += 1
                else:
                    wrong.append(f"{gap}: {status.get(gap, 'absent')} (expected {want_status})")
        hits = forbidden_hits(plan, case["forbidden"], groups)
        forbidden_checked += len(case["forbidden"])
        forbidden_shown += len(hits)
        with_forbidden += bool(hits)
        if missing or wrong or hits:
            failures.append({"case": case["id"], "missing": missing, "wrong_status": wrong, "forbidden": hits})
    return {
        "n_cases": len(document["cases"]),
        "expected": expected,
        "n": expected,
        "present": present,
        "present_share": present / expected if expected else None,
        "present_share_ci95": wilson(present, expected),
        "status_checked": checked,
        "status_right": right,
        "forbidden_checked": forbidden_checked,
        "forbidden_shown": forbidden_shown,
        "cases_with_forbidden": with_forbidden,
        "cases_with_forbidden_ci95": wilson(with_forbidden, len(document["cases"])),
        "failures": failures,
    }
