"""Collaborative-filtering scores over a patients x items matrix.

``RecommenderScorer`` folds a new patient's history vector into each component (popularity,
age-band popularity, item-kNN, user-kNN, sequential item-kNN, EASE) without retraining.
Pure NumPy: ``medcore.care.model`` wraps
it into the shipped model with reasons.
"""

from __future__ import annotations

import math

import numpy as np

from medcore.care.data import SERVICE_KINDS
from medcore.core.errors import InvalidInputError

__all__ = ["COMPONENTS", "RecommenderScorer", "normalise_scores"]

COMPONENTS = ("popularity", "age-popularity", "item-knn", "user-knn", "sequential-knn", "ease")


def normalise_scores(scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Scores rescaled to [0, 1] over the candidate items (0 elsewhere and when all are equal)."""
    out = np.zeros_like(scores, dtype=np.float64)
    if candidates.any():
        values = scores[candidates]
        low, high = float(values.min()), float(values.max())
        if high > low:
            out[candidates] = (values - low) / (high - low)
    return out


class RecommenderScorer:
    """The recommender maths over one training cohort (arrays as stored in ``model.npz``).

    Args:
        items: I item ids (conditions included), in the arrays' column order.
        arrays: ``first_age`` float (P, I), age at each patient's first occurrence of each item
            (NaN = never); ``end_age`` float (P,); ``sex`` int8 (P,) 0 = F, 1 = M, -1 = unknown;
            optional ``sequential_counts`` (I, I) (patients who had column j within the horizon
            after row i), ``ease`` float (I, I) and ``item_cosine`` float (I, I).
        settings: ``age_horizon_years``, ``user_k``, ``similar_patients``, ``sex_min_patients``.
        excluded: item ids never offered as candidates (they still count in histories).
    """

    def __init__(self, items: list[str], arrays: dict[str, np.ndarray], settings: dict, excluded: tuple[str, ...] = ()):
        self.items = list(items)
        self.index = {item: j for j, item in enumerate(self.items)}
        self.settings = dict(settings)
        self.first_age = np.asarray(arrays["first_age"], dtype=np.float64)
        self.end_age = np.asarray(arrays["end_age"], dtype=np.float64)
        self.sex = np.asarray(arrays["sex"], dtype=np.int8)
        self.matrix = (~np.isnan(self.first_age)).astype(np.float64)  # (P, I) patients x items
        self.item_counts = self.matrix.sum(axis=0)
        self.row_norms = np.sqrt(self.matrix.sum(axis=1))
        # Recommendable: service items, less the excluded ones (encounter-bound drugs).
        blocked = set(excluded)
        self.service = np.array([item.split(":", 1)[0] in SERVICE_KINDS and item not in blocked for item in self.items])
        self.counts_by_sex = np.stack([self.matrix[self.sex == code].sum(axis=0) for code in (0, 1)])
        self.sequential_counts = arrays.get("sequential_counts")
        self.sequential = None
        if self.sequential_counts is not None:
            norm = np.sqrt(np.outer(self.item_counts, self.item_counts))
            self.sequential = np.divide(
                self.sequential_counts.astype(np.float64), norm, out=np.zeros(norm.shape), where=norm > 0
            )
        self.ease = arrays.get("ease")
        self.item_cosine = arrays.get("item_cosine")

    # -- candidates ----------------------------------------------------------------------------
    def candidates(self, history: np.ndarray, sex: str | None = None) -> np.ndarray:
        """bool (I,): service items seen in training, not in ``history`` (int indices), and,
        when ``sex`` is given, not an item that only the other sex ever had (seen in at least
        ``sex_min_patients`` patients, none of them of this sex)."""
        mask = self.service & (self.item_counts > 0)
        mask[history] = False
        if sex in ("F", "M"):
            same = self.counts_by_sex[0 if sex == "F" else 1]
            mask &= ~((self.item_counts >= self.settings.get("sex_min_patients", 3)) & (same == 0))
        return mask

    # -- components ----------------------------------------------------------------------------
    def similarities(self, history: np.ndarray) -> np.ndarray:
        """float (P,): cosine similarity of the history vector with each training patient's items."""
        if len(history) == 0:
            return np.zeros(len(self.matrix))
        overlap = self.matrix[:, history].sum(axis=1)
        return np.divide(
            overlap, self.row_norms * math.sqrt(len(history)), out=np.zeros(len(overlap)), where=self.row_norms > 0
        )

    def age_window(self, age: float | None, sex: str | None = None) -> tuple[np.ndarray, int]:
        """Per item, how many training patients observed at ``age`` first had it in the next
        ``age_horizon_years`` years, and how many patients were observed at that age.

        Without an age, every patient's items count (plain popularity). With ``sex``, patients
        of that sex only, when at least 5 are observed at that age.
        """
        if age is None:
            rows = np.ones(len(self.matrix), dtype=bool)
            if sex in ("F", "M") and (self.sex == (0 if sex == "F" else 1)).sum() >= 5:
                rows = self.sex == (0 if sex == "F" else 1)
            return self.matrix[rows].sum(axis=0), int(rows.sum())
        horizon = float(self.settings.get("age_horizon_years", 5.0))
        observed = self.end_age >= age
        if not observed.any():  # older than every training patient: use the oldest ones
            observed = self.end_age >= self.end_age.max() - horizon
            age = float(min(age, self.end_age.max() - horizon))
        if sex in ("F", "M"):
            same = observed & (self.sex == (0 if sex == "F" else 1))
            observed = same if same.sum() >= 5 else observed
        ages = self.first_age[observed]
        with np.errstate(invalid="ignore"):
            window = (ages >= age) & (ages < age + horizon)
        return window.sum(axis=0).astype(np.float64), int(observed.sum())

    def component(
        self, name: str, history: np.ndarray, age: float | None = None, similarities: np.ndarray | None = None
    ) -> np.ndarray:
        """Raw scores (I,) of one component for a history (int indices); higher = more likely next."""
        if name == "popularity":
            return self.item_counts.copy()
        if name == "age-popularity":
            return self.age_window(age)[0]
        if name == "user-knn":
            sims = self.similarities(history) if similarities is None else similarities
            neighbours = np.argsort(-sims, kind="stable")[: int(self.settings.get("user_k", 40))]
            return sims[neighbours] @ self.matrix[neighbours]
        matrix = {"sequential-knn": self.sequential, "ease": self.ease, "item-knn": self.item_cosine}.get(name)
        if name not in COMPONENTS:
            raise InvalidInputError(f"Unknown recommender component '{name}'; expected one of {list(COMPONENTS)}.")
        if matrix is None:
            raise InvalidInputError(f"This recommender was not fitted with the '{name}' component.")
        return np.asarray(matrix[history].sum(axis=0), dtype=np.float64)

    def blend(
        self, history: np.ndarray, weights: dict[str, float], age: float | None = None, sex: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Weighted mean of the min-max-normalised components over the candidates.

        Returns:
            ``(scores, candidates, parts)``: float (I,) in [0, 1] (-inf outside the candidates),
            the candidate mask, and each component's normalised scores.
        """
        candidates = self.candidates(history, sex)
        sims = self.similarities(history)
        parts = {
            name: normalise_scores(self.component(name, history, age, sims), candidates)
            for name, weight in weights.items()
            if weight > 0
        }
        total = sum(weights[name] for name in parts) or 1.0
        scores = sum(weights[name] * parts[name] for name in parts) / total
        scores = np.where(candidates, scores, -np.inf)
        return scores, candidates, parts

    def top(self, scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
        """Indices of the ``k`` best candidates (ties broken by item order)."""
        order = np.argsort(-np.where(candidates, scores, -np.inf), kind="stable")
        return order[: min(k, int(candidates.sum()))]
