"""Labelled symptom tables for evaluation: the disease-symptom ``Training.csv`` layout.

``medcore.core.evaluate`` calls ``read_path`` (CLI) and ``read_upload`` (page, in memory)
and scores the result like every classifier.
"""

from __future__ import annotations

from pathlib import Path

from medcore.checklist.data import load_checklist_file, symptom_table_from_text

__all__ = ["ACCEPTED_UPLOADS", "read_path", "read_upload"]

ACCEPTED_UPLOADS = {".csv": "Training.csv layout: one 0/1 column per symptom and 'prognosis'"}


def read_path(model, path: Path, split: str = "test"):
    """``(symptom lists, names, y_true)`` of a Training.csv-layout file (``split`` does not apply)."""
    return load_checklist_file(path, model.labels)


def read_upload(model, name: str, data: bytes, split: str = "test"):
    """The upload form of ``read_path``, read in memory."""
    table = symptom_table_from_text(data.decode("utf-8-sig", errors="replace"), name)
    return load_checklist_file(table, model.labels)
