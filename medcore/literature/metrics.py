"""Extraction metrics over abstracts, with 95 % intervals from a bootstrap over abstracts.

- strict mention P/R/F1 per type: (start, end, type) must match exactly (BC5CDR's official NER measure);
- relaxed mention P/R/F1: a mention counts if it overlaps one of the same type;
- concept P/R/F1 per type: the set of MeSH ids of each type per abstract (normalisation);
- CID P/R/F1: (chemical id, disease id) pairs per abstract (the official relation measure).

Counts are kept per abstract so the bootstrap resamples whole abstracts.
"""

from __future__ import annotations

import numpy as np

from medcore.core.uncertainty import bootstrap_intervals

__all__ = ["RESAMPLES", "document_counts", "figures", "extraction_figures", "per_type_rows"]

RESAMPLES = 500
TYPES = ("Chemical", "Disease")


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def _ids(entities: list[dict], kind: str) -> set[str]:
    return {i for e in entities if e["type"] == kind and e.get("id") for i in e["id"].split("|")}


def document_counts(gold: dict, predicted: dict) -> dict[str, tuple[int, int, int]]:
    """(true positives, predicted, gold) per measure for one abstract.

    Args:
        gold / predicted: ``{"entities": [{"start", "end", "type", "id"}], "relations": [{"chemical", "disease"}]}``.
    """
    out = {}
    for kind in TYPES:
        g = {(e["start"], e["end"]) for e in gold["entities"] if e["type"] == kind}
        p = {(e["start"], e["end"]) for e in predicted["entities"] if e["type"] == kind}
        out[f"strict_{kind}"] = (len(g & p), len(p), len(g))
        # relaxed: precision counts predictions overlapping gold, recall gold overlapped by predictions
        out[f"relaxed_{kind}_p"] = (sum(_overlaps(x, list(g)) for x in p), len(p), len(g))
        out[f"relaxed_{kind}_r"] = (sum(_overlaps(x, list(p)) for x in g), len(p), len(g))
        gi, pi = _ids(gold["entities"], kind), _ids(predicted["entities"], kind)
        out[f"concept_{kind}"] = (len(gi & pi), len(pi), len(gi))
    g = {(r["chemical"], r["disease"]) for r in gold["relations"]}
    p = {(r["chemical"], r["disease"]) for r in predicted["relations"]}
    out["cid"] = (len(g & p), len(p), len(g))
    return out


def _prf(tp_p: float, n_p: float, tp_r: float, n_g: float) -> tuple[float, float, float]:
    precision = tp_p / n_p if n_p else float("nan")
    recall = tp_r / n_g if n_g else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def figures(counts: list[dict[str, tuple[int, int, int]]], rows: np.ndarray | None = None) -> dict[str, float]:
    """P/R/F1 of every measure over the abstracts ``rows`` (all by default)."""
    rows = np.arange(len(counts)) if rows is None else rows
    total: dict[str, np.ndarray] = {}
    for i in rows:
        for key, value in counts[i].items():
            total[key] = total.get(key, np.zeros(3)) + value
    out = {}
    for kind in TYPES:
        for measure in ("strict", "concept"):
            tp, n_p, n_g = total.get(f"{measure}_{kind}", np.zeros(3))
            p, r, f = _prf(tp, n_p, tp, n_g)
            out.update({f"{measure}_{kind.lower()}_{m}": v for m, v in zip(("precision", "recall", "f1"), (p, r, f))})
        tp_p, n_p, _ = total.get(f"relaxed_{kind}_p", np.zeros(3))
        tp_r, _, n_g = total.get(f"relaxed_{kind}_r", np.zeros(3))
        p, r, f = _prf(tp_p, n_p, tp_r, n_g)
        out.update({f"relaxed_{kind.lower()}_{m}": v for m, v in zip(("precision", "recall", "f1"), (p, r, f))})
    tp, n_p, n_g = total.get("cid", np.zeros(3))
    p, r, f = _prf(tp, n_p, tp, n_g)
    out.update({"cid_precision": p, "cid_recall": r, "cid_f1": f})
    return out


def extraction_figures(golds: list[dict], predictions: list[dict], resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Every measure with its ``_ci95`` (bootstrap over abstracts), plus the counts behind them.

    Returns:
        ``{measure: value, measure_ci95: [low, high], "n": abstracts, "n_chemical_mentions",
        "n_disease_mentions", "n_cid_relations"}``.
    """
    counts = [document_counts(g, p) for g, p in zip(golds, predictions)]
    point = figures(counts)
    intervals = bootstrap_intervals(lambda rows: figures(counts, rows), len(counts), resamples=resamples, seed=seed)
    out: dict = {}
    for key, value in point.items():
        out[key] = float(value)
        out[f"{key}_ci95"] = intervals[key]
    out["n"] = len(counts)
    out["n_chemical_mentions"] = int(sum(c["strict_Chemical"][2] for c in counts))
    out["n_disease_mentions"] = int(sum(c["strict_Disease"][2] for c in counts))
    out["n_cid_relations"] = int(sum(c["cid"][2] for c in counts))
    return out


def per_type_rows(figures: dict) -> list[dict]:
    """One row per measure (strict / relaxed / concept per type, CID) with P, R, F1 and intervals."""
    rows = []
    for measure, kinds in (
        ("strict", ("chemical", "disease")),
        ("relaxed", ("chemical", "disease")),
        ("concept", ("chemical", "disease")),
        ("cid", (None,)),
    ):
        for kind in kinds:
            prefix = f"{measure}_{kind}" if kind else measure
            row = {"measure": f"{measure} {kind}" if kind else "CID relations (end to end)"}
            for m in ("precision", "recall", "f1"):
                row[m] = figures[f"{prefix}_{m}"]
                row[f"{m}_ci95"] = figures[f"{prefix}_{m}_ci95"]
            rows.append(row)
    return rows
