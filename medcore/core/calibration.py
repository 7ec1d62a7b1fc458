"""Temperature scaling (Guo et al., 2017): one scalar fitted on validation logits.

Dividing logits by T > 0 keeps every argmax (so accuracy and the ranking behind AUC stay
the same) and makes the probabilities honest: T > 1 softens an over-confident model.
"""

from __future__ import annotations

import numpy as np

from medcore.core.metrics import softmax

__all__ = ["fit_temperature", "apply_temperature"]


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
