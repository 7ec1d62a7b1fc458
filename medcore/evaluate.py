"""Evaluate a model on a labelled file: the one code path the CLI and the pages share.

``load_labelled`` reads any accepted layout into inputs and label indices for a model;
``evaluate`` predicts in batches (with an optional progress callback) and returns the same
metrics and chart data as the bundle's ``evaluation.json``, plus per-sample predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.data import load_image_folder, load_image_zip, load_medmnist_npz
from medcore.errors import InvalidInputError
from medcore.metrics import binary_operating_point, classification_summary
from medcore.settings import LIMITS
from medcore.validate import check_file_bytes

__all__ = ["load_labelled", "load_labelled_upload", "evaluate", "evaluate_upload", "ACCEPTED_UPLOADS"]

# model kind -> file endings an uploaded labelled file may have, and what they hold
ACCEPTED_UPLOADS: dict[str, dict[str, str]] = {
    "image": {
        ".npz": "MedMNIST-style .npz (<split>_images, <split>_labels)",
        ".zip": "zip of one folder of images per class",
    },
    "checklist": {".csv": "Training.csv layout: one 0/1 column per symptom and 'prognosis'"},
    "text": {".csv": "CSV with a text column (text, note, description...) and a label column (label, diagnosis...)"},
    "recommender": {".zip": "zip of a Synthea CSV export folder (patients.csv, conditions.csv, procedures.csv...)"},
}


def load_labelled(model, path: Path | str, split: str = "test"):
    """Read a labelled file or folder for ``model``.

    Returns:
        ``(inputs, names, y_true)``: inputs in a form ``model.predict_proba`` accepts.

    Raises:
        InvalidInputError: the layout is not one this model can be evaluated on.
    """
    path = Path(path)
    if model.kind == "image":
        if path.is_dir():
            contents, names, y_true = load_image_folder(path, model.labels)
            return contents, names, y_true
        if path.suffix.lower() == ".npz":
            images, y_true = load_medmnist_npz(path, split)
            return images, [f"{split}[{i}]" for i in range(len(images))], y_true
        raise InvalidInputError(
            f"'{path.name}' is neither a MedMNIST-style .npz nor a folder of class sub-folders; "
            "image models are evaluated on one of those."
        )
    if model.kind == "checklist":
        from medcore.symptom_data import load_checklist_file

        return load_checklist_file(path, model.labels)
    if model.kind == "text":
        from medcore.text_data import load_text_file

        return _readable_texts(model, *load_text_file(path, list(model.labels)))
    raise InvalidInputError(f"Evaluation of '{model.kind}' models is not available yet.")


def load_labelled_upload(model, name: str, data: bytes, split: str = "test"):
    """Read an uploaded labelled file in memory (nothing is written to disk).

    Args:
        model: a loaded medcore model.
        name: the upload's file name (its ending selects the layout, see ``ACCEPTED_UPLOADS``).
        data: the upload's bytes.
        split: the split of a MedMNIST ``.npz``.

    Returns:
        ``(inputs, names, y_true)`` as ``load_labelled``.

    Raises:
        InvalidInputError: empty, too large, or a layout this model cannot be evaluated on.
    """
    suffix = _checked_upload(model, name, data)
    if model.kind == "recommender":
        raise InvalidInputError("Recommenders are evaluated on a whole export: use evaluate_upload.")
    if model.kind == "image" and suffix == ".npz":
        images, y_true = load_medmnist_npz((name, data), split)
        return images, [f"{split}[{i}]" for i in range(len(images))], y_true
    if model.kind == "image":
        return load_image_zip(name, data, model.labels, LIMITS["max_unpacked_bytes"])
    if model.kind == "text":
        from medcore.text_data import read_labelled_texts

        texts = read_labelled_texts(data.decode("utf-8-sig", errors="replace"), name, list(model.labels))
        return _readable_texts(model, *texts)
    from medcore.symptom_data import load_checklist_file, symptom_table_from_text

    table = symptom_table_from_text(data.decode("utf-8-sig", errors="replace"), name)
    return load_checklist_file(table, model.labels)


def _checked_upload(model, name: str, data: bytes) -> str:
    """The upload's ending, once its size and ending fit ``model`` (else InvalidInputError)."""
    accepted = ACCEPTED_UPLOADS.get(model.kind, {})
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

    Classifiers go through ``load_labelled_upload`` and ``evaluate``; the recommender through
    ``medcore.recommend.evaluate_recommender`` on the zipped Synthea export's tables.

    Returns:
        ``evaluate``'s or ``evaluate_recommender``'s result.

    Raises:
        InvalidInputError: a file that does not fit the model (the message says why).
    """
    if model.kind == "recommender":
        from medcore.recommend import evaluate_recommender
        from medcore.synthea import read_synthea_zip

        _checked_upload(model, name, data)
        result = evaluate_recommender(model, read_synthea_zip(name, data, LIMITS["max_unpacked_bytes"]))
        if progress:
            progress(1.0)
        return result
    inputs, names, y_true = load_labelled_upload(model, name, data, split)
    return evaluate(model, inputs, y_true, names, progress=progress)


def _readable_texts(model, texts: list[str], names: list[str], y_true: np.ndarray):
    """Refuse, naming the lines, texts the model cannot read (no English words, say)."""
    problems = []
    for text, name in zip(texts, names):
        try:
            model.prepare(text)
        except InvalidInputError as err:
            problems.append(f"{name}: {err}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InvalidInputError(
            f"{len(problems)} text(s) cannot be read by '{model.name}'{more}. "
            + " ".join(problems[:3])
            + " Fix or remove those lines."
        )
    return texts, names, y_true


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
        ``classification_summary`` output plus ``predictions`` (one dict per sample) and, for
        binary models with a shipped threshold, ``operating_point`` (sensitivity, specificity...
        at that threshold).

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
    chunks = []
    for start in range(0, len(y_true), batch_size):
        chunks.append(model.predict_proba(inputs[start : start + batch_size]))
        if progress:
            progress(min(1.0, (start + batch_size) / len(y_true)))
    proba = np.concatenate(chunks)
    point = model.card.get("operating_point", {})
    positive = model.labels.index(point["positive_label"]) if "positive_label" in point else None
    summary = classification_summary(y_true, proba, list(model.labels), positive)
    if positive is not None and "threshold" in point:
        # Sensitivity/specificity at the shipped threshold, to set beside the card's validation figures.
        summary["operating_point"] = {
            "positive_label": point["positive_label"],
            **binary_operating_point(y_true == positive, proba[:, positive], float(point["threshold"])),
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
