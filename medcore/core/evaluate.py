"""Evaluate a model on a labelled file: the one code path the CLI and the pages share.

Each capability's ``evaluate`` module knows its own labelled layouts: ``ACCEPTED_UPLOADS``
(file ending -> what it holds), ``read_path(model, path, split)`` and
``read_upload(model, name, data, split)`` returning ``(inputs, names, y_true)``, or, for a
protocol of its own (the recommender's), ``evaluate_upload(model, name, data, progress)``.
This module finds that module through the registry's capability table, checks the upload's
size and ending, and scores classifiers the same way for every capability (``evaluate``):
the same metrics and chart data as a bundle's ``evaluation.json``, plus per-sample predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.core.metrics import binary_operating_point, classification_summary, decision_confusion
from medcore.core.registry import capability_module
from medcore.core.uncertainty import classification_intervals, with_intervals
from medcore.core.validate import check_file_bytes

__all__ = ["accepted_uploads", "load_labelled", "load_labelled_upload", "evaluate", "evaluate_upload"]


def accepted_uploads(kind: str) -> dict[str, str]:
    """File endings a labelled upload for a ``kind`` model may have, and what each holds ({} if none)."""
    return dict(getattr(capability_module(kind, "evaluate"), "ACCEPTED_UPLOADS", {}))


def load_labelled(model, path: Path | str, split: str = "test"):
    """Read a labelled file or folder for ``model``.

    Returns:
        ``(inputs, names, y_true)``: inputs in a form ``model.predict_proba`` accepts.

    Raises:
        InvalidInputError: the layout is not one this model can be evaluated on.
    """
    module = capability_module(model.kind, "evaluate")
    if not hasattr(module, "read_path"):
        raise InvalidInputError(f"Evaluation of '{model.kind}' models on a labelled file is not available.")
    return module.read_path(model, Path(path), split)


def load_labelled_upload(model, name: str, data: bytes, split: str = "test"):
    """Read an uploaded labelled file in memory (nothing is written to disk).

    Args:
        model: a loaded medcore model.
        name: the upload's file name (its ending selects the layout, see ``accepted_uploads``).
        data: the upload's bytes.
        split: the split of a MedMNIST ``.npz``.

    Returns:
        ``(inputs, names, y_true)`` as ``load_labelled``.

    Raises:
        InvalidInputError: empty, too large, or a layout this model cannot be evaluated on.
    """
    _checked_upload(model, name, data)
    module = capability_module(model.kind, "evaluate")
    if not hasattr(module, "read_upload"):
        raise InvalidInputError(f"'{model.kind}' models are evaluated on a whole export: use evaluate_upload.")
    return module.read_upload(model, name, data, split)


def _checked_upload(model, name: str, data: bytes) -> str:
    """The upload's ending, once its size and ending fit ``model`` (else InvalidInputError)."""
    accepted = accepted_uploads(model.kind)
    suffix = Path(name).suffix.lower()
    check_file_bytes(name, data, "Upload a labelled file with data in it, or a smaller sample of it.")
    if suffix not in accepted:
        expected = "; ".join(f"{ending}: {what}" for ending, what in accepted.items()) or "none yet"
        raise InvalidInputError(f"'{name}' cannot be used to evaluate '{model.name}'. Expected {expected}.")
    return suffix


def evaluate_upload(
    model, name: str, data: bytes, split: str = "test", progress: Callable[[float], None] | None = None
) -> dict:
    """Evaluate ``model`` on an uploaded labelled file, in memory: the evaluation page's one call.

    Classifiers go through ``load_labelled_upload`` and ``evaluate``; a capability with a
    protocol of its own (the recommender) through its ``evaluate_upload``.

    Returns:
        ``evaluate``'s result, or the capability's own.

    Raises:
        InvalidInputError: a file that does not fit the model (the message says why).
    """
    module = capability_module(model.kind, "evaluate")
    if hasattr(module, "evaluate_upload"):
        _checked_upload(model, name, data)
        return module.evaluate_upload(model, name, data, progress)
    inputs, names, y_true = load_labelled_upload(model, name, data, split)
    return evaluate(model, inputs, y_true, names, progress=progress)


def evaluate(
    model,
    inputs,
    y_true: np.ndarray,
    names: list[str] | None = None,
    progress: Callable[[float], None] | None = None,
    batch_size: int = 256,
) -> dict:
    """Metrics of ``model`` on labelled inputs.

    Args:
        model: a loaded medcore model.
        inputs: what ``model.predict_proba`` accepts, as a sequence.
        y_true: int array (N,) of label indices in the model's label order.
        names: per-sample names for the predictions table.
        progress: called with the fraction done after every batch.

    Returns:
        ``classification_summary`` output with a 95 % bootstrap interval (``<metric>_ci95``)
        after each scalar, plus ``predictions`` (one dict per sample) and, for binary models with
        a shipped threshold, ``operating_point`` (sensitivity, specificity... at that threshold,
        with intervals).

    Raises:
        InvalidInputError: labels outside the model's classes or inputs it cannot read.
    """
    y_true = np.asarray(y_true).astype(int)
    n_classes = len(model.labels)
    if len(y_true) == 0:
        raise InvalidInputError("The labelled data holds no samples.")
    bad = sorted(set(y_true[(y_true < 0) | (y_true >= n_classes)].tolist()))
    if bad:
        raise InvalidInputError(
            f"Labels {bad[:10]} are not classes of '{model.name}', which knows 0-{n_classes - 1} ({model.labels})."
        )
    if hasattr(model, "for_inputs"):  # a model with networks for different input sizes: the one these need
        model = model.for_inputs(inputs)
    chunks = []
    for start in range(0, len(y_true), batch_size):
        chunks.append(model.predict_proba(inputs[start : start + batch_size]))
        if progress:
            progress(min(1.0, (start + batch_size) / len(y_true)))
    proba = np.concatenate(chunks)
    point = model.card.get("operating_point", {})
    positive = model.labels.index(point["positive_label"]) if "positive_label" in point else None
    summary = classification_summary(y_true, proba, list(model.labels), positive)
    threshold = float(point["threshold"]) if positive is not None and "threshold" in point else None
    intervals = classification_intervals(y_true, proba, positive, threshold)
    summary.update(
        with_intervals(
            {k: summary[k] for k in ("accuracy", "auc", "macro_f1", "ece", "brier")},
            {k: intervals[k] for k in ("accuracy", "auc", "macro_f1", "ece", "brier")},
        )
    )
    if positive is not None and "threshold" in point:
        # Sensitivity/specificity at the shipped threshold, to set beside the card's validation figures.
        operating = binary_operating_point(y_true == positive, proba[:, positive], float(point["threshold"]))
        summary["decision_confusion_matrix"] = decision_confusion(y_true, proba, positive, float(point["threshold"]))
        summary["operating_point"] = {
            "positive_label": point["positive_label"],
            **with_intervals(operating, {k: intervals[k] for k in ("sensitivity", "specificity", "ppv", "npv")}),
        }
    names = names or [str(i) for i in range(len(y_true))]
    summary["predictions"] = [
        {
            "name": name,
            "label": model.labels[t],
            "predicted": model.labels[int(p.argmax())],
            **{f"p({label})": float(v) for label, v in zip(model.labels, p)},
        }
        for name, t, p in zip(names, y_true, proba)
    ]
    summary["model"] = model.name
    return summary
