"""Exact Shapley values over a few features (or groups of features), for explanations a reader can add up.

``coalitions(d)`` lists every subset of d players as boolean rows (row i is the binary number i,
first player highest); ``exact_shapley(values, d)`` turns the model's value on each coalition
(patient's value where True, the reference's elsewhere) into each player's Shapley value. The
values add up to value(all) - value(none). Exact, so only for d up to about 14.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["coalitions", "exact_shapley"]


def coalitions(d: int) -> np.ndarray:
    """(2**d, d) boolean rows: every subset of d players."""
    return np.array(list(itertools.product([0, 1], repeat=d)), dtype=bool)


def exact_shapley(values: np.ndarray, d: int) -> np.ndarray:
    """Shapley value of each player from ``values`` (2**d,) on the rows of ``coalitions(d)``."""
    values = np.asarray(values, dtype=float)
    size = coalitions(d).sum(axis=1)
    weight = np.array([math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) for k in range(d)])
    index = np.arange(2**d)
    phi = np.zeros(d)
    for j in range(d):
        bit = 1 << (d - 1 - j)
        without = index[(index & bit) == 0]
        phi[j] = float((weight[size[without]] * (values[without | bit] - values[without])).sum())
    return phi
