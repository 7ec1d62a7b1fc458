"""Dosing figures: MAE and the share within 20 % of the actual dose with intervals, per subgroup, calibration."""

from __future__ import annotations

import numpy as np

from medcore.core.uncertainty import bootstrap_intervals

__all__ = ["dose_figures", "group_figures", "subgroup_figures", "calibration_table"]


def dose_figures(y: np.ndarray, p: np.ndarray, seed: int = 0, resamples: int = 1000) -> dict:
    """MAE (mg/week) and share within 20 % of the actual dose, with 95 % bootstrap intervals and n."""

    def stats(rows: np.ndarray) -> dict[str, float]:
        err = np.abs(p[rows] - y[rows])
        return {"mae": float(err.mean()), "within_20pct": float((err <= 0.2 * y[rows]).mean())}

    point = stats(np.arange(len(y)))
    ci = bootstrap_intervals(stats, len(y), resamples=resamples, seed=seed)
    return {"n": int(len(y)), **{k: v for key in point for k, v in ((key, point[key]), (f"{key}_ci95", ci[key]))}}


def group_figures(y, shipped, base, rows, seed) -> dict:
    """The model's and the IWPC pharmacogenetic algorithm's figures on ``rows`` (none under 5 patients)."""
    rows = np.asarray(rows, dtype=bool)
    if rows.sum() < 5:
        return {"n": int(rows.sum()), "note": "too few patients for figures"}
    out = {"n": int(rows.sum())}
    model = dose_figures(y[rows], shipped[rows], seed, resamples=500)
    pg = dose_figures(y[rows], base["IWPC pharmacogenetic"][rows], seed, resamples=500)
    for key in ("mae", "within_20pct"):
        out[key], out[f"{key}_ci95"] = model[key], model[f"{key}_ci95"]
        out[f"iwpc_pg_{key}"], out[f"iwpc_pg_{key}_ci95"] = pg[key], pg[f"{key}_ci95"]
    return out


def subgroup_figures(y: np.ndarray, predicted: np.ndarray, base: dict, races: np.ndarray, seed: int = 0) -> dict:
    """``group_figures`` per dose band (<= 21, 21-49, >= 49 mg/week) and per race group."""
    bands = {
        "<= 21 mg/week": y <= 21,
        "21-49 mg/week": (y > 21) & (y < 49),
        ">= 49 mg/week": y >= 49,
    }
    return {
        "dose band": {band: group_figures(y, predicted, base, rows, seed) for band, rows in bands.items()},
        "race": {race: group_figures(y, predicted, base, races == race, seed) for race in sorted(set(races.tolist()))},
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted and actual dose (with the actual interquartile range) per bin of prediction."""
    order = np.argsort(p)
    rows = []
    for part in np.array_split(order, bins):
        rows.append(
            {
                "predicted": float(p[part].mean()),
                "actual": float(y[part].mean()),
                "actual_low": float(np.percentile(y[part], 25)),
                "actual_high": float(np.percentile(y[part], 75)),
                "n": int(len(part)),
            }
        )
    return rows
