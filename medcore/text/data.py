"""Text data: the training sets, labelled CSVs a user evaluates on, and the split that keeps paraphrases apart.

Labelled CSVs hold one text and one label per row; the columns are found by name (see
``TEXT_COLUMNS`` and ``LABEL_COLUMNS``), so the data sets' own files (Symptom2Disease's
``label,text``; Medical Abstracts' ``condition_label,medical_abstract``) and a hospital's own
export both work. ``grouped_split`` keeps exact duplicates and near paraphrases on one side.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.text.recipes import NEAR_DUPLICATE, TEXT_RECIPES, VALIDATION_FRACTION, TextRecipe

__all__ = [
    "TEXT_COLUMNS",
    "LABEL_COLUMNS",
    "TEXT_EXAMPLES",
    "read_labelled_texts",
    "load_text_file",
    "load_text_dataset",
    "normalised",
    "near_duplicate_groups",
    "grouped_split",
    "grouped_folds",
    "aggregate_texts",
]

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


_ABSTRACT_LABELS = (
    "neoplasms",
    "digestive system diseases",
    "nervous system diseases",
    "cardiovascular diseases",
    "general pathological conditions",
)


def _find_file(recipe: TextRecipe, data_path: Path) -> Path:
    data_path = Path(data_path)
    if data_path.is_file():
        return data_path
    for folder in (data_path / recipe.folder, data_path):
        for file_name in recipe.data_files:
            if (folder / file_name).is_file():
                return folder / file_name
    raise InvalidInputError(
        f"No {recipe.folder} data under '{data_path}': expected one of {list(recipe.data_files)} in it or in its "
        f"'{recipe.folder}/' folder. Pass --data with the shared data folder or the data set's own folder."
    )


def _column(frame, candidates: tuple[str, ...], file_name: str) -> str:
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    raise InvalidInputError(
        f"'{file_name}' has columns {list(frame.columns)}; expected one of {list(candidates)}. "
        "Use the data set's own CSV layout."
    )


def load_text_dataset(name: str, data_path: Path | str) -> tuple[list[str], list[str], list[str], Path]:
    """Read the labelled CSV of text model ``name``.

    Args:
        name: a key of ``TEXT_RECIPES``.
        data_path: the data root (holding ``symptom2disease/`` or ``medical_abstracts/``), the
            data set's own folder, or its CSV file.

    Returns:
        ``(texts, labels, label_names, data_file)``: one text and one label name per row
        (names stripped; abstracts' 1-5 mapped through ``medical_tc_labels.csv``), the
        model's label order, and the file read.

    Raises:
        InvalidInputError: no such file, or columns/labels that do not fit the layout.
    """
    import pandas as pd

    recipe = TEXT_RECIPES[name]
    data_file = _find_file(recipe, Path(data_path))
    frame = pd.read_csv(data_file)
    if name == "abstract-topic":
        text_column = _column(frame, ("medical_abstract", "text", "abstract"), data_file.name)
        label_column = _column(frame, ("condition_label", "label"), data_file.name)
        names = dict(enumerate(_ABSTRACT_LABELS, start=1))
        labels_file = data_file.parent / "medical_tc_labels.csv"
        if labels_file.is_file():
            table = pd.read_csv(labels_file)
            names = {int(k): str(v).strip() for k, v in zip(table["condition_label"], table["condition_name"])}
        unknown = sorted(set(frame[label_column]) - set(names))
        if unknown:
            raise InvalidInputError(f"'{data_file.name}' has labels {unknown}; expected {sorted(names)}.")
        labels = [names[int(v)] for v in frame[label_column]]
        label_names = [names[k] for k in sorted(names)]
    else:
        text_column = _column(frame, ("text", "symptoms", "description"), data_file.name)
        label_column = _column(frame, ("label", "disease", "prognosis"), data_file.name)
        labels = [str(v).strip() for v in frame[label_column]]
        label_names = sorted(set(labels), key=str.casefold)
    texts = [str(v).strip() for v in frame[text_column].fillna("")]
    return texts, labels, label_names, data_file


def normalised(text: str) -> str:
    """The grouping key of a text: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def near_duplicate_groups(texts: list[str], threshold: float = NEAR_DUPLICATE) -> np.ndarray:
    """Group index per text: equal normalised texts and chains of word-set Jaccard >= ``threshold``.

    Returns:
        int array (N,); texts sharing a value must stay on the same side of a split.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    n = len(texts)
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first: dict[str, int] = {}
    for index, text in enumerate(texts):
        key = normalised(text)
        if key in first:
            parent[root(index)] = root(first[key])
        else:
            first[key] = index
    try:
        words = CountVectorizer(binary=True, token_pattern=r"[a-z0-9']+").fit_transform(texts).astype(np.float32)
    except ValueError:  # no words at all
        words = None
    if words is not None:
        words = words.tocsr()
        sizes = np.asarray(words.sum(axis=1)).ravel()
        for start in range(0, n, 512):  # blocks keep memory at 512 x N
            overlap = (words[start : start + 512] @ words.T).toarray()
            union = sizes[start : start + 512, None] + sizes[None, :] - overlap
            rows, columns = np.nonzero(overlap >= threshold * np.maximum(union, 1e-9))
            for a, b in zip(rows + start, columns):
                if a < b:
                    parent[root(a)] = root(b)
    roots = [root(i) for i in range(n)]
    index_of = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return np.array([index_of[r] for r in roots], dtype=int)


def grouped_split(
    texts: list[str], labels: list[str], seed: int = 0, fraction: float = VALIDATION_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic grouped, stratified train/validation split.

    Groups come from ``near_duplicate_groups``; each group is stratified by its first row's
    label; within each label (sorted) the groups are permuted with ``RandomState(seed)`` and
    ``round(fraction x groups)`` go to validation.

    Returns:
        ``(train_rows, validation_rows)``: sorted int arrays of row indices.
    """
    groups = near_duplicate_groups(texts)
    group_label: dict[int, str] = {}
    for group, label in zip(groups, labels):
        group_label.setdefault(int(group), label)
    rng = np.random.RandomState(seed)
    validation_groups: set[int] = set()
    for label in sorted(set(group_label.values())):
        members = np.array(sorted(g for g, lab in group_label.items() if lab == label))
        members = members[rng.permutation(len(members))]
        validation_groups.update(members[: int(round(fraction * len(members)))].tolist())
    in_validation = np.array([int(g) in validation_groups for g in groups])
    return np.flatnonzero(~in_validation), np.flatnonzero(in_validation)


def grouped_folds(texts: list[str], labels: list[str], folds: int, seed: int = 0) -> np.ndarray:
    """Deterministic grouped, stratified k-fold assignment: the fold (0..folds-1) of every row.

    Groups come from ``near_duplicate_groups`` (exact duplicates and near paraphrases stay in
    one fold); within each label (sorted) the groups are permuted with ``RandomState(seed)``
    and dealt to the folds in turn, so every fold holds about 1/folds of each label.
    """
    groups = near_duplicate_groups(texts)
    group_label: dict[int, str] = {}
    for group, label in zip(groups, labels):
        group_label.setdefault(int(group), label)
    rng = np.random.RandomState(seed)
    fold_of: dict[int, int] = {}
    offset = 0
    for label in sorted(set(group_label.values())):
        members = np.array(sorted(g for g, lab in group_label.items() if lab == label))
        for position, group in enumerate(members[rng.permutation(len(members))]):
            fold_of[int(group)] = (offset + position) % folds
        offset += len(members)  # the next label starts where this one stopped: folds stay even
    return np.array([fold_of[int(g)] for g in groups], dtype=int)


def aggregate_texts(texts: list[str], y: np.ndarray, n_classes: int) -> tuple[list[str], np.ndarray]:
    """Distinct texts (first spelling kept) with soft targets (N_distinct, K): each label's share."""
    order: dict[str, int] = {}
    kept: list[str] = []
    counts: list[np.ndarray] = []
    for text, label in zip(texts, y):
        key = normalised(text)
        if key not in order:
            order[key] = len(kept)
            kept.append(text)
            counts.append(np.zeros(n_classes))
        counts[order[key]][label] += 1
    targets = np.array(counts)
    return kept, targets / targets.sum(axis=1, keepdims=True)


# Example inputs for the free-text page, written for this project (not taken from the data).
TEXT_EXAMPLES: dict[str, dict[str, str]] = {
    "symptom-text": {
        "Itchy rash": "For two weeks I have had an itchy red rash on my arms with dry, scaly patches that peel.",
        "Fever and chills": "I keep getting high fever with shivering and sweating every other day, and a bad headache.",
        "Burning urine": "It burns when I pee, I need to go all the time and my lower belly hurts.",
    },
    "abstract-topic": {
        "Oncology": "We studied adjuvant chemotherapy after resection of stage III colon carcinoma in 212 patients; "
        "tumour recurrence and overall survival were compared between regimens.",
        "Cardiology": "Patients with acute myocardial infarction received early coronary angioplasty; left "
        "ventricular ejection fraction and reinfarction rates were followed for one year.",
        "Neurology": "We describe seizure frequency and cognitive outcome in children with temporal lobe "
        "epilepsy treated with a new anticonvulsant.",
    },
}
