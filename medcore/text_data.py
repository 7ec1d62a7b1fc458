"""Labelled text files for evaluating a text model: a CSV of one text and one label per row.

The columns are found by name (see ``TEXT_COLUMNS`` and ``LABEL_COLUMNS``), so the data
sets' own files (Symptom2Disease's ``label,text``; Medical Abstracts'
``condition_label,medical_abstract``) and a hospital's own export both work.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from medcore.errors import InvalidInputError

__all__ = ["TEXT_COLUMNS", "LABEL_COLUMNS", "read_labelled_texts", "load_text_file"]

TEXT_COLUMNS = ("text", "symptoms", "description", "note", "medical_abstract", "abstract")
LABEL_COLUMNS = ("label", "diagnosis", "disease", "prognosis", "condition_label")
# Medical Abstracts codes its classes 1-5 in this column, in the order the model's labels follow.
_CODED_COLUMN = "condition_label"


def _find_column(header: list[str], candidates: tuple[str, ...], what: str, name: str) -> int:
    lowered = [cell.strip().lower() for cell in header]
    for candidate in candidates:
        if candidate in lowered:
            return lowered.index(candidate)
    raise InvalidInputError(
        f"'{name}' has no {what} column (columns: {header[:8]}). Name it one of {list(candidates)}; "
        f"the file needs one text column and one label column."
    )


def _label_index(value: str, lookup: dict[str, int], coded: bool, n_labels: int) -> int | None:
    key = value.strip().casefold()
    if key in lookup:
        return lookup[key]
    if coded and key.isdigit() and 1 <= int(key) <= n_labels:
        return int(key) - 1
    return None


def _rows(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def read_labelled_texts(text: str, name: str, labels: list[str]) -> tuple[list[str], list[str], np.ndarray]:
    """Parse a labelled text CSV against a model's labels.

    Args:
        text: the file's decoded text.
        name: the file's name, for messages.
        labels: the model's class names; labels match case-insensitively, and in a
            ``condition_label`` column the codes 1..K stand for the K labels in order.

    Returns:
        ``(texts, names, y_true)``: one text per row, ``'line N'`` names (the CSV line, so the
        per-sample table never repeats the text) and int label indices in ``labels`` order.

    Raises:
        InvalidInputError: not a CSV, missing columns, empty texts or labels, or labels the
            model does not know (the message lists them and the model's labels).
    """
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as err:
        raise InvalidInputError(f"'{name}' is not a readable CSV file ({err}). Save it as CSV (UTF-8).") from None
    if len(rows) < 2:
        raise InvalidInputError(f"'{name}' holds no data rows; expected a header, then one text and label per row.")
    header = rows[0]
    text_column = _find_column(header, TEXT_COLUMNS, "text", name)
    label_column = _find_column(header, LABEL_COLUMNS, "label", name)
    coded = header[label_column].strip().lower() == _CODED_COLUMN
    lookup = {label.casefold(): index for index, label in enumerate(labels)}
    texts, names, y_true = [], [], []
    no_text, unknown = [], {}
    for line, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (max(text_column, label_column) + 1 - len(row))
        body, value = cells[text_column].strip(), cells[label_column]
        index = _label_index(value, lookup, coded, len(labels))
        if not body:
            no_text.append(line)
        if index is None:
            unknown.setdefault(value.strip() or "(empty)", []).append(line)
        texts.append(body)
        names.append(f"line {line}")
        y_true.append(-1 if index is None else index)
    if no_text:
        raise InvalidInputError(f"'{name}': line(s) {_rows(no_text)} have no text. Fill them in or remove them.")
    if unknown:
        listed = "; ".join(f"'{value}' (line {_rows(lines)})" for value, lines in list(unknown.items())[:5])
        raise InvalidInputError(
            f"'{name}' has {len(unknown)} label(s) the model does not know: {listed}. "
            f"It knows: {', '.join(labels[:30])}{' ...' if len(labels) > 30 else ''}."
        )
    return texts, names, np.asarray(y_true, dtype=int)


def load_text_file(path: Path | str, labels: list[str]) -> tuple[list[str], list[str], np.ndarray]:
    """``read_labelled_texts`` on a CSV file on disk (the CLI's path)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"'{path}' is not a file; text models are evaluated on a CSV of text and label.")
    return read_labelled_texts(path.read_bytes().decode("utf-8-sig", errors="replace"), path.name, labels)
