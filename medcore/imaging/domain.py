"""Does an image look like the images a model was trained on? A distance on the model's own features.

Each image model's members end in global average pooling; those pooled features (N, F) of the
training images are summarised by their mean and a shrunk covariance (Ledoit-Wolf), and a new
image's squared Mahalanobis distance to them is compared with a threshold set on images the
model did not fit (a high percentile of their distances). Farther than the threshold: out of
domain, and the model gives no answer. The parameters travel in the bundle as ``domain.npz``
(plain arrays, ``allow_pickle=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FeatureDistance", "domain_figures"]


@dataclass(frozen=True)
class FeatureDistance:
    """Squared Mahalanobis distance to the training features, and the threshold beyond which an image is refused."""

    mean: np.ndarray  # (F,)
    precision: np.ndarray  # (F, F), inverse of the shrunk covariance
    threshold: float

    @classmethod
    def fit(cls, features: np.ndarray, threshold: float = np.inf) -> FeatureDistance:
        """Mean and Ledoit-Wolf precision of training features (N, F)."""
        from sklearn.covariance import LedoitWolf

        features = np.asarray(features, dtype=np.float64)
        estimator = LedoitWolf().fit(features)
        return cls(estimator.location_, estimator.precision_, float(threshold))

    def with_threshold(self, threshold: float) -> FeatureDistance:
        return FeatureDistance(self.mean, self.precision, float(threshold))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances (N,) of features (N, F)."""
        centred = np.asarray(features, dtype=np.float64) - self.mean
        return np.einsum("nf,fg,ng->n", centred, self.precision, centred)

    def outside(self, features: np.ndarray) -> np.ndarray:
        """bool (N,): farther than the threshold."""
        return self.distance(features) > self.threshold

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, precision=self.precision, threshold=np.array(self.threshold))

    @classmethod
    def load(cls, path: Path) -> FeatureDistance:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(arrays["mean"], arrays["precision"], float(arrays["threshold"]))


def domain_figures(genuine_outside: np.ndarray, negatives_outside: dict[str, np.ndarray], seed: int = 0) -> dict:
    """How often a check refuses genuine images and catches each family of wrong input, with 95 % intervals.

    Args:
        genuine_outside: bool (N,), one per genuine image the check did not fit on.
        negatives_outside: family -> bool (M,), one per wrong input.

    Returns:
        ``{"genuine_rejected", "genuine_rejected_ci95", "n_genuine", "negatives_caught",
        "negatives_caught_ci95", "n_negatives", "families": {family: {"caught", "caught_ci95", "n"}}}``.
    """
    from medcore.core.uncertainty import bootstrap_intervals

    def rate(flags: np.ndarray) -> tuple[float | None, list]:
        flags = np.asarray(flags, dtype=float)
        if not len(flags):
            return None, [None, None]
        interval = bootstrap_intervals(lambda rows: {"rate": flags[rows].mean()}, len(flags), seed=seed)["rate"]
        return float(flags.mean()), [round(b, 6) for b in interval]

    genuine, genuine_ci = rate(genuine_outside)
    everything = (
        np.concatenate([np.asarray(v, dtype=bool) for v in negatives_outside.values()])
        if negatives_outside
        else np.array([], bool)
    )
    caught, caught_ci = rate(everything)
    families = {}
    for family, flags in negatives_outside.items():
        value, interval = rate(flags)
        families[family] = {"caught": value, "caught_ci95": interval, "n": int(len(flags))}
    return {
        "genuine_rejected": genuine,
        "genuine_rejected_ci95": genuine_ci,
        "n_genuine": int(len(genuine_outside)),
        "negatives_caught": caught,
        "negatives_caught_ci95": caught_ci,
        "n_negatives": int(len(everything)),
        "families": families,
    }
