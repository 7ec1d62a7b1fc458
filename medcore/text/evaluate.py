"""Evaluating a text model: labelled CSVs in (``read_path``, ``read_upload``) and text-level scores.

``medcore.core.evaluate`` scores what ``read_path``/``read_upload`` return like every
classifier; ``text_scores`` adds the figures the text trainers choose models by (top-3,
"any of its labels" accuracy over distinct texts, log-loss).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.text.data import load_text_file, normalised, read_labelled_texts

__all__ = ["ACCEPTED_UPLOADS", "read_path", "read_upload", "text_scores"]

ACCEPTED_UPLOADS = {
    ".csv": "CSV with a text column (text, note, description...) and a label column (label, diagnosis...)"
}


def read_path(model, path: Path, split: str = "test"):
    """``(texts, names, y_true)`` of a labelled CSV on disk (``split`` does not apply)."""
    return _readable_texts(model, *load_text_file(path, list(model.labels)))


def read_upload(model, name: str, data: bytes, split: str = "test"):
    """The upload form of ``read_path``, read in memory."""
    texts = read_labelled_texts(data.decode("utf-8-sig", errors="replace"), name, list(model.labels))
    return _readable_texts(model, *texts)


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


def text_scores(y_true: np.ndarray, proba: np.ndarray, texts: list[str]) -> dict:
    """Top-1, top-3, macro-F1, log-loss and 'any of its labels' top-1 of predictions on rows.

    Args:
        y_true: int array (N,) of label indices, one per row (a text listed under two
            labels is two rows).
        proba: float array (N, K).
        texts: the N row texts; rows with the same normalised text are one distinct text.

    Returns:
        dict of floats: ``accuracy``, ``top3_accuracy``, ``macro_f1``, ``nll``,
        ``any_label_accuracy`` (over distinct texts: the top class is one of the text's
        labels) and ``n_texts``.
    """
    from sklearn.metrics import f1_score

    y_true = np.asarray(y_true).astype(int)
    top3 = np.argsort(-proba, axis=1)[:, :3]
    label_sets: dict[str, set[int]] = {}
    top_of: dict[str, int] = {}
    for text, label, row in zip(texts, y_true, proba):
        key = normalised(text)
        label_sets.setdefault(key, set()).add(int(label))
        top_of[key] = int(np.argmax(row))
    return {
        "accuracy": float(np.mean(proba.argmax(axis=1) == y_true)),
        "top3_accuracy": float(np.mean([label in row for label, row in zip(y_true, top3)])),
        "macro_f1": float(
            f1_score(y_true, proba.argmax(axis=1), average="macro", labels=range(proba.shape[1]), zero_division=0)
        ),
        "nll": float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], 1e-12, 1.0)))),
        "any_label_accuracy": float(np.mean([top_of[key] in labels for key, labels in label_sets.items()])),
        "n_texts": len(label_sets),
    }
