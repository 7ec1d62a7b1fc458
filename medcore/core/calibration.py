"""Calibration fitted on held-out logits, kept only where it helps on rows it was not fitted on.

- Temperature scaling (Guo et al., 2017): dividing logits by T > 0 keeps every argmax (so accuracy
  and the ranking behind AUC stay the same); T > 1 softens an over-confident model.
- Class-wise scaling (opt-in): ``softmax(scale * log_softmax(logits) + bias)`` with a positive
  scale and a bias per class, the diagonal Dirichlet calibration of Kull et al. (NeurIPS 2019);
  with two classes it is beta calibration (Kull et al., AISTATS 2017). It can undo the prior
  shift of class-balanced training and a different over-confidence per class; with two classes
  it keeps the ranking (AUC, thresholds), with more it can change an argmax.
"""

from __future__ import annotations

import numpy as np

from medcore.core.metrics import softmax

__all__ = [
    "fit_temperature",
    "apply_temperature",
    "fit_class_wise",
    "apply_class_wise",
    "calibrate",
    "cross_fitted_calibration",
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


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def fit_class_wise(logits: np.ndarray, y_true: np.ndarray, penalty: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Class-wise scale (K,) > 0 and bias (K,) minimising the log-loss of ``apply_class_wise``.

    The first class's bias is fixed at 0 (softmax ignores a common shift); a small L2 penalty
    pulls log-scales and biases towards the identity so a class with few rows cannot run away.
    Deterministic: L-BFGS from the identity.
    """
    from scipy.optimize import minimize

    log_p = _log_softmax(logits)
    y_true = np.asarray(y_true).astype(int)
    n, k = log_p.shape
    onehot = np.eye(k)[y_true]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        scale, bias = np.exp(theta[:k]), np.concatenate([[0.0], theta[k:]])
        log_q = _log_softmax(log_p * scale + bias)
        value = -np.mean(np.sum(onehot * log_q, axis=1)) + penalty * np.sum(theta**2)
        residual = (np.exp(log_q) - onehot) / n  # d loss / d z
        grad = np.concatenate([np.sum(residual * log_p, axis=0) * scale, np.sum(residual, axis=0)[1:]])
        return float(value), grad + 2 * penalty * theta

    result = minimize(loss, np.zeros(2 * k - 1), jac=True, method="L-BFGS-B")
    return np.exp(result.x[:k]), np.concatenate([[0.0], result.x[k:]])


def apply_class_wise(logits: np.ndarray, scale, bias) -> np.ndarray:
    """Calibrated probabilities (N, K) = softmax(scale * log_softmax(logits) + bias)."""
    return softmax(_log_softmax(logits) * np.asarray(scale, dtype=np.float64) + np.asarray(bias, dtype=np.float64))


def calibrate(logits: np.ndarray, calibration: dict) -> np.ndarray:
    """Probabilities (N, K) of ``logits`` under a card's calibration: ``{"temperature"}`` and, when the
    class-wise method was kept, ``{"scale", "bias"}`` (then the temperature is 1)."""
    if calibration.get("scale") is not None:
        return apply_class_wise(logits, calibration["scale"], calibration["bias"])
    return apply_temperature(logits, float(calibration.get("temperature", 1.0)))


def _fit(method: str, logits: np.ndarray, y_true: np.ndarray) -> dict:
    """``calibrate``'s parameters of ``method`` fitted on these rows."""
    if method == "class-wise":
        scale, bias = fit_class_wise(logits, y_true)
        return {"temperature": 1.0, "scale": scale.tolist(), "bias": bias.tolist()}
    return {"temperature": fit_temperature(logits, y_true) if method == "temperature" else 1.0}


def _splits(y_true: np.ndarray, folds: int) -> int:
    """As many folds as the rarest class allows (every fold needs each class once; none for one class)."""
    counts = np.bincount(y_true)
    present = counts[counts > 0]
    return int(min(folds, present.min())) if len(present) > 1 else 0


def cross_fitted_calibration(
    logits: np.ndarray, y_true: np.ndarray, method: str = "temperature", folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Probabilities (N, K) where each row is calibrated by ``method`` fitted on the other folds.

    Figures on these are honest: no row's calibration was fitted on that row (with too few rows of
    a class for two folds, the raw softmax is returned). ``method``: "none", "temperature" or
    "class-wise".
    """
    from sklearn.model_selection import StratifiedKFold

    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true).astype(int)
    splits = _splits(y_true, folds)
    if splits < 2 or method == "none":
        return apply_temperature(logits, 1.0)
    scaled = np.zeros_like(logits)
    for fit_rows, held_rows in StratifiedKFold(splits, shuffle=True, random_state=seed).split(logits, y_true):
        scaled[held_rows] = calibrate(logits[held_rows], _fit(method, logits[fit_rows], y_true[fit_rows]))
    return scaled


def choose_calibration(
    logits: np.ndarray, y_true: np.ndarray, folds: int = 5, seed: int = 0, class_wise: bool = False
) -> dict:
    """Keep a fitted calibration only where it helps on rows it was not fitted on.

    The rows are split in ``folds`` (stratified, seeded); on each, a calibration fitted on the
    other folds is applied, so every candidate gets out-of-fold probabilities. Of "none" (T = 1)
    and "temperature", the one with the lower out-of-fold Brier score (a proper score) is kept.
    With ``class_wise``, class-wise scaling replaces it only when it lowers the out-of-fold Brier
    score by more than one standard error of the paired per-row difference: its 2K - 1 parameters
    must earn their place (on already calibrated scores the plain lowest Brier picks it about one
    time in three). The ECE of each candidate is reported beside it. The kept calibration is then
    refitted on every row.

    Args:
        logits: float array (N, K) of held-out logits (validation or out-of-fold).
        y_true: int array (N,) of class indices.
        folds: number of folds.
        seed: seed of the fold assignment.
        class_wise: also try class-wise scaling (the model must apply ``scale`` and ``bias``).

    Returns:
        ``{"chosen": "none" | "temperature" | "class-wise", "temperature": float (1.0 unless
        temperature), "scale": list | None, "bias": list | None, "folds": int,
        "cross_validated": {candidate: {"ece", "brier"}}}`` (with ``class_wise`` also
        ``"class_wise_gain": {"brier", "se"}``, its Brier gain over the other choice);
        ``calibrate(logits, choice)`` applies it.
    """
    from medcore.core.metrics import expected_calibration_error

    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true).astype(int)
    splits = _splits(y_true, folds)
    onehot = np.eye(logits.shape[1])[y_true]
    row_brier, figures = {}, {}
    for method in ("none", "temperature", "class-wise") if class_wise else ("none", "temperature"):
        proba = cross_fitted_calibration(logits, y_true, method, folds, seed)
        row_brier[method] = np.sum((proba - onehot) ** 2, axis=1)
        figures[method] = {"ece": expected_calibration_error(y_true, proba), "brier": float(row_brier[method].mean())}
    chosen = "temperature" if figures["temperature"]["brier"] < figures["none"]["brier"] else "none"
    extra = {}
    if class_wise:
        gain = row_brier[chosen] - row_brier["class-wise"]
        se = float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else float("inf")
        extra = {"class_wise_gain": {"brier": float(gain.mean()), "se": se}}
        if gain.mean() > se:
            chosen = "class-wise"
    return {
        "chosen": chosen,
        "scale": None,
        "bias": None,
        **_fit(chosen, logits, y_true),
        "folds": splits,
        "cross_validated": figures,
        **extra,
    }


_KEPT_WORDS = {
    "temperature": "temperature scaling",
    "class-wise": "class-wise scaling of the log-probabilities (diagonal Dirichlet; beta calibration for two classes)",
}


def calibration_method(choice: dict, data: str) -> str:
    """A card's words for ``choose_calibration``'s outcome on ``data`` (e.g. "out-of-fold")."""
    figures = choice["cross_validated"]
    compared = "; ".join(
        f"{method}: ECE {figure['ece']:.3f}, Brier {figure['brier']:.3f}" for method, figure in figures.items()
    )
    tried = "class-wise" in figures
    kept = _KEPT_WORDS.get(
        choice["chosen"], "none (no fitted calibration helped)" if tried else "none (temperature scaling did not help)"
    )
    rule = " (class-wise only if it gains more than one standard error)" if tried else ""
    if "class_wise_gain" in choice:
        gain = choice["class_wise_gain"]
        compared += f"; class-wise's Brier gain {gain['brier']:.4f}, standard error {gain['se']:.4f}"
    return (
        f"{kept}: chosen by {choice['folds']}-fold cross-validated Brier score{rule} on the "
        f"{data} predictions ({compared})"
    )
