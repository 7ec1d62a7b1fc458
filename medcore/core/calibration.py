"""Temperature scaling (Guo et al., 2017): one scalar fitted on held-out logits, kept only where it helps.

Dividing logits by T > 0 keeps every argmax (so accuracy and the ranking behind AUC stay
the same) and makes the probabilities honest: T > 1 softens an over-confident model.
"""

from __future__ import annotations

import numpy as np

from medcore.core.metrics import softmax

__all__ = [
    "fit_temperature",
    "apply_temperature",
    "cross_fitted_temperature",
    "choose_calibration",
    "calibration_method",
]


def _nll(logits: np.ndarray, y_true: np.ndarray, temperature: float) -> float:
    proba = softmax(logits / temperature)
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, y_true: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of ``y_true``.

    Args:
        logits: float array (N, K) of validation logits.
        y_true: int array (N,) of class indices.

    Returns:
        T in [0.05, 20]; found by a log-spaced grid, then refined by golden-section search.
    """
    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true).astype(int)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 200))
    losses = [_nll(logits, y_true, t) for t in grid]
    best = int(np.argmin(losses))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a = high - ratio * (high - low)
        b = low + ratio * (high - low)
        if _nll(logits, y_true, a) < _nll(logits, y_true, b):
            high = b
        else:
            low = a
    return float((low + high) / 2)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated probabilities (N, K) = softmax(logits / T)."""
    return softmax(np.asarray(logits, dtype=np.float64) / float(temperature))


def _splits(y_true: np.ndarray, folds: int) -> int:
    """As many folds as the rarest class allows (every fold needs each class once; none for one class)."""
    counts = np.bincount(y_true)
    present = counts[counts > 0]
    return int(min(folds, present.min())) if len(present) > 1 else 0


def cross_fitted_temperature(logits: np.ndarray, y_true: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Probabilities (N, K) where each row is scaled by a temperature fitted on the other folds.

    Figures on these are honest: no row's temperature was fitted on that row (with too few rows of
    a class for two folds, the raw softmax is returned).
    """
    from sklearn.model_selection import StratifiedKFold

    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true).astype(int)
    splits = _splits(y_true, folds)
    if splits < 2:
        return apply_temperature(logits, 1.0)
    scaled = np.zeros_like(logits)
    for fit_rows, held_rows in StratifiedKFold(splits, shuffle=True, random_state=seed).split(logits, y_true):
        scaled[held_rows] = apply_temperature(logits[held_rows], fit_temperature(logits[fit_rows], y_true[fit_rows]))
    return scaled


def choose_calibration(logits: np.ndarray, y_true: np.ndarray, folds: int = 5, seed: int = 0) -> dict:
    """Keep temperature scaling only where it helps on rows it was not fitted on.

    The rows are split in ``folds`` (stratified, seeded); on each, a temperature fitted on the
    other folds is applied, so both candidates, "none" (T = 1) and "temperature", get
    out-of-fold probabilities. The one with the lower out-of-fold Brier score (a proper score)
    is kept; its ECE is reported beside it. A kept temperature is then refitted on every row.

    Args:
        logits: float array (N, K) of held-out logits (validation or out-of-fold).
        y_true: int array (N,) of class indices.
        folds: number of folds.
        seed: seed of the fold assignment.

    Returns:
        ``{"chosen": "none" | "temperature", "temperature": float (1.0 for none), "folds": int,
        "cross_validated": {"none": {"ece", "brier"}, "temperature": {"ece", "brier"}}}``.
    """
    from medcore.core.metrics import brier_score, expected_calibration_error

    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true).astype(int)
    splits = _splits(y_true, folds)
    scaled = cross_fitted_temperature(logits, y_true, folds, seed)
    raw = apply_temperature(logits, 1.0)
    figures = {
        name: {"ece": expected_calibration_error(y_true, proba), "brier": brier_score(y_true, proba)}
        for name, proba in (("none", raw), ("temperature", scaled))
    }
    chosen = "temperature" if figures["temperature"]["brier"] < figures["none"]["brier"] else "none"
    return {
        "chosen": chosen,
        "temperature": fit_temperature(logits, y_true) if chosen == "temperature" else 1.0,
        "folds": splits,
        "cross_validated": figures,
    }


def calibration_method(choice: dict, data: str) -> str:
    """A card's words for ``choose_calibration``'s outcome on ``data`` (e.g. "out-of-fold")."""
    figures = choice["cross_validated"]
    kept = "temperature scaling" if choice["chosen"] == "temperature" else "none (temperature scaling did not help)"
    return (
        f"{kept}: chosen by {choice['folds']}-fold cross-validated Brier score on the {data} predictions "
        f"(none: ECE {figures['none']['ece']:.3f}, Brier {figures['none']['brier']:.3f}; temperature: ECE "
        f"{figures['temperature']['ece']:.3f}, Brier {figures['temperature']['brier']:.3f})"
    )
