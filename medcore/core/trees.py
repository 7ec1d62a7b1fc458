"""Decision trees without pickle: scikit-learn trees exported to plain node arrays and walked in NumPy.

Bundles never hold pickles, so tree ensembles (boosted survival trees, random forests) are stored
as the arrays of their nodes (``np.savez``): ``left``/``right`` child (-1 at a leaf), ``feature``,
``threshold`` and one leaf ``value`` per node, all trees concatenated, with ``tree_start`` (first
node of each tree) and ``depth`` (the deepest tree). ``leaf_values`` walks every tree for every
row at once and returns each tree's leaf value, exactly as scikit-learn's ``predict`` would
(float32 features, ``x <= threshold`` goes left).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["export_trees", "leaf_values"]


def export_trees(trees: Iterable, value: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Node arrays of fitted scikit-learn trees (each with ``tree_``).

    Args:
        trees: fitted ``DecisionTree*`` estimators, in order.
        value: maps a tree's ``tree_.value`` (nodes, outputs, classes) to one number per node;
            default: the first output's first value (regression trees).

    Returns:
        ``left``, ``right``, ``feature``, ``threshold``, ``value``, ``tree_start``, ``depth``.
    """
    value = value or (lambda v: v[:, 0, 0])
    parts: dict[str, list] = {"left": [], "right": [], "feature": [], "threshold": [], "value": []}
    starts, start, depth = [], 0, 0
    for estimator in trees:
        tree = estimator.tree_
        parts["left"].append(np.where(tree.children_left >= 0, tree.children_left + start, -1).astype(np.int32))
        parts["right"].append(np.where(tree.children_right >= 0, tree.children_right + start, -1).astype(np.int32))
        parts["feature"].append(np.maximum(tree.feature, 0).astype(np.int32))
        parts["threshold"].append(tree.threshold)
        parts["value"].append(np.asarray(value(tree.value), dtype=np.float64))
        starts.append(start)
        start += tree.node_count
        depth = max(depth, tree.max_depth)
    arrays = {key: np.concatenate(values) for key, values in parts.items()}
    arrays.update(tree_start=np.array(starts, dtype=np.int64), depth=np.array(depth))
    return arrays


def leaf_values(arrays: dict[str, np.ndarray], x: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Each tree's leaf value for each row: (N, trees), in chunks of rows to bound memory."""
    x = np.asarray(x, dtype=np.float32)
    starts = arrays["tree_start"]
    out = np.empty((len(x), len(starts)), dtype=np.float64)
    for first in range(0, len(x), chunk):
        rows_x = x[first : first + chunk]
        node = np.broadcast_to(starts[None, :], (len(rows_x), len(starts))).copy()
        rows = np.arange(len(rows_x))[:, None]
        for _ in range(int(arrays["depth"])):
            left = arrays["left"][node]
            go_left = rows_x[rows, arrays["feature"][node]] <= arrays["threshold"][node]
            node = np.where(left >= 0, np.where(go_left, left, arrays["right"][node]), node)
        out[first : first + chunk] = arrays["value"][node]
    return out
