"""Survival metrics: Harrell's C, time-dependent AUC, integrated Brier score, calibration at horizons.

Implementations (stated in every card):
- Harrell's C: scikit-survival ``concordance_index_censored`` (pairs ordered by observed time
  where the earlier one had the event; ties in predicted risk count 1/2).
- Time-dependent AUC: cumulative/dynamic AUC with inverse-probability-of-censoring weights
  (Uno et al.; scikit-survival ``cumulative_dynamic_auc``), censoring estimated on the same data.
- Integrated Brier score: IPCW Brier score (Graf et al. 1999) averaged over a grid between the
  10th and 90th percentiles of the observed times, censoring from the same data's Kaplan-Meier.
- Calibration at a horizon: patients in deciles of predicted survival; mean predicted survival
  against the Kaplan-Meier estimate of each decile, with its log-log 95 % interval (a table).
  The scalar ``calibration_gap@h`` is calibration-in-the-large: the mean predicted survival at
  ``h`` minus the Kaplan-Meier survival of the same patients (positive: the model is too
  optimistic). It is signed so that its bootstrap interval is not biased away from zero, as an
  absolute error's would be.
"""

from __future__ import annotations

import warnings

import numpy as np

from medcore.core.uncertainty import bootstrap_intervals

__all__ = [
    "GROUP_WORDS",
    "SURVIVAL_RESAMPLES",
    "harrell_c",
    "kaplan_meier",
    "km_at",
    "td_auc",
    "integrated_brier",
    "calibration_table",
    "survival_scalars",
    "survival_intervals",
    "survival_at",
    "horizon_label",
]

SURVIVAL_RESAMPLES = 200  # Harrell's C is O(N x events): 200 resamples keep SUPPORT to seconds


# Risk groups are thirds of the training cohort: said as such, never as a bare "low risk" (issue 28 item 9).
GROUP_WORDS = {
    "low": "lowest third of the cohort's risk",
    "intermediate": "middle third of the cohort's risk",
    "high": "highest third of the cohort's risk",
}


def horizon_label(horizon: float, unit: str) -> str:
    """'1y', '3y', '5y' for horizons of whole years in months or days, else the number and unit."""
    years = horizon / {"months": 12.0, "days": 365.0}.get(unit, np.nan)
    return f"{years:.0f}y" if np.isfinite(years) and abs(years - round(years)) < 1e-9 else f"{horizon:g}{unit[:1]}"


def harrell_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's concordance index (higher risk should mean earlier event); NaN with no comparable pair."""
    from sksurv.metrics import concordance_index_censored

    event = np.asarray(event, dtype=bool)
    if not event.any():
        return float("nan")
    try:
        return float(concordance_index_censored(event, np.asarray(time, float), np.asarray(risk, float))[0])
    except ValueError:  # no comparable pairs
        return float("nan")


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> dict[str, np.ndarray]:
    """Kaplan-Meier estimate with log-log 95 % bounds: ``{"time", "survival", "low", "high"}`` (starting at 0, 1)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    event = np.asarray(event, dtype=bool)
    if len(time) == 0:
        return {k: np.array([0.0] if k == "time" else [1.0]) for k in ("time", "survival", "low", "high")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times, survival, bounds = kaplan_meier_estimator(event, np.asarray(time, float), conf_type="log-log")
    low, high = np.nan_to_num(bounds[0], nan=0.0), np.nan_to_num(bounds[1], nan=1.0)
    return {
        "time": np.concatenate([[0.0], times]),
        "survival": np.concatenate([[1.0], survival]),
        "low": np.concatenate([[1.0], low]),
        "high": np.concatenate([[1.0], high]),
    }


def km_at(curve: dict[str, np.ndarray], horizon: float) -> tuple[float, float, float]:
    """A Kaplan-Meier curve's (survival, low, high) at ``horizon`` (step function, right-continuous)."""
    index = int(np.searchsorted(curve["time"], horizon, side="right")) - 1
    return float(curve["survival"][index]), float(curve["low"][index]), float(curve["high"][index])


def survival_at(grid: np.ndarray, survival: np.ndarray, horizon: float) -> np.ndarray:
    """Predicted survival (N,) at ``horizon`` from curves (N, T) on ``grid`` (step: last grid time <= horizon)."""
    index = max(int(np.searchsorted(grid, horizon, side="right")) - 1, 0)
    return survival[:, index]


def td_auc(time: np.ndarray, event: np.ndarray, risk: np.ndarray, horizons) -> dict[float, float]:
    """Cumulative/dynamic AUC at each horizon inside the follow-up (NaN where it cannot be estimated)."""
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.util import Surv

    y = Surv.from_arrays(np.asarray(event, bool), np.asarray(time, float))
    out = {}
    for horizon in horizons:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[horizon] = float(cumulative_dynamic_auc(y, y, np.asarray(risk, float), [horizon])[0][0])
        except ValueError:
            out[horizon] = float("nan")
    return out


def _censoring_survival(time: np.ndarray, event: np.ndarray, at: np.ndarray, left: bool) -> np.ndarray:
    """Kaplan-Meier of the censoring distribution G at ``at`` (G(t-) when ``left``), floored at 0.05."""
    curve = kaplan_meier(time, ~np.asarray(event, bool))
    side = "left" if left else "right"
    index = np.searchsorted(curve["time"], at, side=side) - 1
    return np.maximum(curve["survival"][np.maximum(index, 0)], 0.05)


def brier_grid(time: np.ndarray, quantiles=(0.1, 0.9), points: int = 50) -> np.ndarray:
    """The times the integrated Brier score averages over: ``points`` between two quantiles of ``time``."""
    low, high = np.quantile(time, quantiles)
    return np.linspace(low, high, points)


def integrated_brier(
    time: np.ndarray, event: np.ndarray, grid: np.ndarray, survival: np.ndarray, times: np.ndarray | None = None
) -> float:
    """IPCW integrated Brier score of curves ``survival`` (N, T) on ``grid`` over ``times``."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    times = brier_grid(time) if times is None else times
    if times[-1] <= times[0]:
        return float("nan")
    index = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, len(grid) - 1)
    predicted = survival[:, index]  # (N, K)
    g_at_event = _censoring_survival(time, event, time, left=True)[:, None]
    g_at_t = _censoring_survival(time, event, times, left=False)[None, :]
    died = (time[:, None] <= times[None, :]) & event[:, None]
    alive = time[:, None] > times[None, :]
    scores = (predicted**2 * died / g_at_event + (1 - predicted) ** 2 * alive / g_at_t).mean(axis=0)
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


def calibration_table(
    time: np.ndarray, event: np.ndarray, predicted: np.ndarray, horizon: float, groups: int = 10
) -> list[dict]:
    """Deciles of predicted survival at ``horizon``: n, mean predicted, Kaplan-Meier observed with 95 % bounds."""
    order = np.argsort(predicted, kind="stable")
    rows = []
    for part in np.array_split(order, min(groups, len(order))):
        if len(part) == 0:
            continue
        observed, low, high = km_at(kaplan_meier(time[part], event[part]), horizon)
        rows.append(
            {
                "n": int(len(part)),
                "predicted": float(predicted[part].mean()),
                "observed": observed,
                "observed_low": low,
                "observed_high": high,
            }
        )
    return rows


def calibration_gap(time, event, predicted, horizon) -> float:
    """Mean predicted survival at ``horizon`` minus the Kaplan-Meier survival there (NaN past follow-up)."""
    if np.asarray(time).max() < horizon:
        return float("nan")
    return float(np.mean(predicted) - km_at(kaplan_meier(time, event), horizon)[0])


def survival_scalars(time, event, risk, grid, survival, horizons, unit: str, with_auc: bool = True) -> dict[str, float]:
    """The scalar figures of one set of predictions: C, AUC and calibration gap at each horizon, IBS."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    figures = {"c_index": harrell_c(time, event, risk)}
    if with_auc:
        for horizon, value in td_auc(time, event, risk, horizons).items():
            figures[f"auc@{horizon_label(horizon, unit)}"] = value
    figures["integrated_brier"] = integrated_brier(time, event, grid, survival)
    for horizon in horizons:
        figures[f"calibration_gap@{horizon_label(horizon, unit)}"] = calibration_gap(
            time, event, survival_at(grid, survival, horizon), horizon
        )
    return figures


def survival_intervals(
    time, event, risk, grid, survival, horizons, unit: str, resamples: int = SURVIVAL_RESAMPLES, seed: int = 0
) -> dict[str, list[float]]:
    """95 % bootstrap intervals (over patients, stratified by event) of ``survival_scalars``."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    risk = np.asarray(risk, float)
    return bootstrap_intervals(
        lambda rows: survival_scalars(time[rows], event[rows], risk[rows], grid, survival[rows], horizons, unit),
        len(time),
        resamples=resamples,
        seed=seed,
        strata=event.astype(int),
    )
