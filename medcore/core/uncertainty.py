"""95 % intervals for every figure: the percentile bootstrap over patients (or groups), and fold spreads.

A figure without its uncertainty misleads: an AUC of 0.93 on 78 images is anything from
about 0.87 to 0.98. ``bootstrap_intervals`` resamples rows (or whole groups, e.g. every row of
one patient or one text) with a seeded generator and returns the 2.5th and 97.5th
percentiles of each statistic; ``classification_intervals`` does this for the scalar metrics
of ``medcore.core.metrics.classification_summary`` and for the decision at an operating
threshold; ``with_intervals`` writes them into a card's metrics as ``<metric>_ci95``.

The calibration error is the exception: the plug-in ECE is biased upward (noise alone puts
confidence and accuracy apart in a bin), so its resamples sit above it and their percentiles can
exclude it. For it the interval is the basic bootstrap one around the bias-corrected estimate
(``DebiasedInterval``), which always holds that estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from medcore.core.metrics import auc_ovr, binary_operating_point, brier_score, expected_calibration_error

__all__ = [
    "wilson",
    "DEBIASED",
    "DebiasedInterval",
    "RESAMPLES",
    "bootstrap_intervals",
    "classification_scalars",
    "classification_intervals",
    "calibration_intervals",
    "fold_interval",
    "with_intervals",
]

RESAMPLES = 1000
DEBIASED = ("ece",)  # statistics whose plug-in value is biased: reported bias-corrected, basic interval


class DebiasedInterval(list):
    """``[low, high]`` of a bias-corrected statistic, carrying its ``point`` and the ``plugin`` value.

    point = max(0, 2 x plug-in - mean of the resamples); low/high = max(0, 2 x plug-in - the 97.5th /
    2.5th percentile of the resamples) (the basic bootstrap interval). ``with_intervals`` writes the
    point, not the plug-in value, beside it.
    """

    def __init__(self, bounds: list[float], point: float, plugin: float):
        super().__init__(bounds)
        self.point = point
        self.plugin = plugin


def bootstrap_intervals(
    statistics: Callable[[np.ndarray], dict[str, float]],
    n: int,
    groups: np.ndarray | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    strata: np.ndarray | None = None,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of several statistics of the same rows.

    Args:
        statistics: row indices (M,) -> ``{name: value}``; called once per resample.
        n: number of rows.
        groups: int array (n,) of group ids (patients, distinct texts, held-out patterns);
            whole groups are resampled so rows of one group never count as independent.
        strata: int array (n,); rows are resampled within each stratum, which keeps every
            stratum (e.g. every class of a one-pattern-per-class design) in every resample.
            Not combined with ``groups``.
        resamples: number of bootstrap resamples (seeded).
        seed: seed of the generator.
        level: coverage of the interval.

    Returns:
        ``{name: [low, high]}``; NaN bounds where a statistic was undefined in most resamples. For the
        names in ``DEBIASED`` a ``DebiasedInterval`` (basic interval around the bias-corrected value).

    Raises:
        ValueError: no rows.
    """
    if n <= 0:
        raise ValueError("bootstrap_intervals needs at least one row")
    rng = np.random.default_rng(seed)
    if groups is not None and strata is not None:
        raise ValueError("bootstrap_intervals resamples groups or strata, not both")
    if groups is None:
        members = [np.array([i]) for i in range(n)]
    else:
        members = _rows_of(groups)
    layers = _rows_of(strata) if strata is not None else None
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        if layers is not None:
            rows = np.concatenate([layer[rng.integers(0, len(layer), len(layer))] for layer in layers])
        else:
            chosen = rng.integers(0, len(members), len(members))
            rows = np.concatenate([members[g] for g in chosen])
        for name, value in statistics(rows).items():
            draws.setdefault(name, []).append(float(value))
    tail = (1.0 - level) / 2 * 100
    whole = statistics(np.arange(n)) if any(name in draws for name in DEBIASED) else {}
    intervals = {}
    for name, values in draws.items():
        finite = np.asarray(values)[np.isfinite(values)]
        if len(finite) < resamples / 2:
            intervals[name] = [float("nan"), float("nan")]
            continue
        low, high = float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))
        if name in DEBIASED and np.isfinite(whole.get(name, np.nan)):
            plugin = float(whole[name])
            # Bias = mean of the resamples - plug-in; subtracting it, and reflecting the percentiles
            # about the plug-in value, gives an estimate that the interval always holds.
            point = max(0.0, 2 * plugin - float(finite.mean()))
            intervals[name] = DebiasedInterval(
                [max(0.0, 2 * plugin - high), max(0.0, 2 * plugin - low)], min(point, 1.0), plugin
            )
        else:
            intervals[name] = [low, high]
    return intervals


def _rows_of(labels: np.ndarray) -> list[np.ndarray]:
    """Row indices of each distinct value of ``labels``."""
    _, inverse = np.unique(np.asarray(labels), return_inverse=True)
    return [np.flatnonzero(inverse == value) for value in range(inverse.max() + 1)]


def classification_scalars(
    y_true: np.ndarray, proba: np.ndarray, positive: int | None = None, threshold: float | None = None
) -> dict[str, float]:
    """The scalar figures of one set of predictions (no curves): cheap enough to bootstrap.

    Returns:
        ``accuracy`` (argmax), ``auc``, ``macro_f1``, ``ece``, ``brier``; with ``positive`` and
        ``threshold``, the decision a page shows too: ``decision_accuracy``, ``sensitivity``,
        ``specificity``, ``ppv``, ``npv``.
    """
    from sklearn.metrics import f1_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = proba.argmax(axis=1)
    present = np.union1d(y_true, y_pred)
    figures = {
        "accuracy": float(np.mean(y_pred == y_true)),
        "auc": auc_ovr(y_true, proba),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "ece": expected_calibration_error(y_true, proba),
        "brier": brier_score(y_true, proba),
    }
    if positive is not None and threshold is not None:
        point = binary_operating_point(y_true == positive, proba[:, positive], threshold)
        figures["decision_accuracy"] = point["accuracy"]
        figures.update({k: point[k] for k in ("sensitivity", "specificity", "ppv", "npv")})
    return figures


def classification_intervals(
    y_true: np.ndarray,
    proba: np.ndarray,
    positive: int | None = None,
    threshold: float | None = None,
    groups: np.ndarray | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95 % bootstrap intervals of ``classification_scalars`` (resampling rows or ``groups``)."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    return bootstrap_intervals(
        lambda rows: classification_scalars(y_true[rows], proba[rows], positive, threshold),
        len(y_true),
        groups,
        resamples,
        seed,
    )


def calibration_intervals(
    y_true: np.ndarray, proba: np.ndarray, groups: np.ndarray | None = None, seed: int = 0
) -> dict[str, list[float]]:
    """95 % bootstrap intervals of ECE and Brier only (cheap: for a card's before/after calibration)."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    return bootstrap_intervals(
        lambda rows: {
            "ece": expected_calibration_error(y_true[rows], proba[rows]),
            "brier": brier_score(y_true[rows], proba[rows]),
        },
        len(y_true),
        groups,
        seed=seed,
    )


def fold_interval(values: list[float], level: float = 0.95) -> list[float]:
    """An interval from per-fold (or per-repeat) estimates: mean +- t x standard error."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return [float("nan"), float("nan")]
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return [float(values.mean() - half), float(values.mean() + half)]


def with_intervals(figures: dict, intervals: dict[str, list[float]]) -> dict:
    """``figures`` with ``<name>_ci95`` after every scalar that has an interval (others unchanged).

    A ``DebiasedInterval`` replaces the figure by its bias-corrected point and adds ``<name>_method``
    (with the plug-in value); the figure must be the plug-in value of the same rows.
    """
    merged: dict = {}
    for key, value in figures.items():
        merged[key] = value
        interval = intervals.get(key)
        if isinstance(interval, DebiasedInterval):
            if not math.isclose(float(value), interval.plugin, rel_tol=1e-6, abs_tol=1e-9):
                raise ValueError(
                    f"'{key}' is {value} but its interval was resampled from rows whose value is "
                    f"{interval.plugin}: the figure and its interval must come from the same rows"
                )
            merged[key] = round(interval.point, 6)
            merged[f"{key}_method"] = (
                f"bootstrap bias-corrected (plug-in {interval.plugin:.4f} minus the resamples' mean excess); "
                "95 % basic bootstrap interval"
            )
        if key in intervals:
            # JSON has no NaN: an interval that could not be estimated is null.
            merged[f"{key}_ci95"] = [None if np.isnan(b) else round(b, 6) for b in intervals[key]]
    missing = sorted(set(intervals) - set(figures))
    if missing:
        raise KeyError(f"intervals for {missing} but no figures of those names")
    return merged


def wilson(successes: int, n: int, z: float = 1.959964) -> list[float | None]:
    """The 95 % Wilson score interval of a proportion (``[None, None]`` when n is 0)."""
    if n == 0:
        return [None, None]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)]
