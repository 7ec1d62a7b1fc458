"""Classification metrics as pure NumPy functions, computed apart from their display.

Every function takes integer labels ``y_true`` (N,) in [0, K) and probabilities
``proba`` (N, K) whose rows sum to 1, and returns plain Python numbers or lists, so results
can go straight into ``evaluation.json`` and ``medcore.core.plots``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "softmax",
    "roc_curve_points",
    "pr_curve_points",
    "auc_ovr",
    "expected_calibration_error",
    "brier_score",
    "reliability_curve",
    "confusion",
    "per_class_report",
    "binary_operating_point",
    "decision_confusion",
    "youden_threshold",
    "sensitivity_threshold",
    "cross_fitted_thresholds",
    "classification_summary",
]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (N, K) -> probabilities (N, K), rows sum to 1."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def roc_curve_points(y_binary: np.ndarray, score: np.ndarray) -> tuple[list, list, list]:
    """ROC curve of one binary problem.

    Returns:
        ``(fpr, tpr, thresholds)`` as lists, starting at (0, 0) with threshold +inf.
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y_binary, score)
    thresholds = np.where(np.isinf(thresholds), 1.0, thresholds)
    return fpr.tolist(), tpr.tolist(), thresholds.tolist()


def pr_curve_points(y_binary: np.ndarray, score: np.ndarray) -> tuple[list, list]:
    """Precision-recall curve of one binary problem: ``(recall, precision)`` lists."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y_binary, score)
    return recall.tolist(), precision.tolist()


def auc_ovr(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Area under the ROC curve: the positive class's for K=2, macro one-vs-rest for K>2.

    This is how MedMNIST reports AUC. Classes absent from ``y_true`` are left out of the
    macro average; NaN when no class has both positives and negatives.
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    proba = np.asarray(proba)
    if proba.shape[1] == 2:
        return float(roc_auc_score(y_true, proba[:, 1])) if len(np.unique(y_true)) == 2 else float("nan")
    scores = [
        roc_auc_score(y_true == k, proba[:, k]) for k in range(proba.shape[1]) if 0 < (y_true == k).sum() < len(y_true)
    ]
    return float(np.mean(scores)) if scores else float("nan")


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Top-label expected calibration error with equal-width confidence bins, in [0, 1]."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def brier_score(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Multi-class Brier score: mean squared error against one-hot labels (0 is perfect)."""
    onehot = np.eye(proba.shape[1])[np.asarray(y_true)]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def reliability_curve(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> dict:
    """Top-label reliability diagram data: per non-empty bin, confidence vs accuracy and count."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    curve: dict[str, list] = {"confidence": [], "accuracy": [], "count": []}
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            curve["confidence"].append(float(confidence[in_bin].mean()))
            curve["accuracy"].append(float(correct[in_bin].mean()))
            curve["count"].append(int(in_bin.sum()))
    return curve


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Confusion matrix (K, K) as nested lists: rows are true classes, columns predicted."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix.tolist()


def per_class_report(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> list[dict]:
    """Precision, recall, F1, support and times predicted per class (0.0 where undefined)."""
    matrix = np.array(confusion(y_true, y_pred, len(labels)))
    rows = []
    for k, label in enumerate(labels):
        tp = matrix[k, k]
        predicted, actual = matrix[:, k].sum(), matrix[k, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "label": label,
                "precision": float(precision),
                "recall": float(recall),
                "f1": float(f1),
                "support": int(actual),
                "predicted": int(predicted),
            }
        )
    return rows


def binary_operating_point(y_true: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Sensitivity, specificity, PPV, NPV and accuracy when ``score >= threshold`` is positive."""
    y_true = np.asarray(y_true).astype(bool)
    predicted = np.asarray(score) >= threshold
    tp = int(np.sum(predicted & y_true))
    tn = int(np.sum(~predicted & ~y_true))
    fp = int(np.sum(predicted & ~y_true))
    fn = int(np.sum(~predicted & y_true))

    def ratio(a: int, b: int) -> float:
        return float(a / b) if b else float("nan")

    return {
        "threshold": float(threshold),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "accuracy": ratio(tp + tn, len(y_true)),
        "balanced_accuracy": (ratio(tp, tp + fn) + ratio(tn, tn + fp)) / 2,
    }


def decision_confusion(y_true: np.ndarray, proba: np.ndarray, positive: int, threshold: float) -> list[list[int]]:
    """Confusion matrix (2, 2) of the decision a page shows: ``positive`` when its probability >= threshold.

    Rows are true classes and columns decided classes, in label order, like ``confusion``.
    """
    proba = np.asarray(proba, dtype=np.float64)
    decided = np.where(proba[:, positive] >= threshold, positive, 1 - positive)
    return confusion(np.asarray(y_true).astype(int), decided, 2)


def youden_threshold(y_true: np.ndarray, score: np.ndarray) -> float:
    """Threshold maximising sensitivity + specificity - 1 (Youden's J); ties -> closest to 0.5.

    Balanced accuracy does not depend on prevalence, so this choice carries over to a
    population whose positive rate differs from the validation data's.
    """
    fpr, tpr, thresholds = roc_curve_points(y_true, score)
    j = np.array(tpr) - np.array(fpr)
    best = np.flatnonzero(np.isclose(j, j.max()))
    candidates = np.array(thresholds)[best]
    return float(candidates[np.argmin(np.abs(candidates - 0.5))])


def sensitivity_threshold(y_true: np.ndarray, score: np.ndarray, target: float) -> float:
    """The highest threshold whose sensitivity is at least ``target``: the best specificity that keeps it.

    ``score >= threshold`` is positive. With no positives the threshold is the lowest score.
    """
    y_true = np.asarray(y_true).astype(bool)
    positives = np.sort(np.asarray(score, dtype=np.float64)[y_true])[::-1]
    if not len(positives):
        return float(np.min(score))
    needed = int(np.ceil(target * len(positives) - 1e-9))  # positives that must score >= threshold
    return float(positives[max(needed, 1) - 1])


def cross_fitted_thresholds(
    y_true: np.ndarray,
    score: np.ndarray,
    choose,
    groups: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Per row, the threshold ``choose(y, score)`` picks on the other folds: decisions that chose nothing.

    A threshold chosen on the rows it is then scored on flatters its sensitivity and specificity;
    ``score >= cross_fitted_thresholds(...)`` gives each row a decision from a threshold its own row
    (and, with ``groups``, its own patient) did not choose. With too few positives or negatives for
    two folds, every row gets the threshold chosen on all rows (and the figures stay optimistic).

    Args:
        y_true: bool array (N,): the positive class.
        score: float array (N,).
        choose: ``(y_true, score) -> threshold``, e.g. ``youden_threshold``.
        groups: int array (N,) of patients; a patient's rows share a fold.
        folds: number of folds (stratified, seeded).
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y_true = np.asarray(y_true).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    splits = int(min(folds, y_true.sum(), (~y_true).sum()))
    if groups is not None:
        splits = min(splits, len(np.unique(groups)))
    if splits < 2:
        return np.full(len(score), float(choose(y_true, score)))
    if groups is None:
        splitter = StratifiedKFold(splits, shuffle=True, random_state=seed).split(score, y_true)
    else:
        splitter = StratifiedGroupKFold(splits, shuffle=True, random_state=seed).split(score, y_true, groups)
    thresholds = np.empty(len(score))
    for fit_rows, held_rows in splitter:
        thresholds[held_rows] = choose(y_true[fit_rows], score[fit_rows])
    return thresholds


def classification_summary(
    y_true: np.ndarray, proba: np.ndarray, labels: list[str], positive: int | None = None
) -> dict:
    """Headline metrics and chart data for one set of predictions.

    Args:
        y_true: int array (N,) of class indices.
        proba: float array (N, K), rows sum to 1.
        labels: K class names.
        positive: for K=2, the index of the class the ROC and PR curves are drawn for
            (the model's positive label, e.g. 'malignant'); class 1 when None.

    Returns:
        dict with ``n``, ``accuracy``, ``auc``, ``macro_f1``, ``ece``, ``brier``,
        ``confusion_matrix``, ``per_class``, ``roc`` and ``pr`` (one curve per class,
        one-vs-rest; the positive class only for K=2) and ``reliability``.
    """
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    y_pred = proba.argmax(axis=1)
    per_class = per_class_report(y_true, y_pred, labels)
    curve_classes = [1 if positive is None else positive] if len(labels) == 2 else list(range(len(labels)))
    roc, pr = [], []
    for k in curve_classes:
        positives = y_true == k
        if 0 < positives.sum() < len(y_true):
            fpr, tpr, _ = roc_curve_points(positives, proba[:, k])
            recall, precision = pr_curve_points(positives, proba[:, k])
            from sklearn.metrics import average_precision_score, roc_auc_score

            roc.append(
                {"label": labels[k], "fpr": fpr, "tpr": tpr, "auc": float(roc_auc_score(positives, proba[:, k]))}
            )
            pr.append(
                {
                    "label": labels[k],
                    "recall": recall,
                    "precision": precision,
                    "average_precision": float(average_precision_score(positives, proba[:, k])),
                }
            )
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.mean(y_pred == y_true)),
        "auc": auc_ovr(y_true, proba),
        # Over the classes present in the labels or the predictions (scikit-learn's rule), so a
        # file holding a few of the model's classes is not scored down for the absent ones.
        "macro_f1": float(np.mean([row["f1"] for row in per_class if row["support"] or row["predicted"]])),
        "ece": expected_calibration_error(y_true, proba),
        "brier": brier_score(y_true, proba),
        "confusion_matrix": confusion(y_true, y_pred, len(labels)),
        "per_class": per_class,
        "roc": roc,
        "pr": pr,
        "reliability": reliability_curve(y_true, proba),
    }
