"""Read the disease-symptom data set: Training.csv layout, symptom and disease names, lookups.

Normalises the data set's quirks (see ../shared/data/disease_symptom/SOURCE.md): symptom
names lower-case with single underscores, the duplicated ``fluid_overload`` column merged,
disease names stripped and matched across files despite spelling variants; reads the
description, precaution and severity tables the checklist bundle stores.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError

__all__ = [
    "SymptomTable",
    "normalise_symptom",
    "normalise_disease",
    "disease_key",
    "read_symptom_table",
    "symptom_table_from_text",
    "read_knowledge",
    "find_symptom_data",
    "load_checklist_file",
    "match_label",
]

# Spellings in other copies of the data (or its companion tables) -> the Training.csv name.
_SYMPTOM_ALIASES = {
    "foul_smell_ofurine": "foul_smell_of_urine",
    "toxic_look_typhos": "toxic_look_(typhos)",
}


# The data set's misspellings, corrected for what people read. The model keeps the data set's own
# label names (ARCHITECTURE: API and CLI answer with them); screens show these.
DISPLAY_NAMES = {
    "(vertigo) Paroymsal  Positional Vertigo": "Benign paroxysmal positional vertigo",
    "Osteoarthristis": "Osteoarthritis",
    "Peptic ulcer diseae": "Peptic ulcer disease",
    "Dimorphic hemmorhoids(piles)": "Haemorrhoids (piles)",
    "Dimorphic Hemorrhoids": "Haemorrhoids (piles)",
    "hepatitis A": "Hepatitis A",
    "Chicken pox": "Chickenpox",
    "Bronchial Asthma": "Bronchial asthma",
    "Common Cold": "Common cold",
    "Drug Reaction": "Drug reaction",
    "Varicose Veins": "Varicose veins",
    "swelled_lymph_nodes": "swollen lymph nodes",
    "cold_hands_and_feets": "cold hands and feet",
    "swollen_extremeties": "swollen extremities",
    "scurring": "scarring",
    "toxic_look_(typhos)": "toxic look (typhoid)",
    "dischromic_patches": "discoloured patches",
    "spotting_urination": "spotting when urinating",
    "burning_micturition": "burning when urinating",
    "continuous_feel_of_urine": "constant urge to urinate",
}


def readable(obj):
    """A copy of a card, evaluation or result with every data-set label spelled as ``DISPLAY_NAMES`` says.

    Only whole strings (values, list items and dict keys) equal to a misspelled label change.
    """
    if isinstance(obj, str):
        return DISPLAY_NAMES.get(obj, obj)
    if isinstance(obj, dict):
        return {readable(key): readable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(readable(item) for item in obj)
    return obj


def normalise_symptom(name: str) -> str:
    """The canonical symptom name: lower-case, stripped, whitespace -> ``_``, runs of ``_`` collapsed.

    ``'Skin Rash'`` -> ``'skin_rash'``; ``'spotting_ urination'`` -> ``'spotting_urination'``.
    """
    text = re.sub(r"_+", "_", re.sub(r"\s+", "_", str(name).strip().lower())).strip("_")
    return _SYMPTOM_ALIASES.get(text, text)


def normalise_disease(name: str) -> str:
    """A disease label as the model uses it: the data set's name stripped of stray end spaces."""
    return str(name).strip()


def disease_key(name: str) -> str:
    """A key for joining disease names across tables: lower-case letters and digits only.

    The companion tables spell a few names differently (``hemorrhoids`` vs ``hemmorhoids``);
    those are joined by the closest key (see ``read_knowledge``).
    """
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class SymptomTable:
    """A binary symptom table in the Training.csv layout.

    Attributes:
        matrix: uint8 array (N, V) of 0/1, one row per patient row of the file.
        diseases: N disease names (stripped).
        symptoms: V canonical symptom names, in column order; duplicated columns merged.
    """

    matrix: np.ndarray
    diseases: list[str]
    symptoms: list[str]

    def distinct(self) -> SymptomTable:
        """The distinct (symptom pattern, disease) rows, sorted by disease then pattern."""
        seen: dict[tuple[str, bytes], int] = {}
        for index, (row, disease) in enumerate(zip(self.matrix, self.diseases)):
            seen.setdefault((disease, row.tobytes()), index)
        order = [seen[key] for key in sorted(seen)]
        return SymptomTable(self.matrix[order], [self.diseases[i] for i in order], list(self.symptoms))

    def symptom_lists(self) -> list[list[str]]:
        """Each row's present symptoms as a list of names (what ``predict_proba`` takes)."""
        return [[self.symptoms[j] for j in np.flatnonzero(row)] for row in self.matrix]


def read_symptom_table(path: Path | str) -> SymptomTable:
    """Read a Training.csv-layout file: one 0/1 column per symptom and a ``prognosis`` column.

    Column names are normalised with ``normalise_symptom``; columns that then share a name
    (the header's two ``fluid_overload``) are merged with a logical OR; unnamed (empty) columns
    are ignored.

    Raises:
        InvalidInputError: no such file, no ``prognosis`` column, or a value other than 0/1.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"No file at '{path}'. Pass a Training.csv-layout file (symptom columns + prognosis).")
    return symptom_table_from_text(path.read_text(encoding="utf-8-sig"), path.name)


def symptom_table_from_text(text: str, name: str) -> SymptomTable:
    """Parse the text of a Training.csv-layout file (see ``read_symptom_table``); ``name`` is for messages."""
    import io

    path = Path(name)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise InvalidInputError(f"'{path.name}' is empty; expected a header of symptom names and 'prognosis'.")
    header = [cell.strip() for cell in rows[0]]
    lowered = [cell.lower() for cell in header]
    if "prognosis" not in lowered:
        raise InvalidInputError(
            f"'{path.name}' has no 'prognosis' column (columns: {header[:5]}...). Expected the disease-symptom "
            "Training.csv layout: one 0/1 column per symptom and the disease in 'prognosis'."
        )
    label_column = lowered.index("prognosis")
    symptoms: list[str] = []
    column_to_symptom: dict[int, int] = {}
    for column, cell in enumerate(header):
        if column == label_column or not cell:
            continue
        name = normalise_symptom(cell)
        if name not in symptoms:
            symptoms.append(name)
        column_to_symptom[column] = symptoms.index(name)
    matrix = np.zeros((len(rows) - 1, len(symptoms)), dtype=np.uint8)
    diseases = []
    for index, row in enumerate(rows[1:]):
        line = index + 2
        if len(row) <= label_column or not row[label_column].strip():
            raise InvalidInputError(f"'{path.name}' line {line}: no disease in the 'prognosis' column.")
        diseases.append(normalise_disease(row[label_column]))
        for column, symptom in column_to_symptom.items():
            value = row[column].strip() if column < len(row) else ""
            if value not in ("0", "1"):
                raise InvalidInputError(
                    f"'{path.name}' line {line}, column '{header[column]}': expected 0 or 1, got {value!r}."
                )
            if value == "1":
                matrix[index, symptom] = 1
    if not diseases:
        raise InvalidInputError(f"'{path.name}' has a header but no rows.")
    return SymptomTable(matrix, diseases, symptoms)


def find_symptom_data(data_path: Path | str) -> Path:
    """The Training.csv-layout file under ``data_path``.

    Args:
        data_path: the file itself, the ``disease_symptom`` folder, or the data root holding it.
            In a folder, ``Training.csv`` (the official name) is preferred to ``Training_train.csv``.

    Raises:
        InvalidInputError: nothing usable there.
    """
    path = Path(data_path)
    if path.is_file():
        return path
    for folder in (path / "disease_symptom", path):
        for name in ("Training.csv", "Training_train.csv"):
            if (folder / name).is_file():
                return folder / name
    raise InvalidInputError(
        f"No Training.csv or Training_train.csv in '{path}' or '{path / 'disease_symptom'}'. Pass the data "
        "folder, its disease_symptom folder, or the CSV file itself."
    )


def _read_rows(path: Path, header_first_cell: str) -> list[list[str]]:
    """CSV rows without the header (some copies have none), empty rows dropped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if rows and rows[0][0].strip().lower() == header_first_cell:
        rows = rows[1:]
    return rows


def match_label(name: str, keys: dict[str, str]) -> str | None:
    """The label whose ``disease_key`` equals the name's, else the one clearly closest (a spelling
    variant: similarity >= 0.85 and no other label within 0.05, so 'Hepatitis F' matches none)."""
    key = disease_key(name)
    if key in keys:
        return keys[key]
    ranked = sorted(((difflib.SequenceMatcher(None, key, known).ratio(), known) for known in keys), reverse=True)
    if ranked and ranked[0][0] >= 0.85 and (len(ranked) == 1 or ranked[1][0] < ranked[0][0] - 0.05):
        return keys[ranked[0][1]]
    return None


def read_knowledge(folder: Path | str, labels: list[str], symptoms: list[str]) -> dict:
    """Descriptions, precautions and severity weights from the data set's companion tables.

    Reads ``symptom_Description.csv``, ``symptom_precaution.csv`` and ``Symptom-severity.csv``
    when present. Disease names are joined by ``disease_key``, or by the closest key when a
    table spells one differently; duplicated severity rows keep the larger weight.

    Returns:
        dict with ``descriptions`` (label -> str), ``precautions`` (label -> list of str),
        ``severity`` (symptom -> int weight 1-7) and ``notes`` (what could not be joined).
    """
    folder = Path(folder)
    keys = {disease_key(label): label for label in labels}
    knowledge: dict = {"descriptions": {}, "precautions": {}, "severity": {}, "notes": []}
    for file_name, field in (("symptom_Description.csv", "descriptions"), ("symptom_precaution.csv", "precautions")):
        path = folder / file_name
        if not path.is_file():
            knowledge["notes"].append(f"{file_name} not found: no {field}")
            continue
        for row in _read_rows(path, "disease"):
            label = match_label(row[0], keys)
            if label is None:
                knowledge["notes"].append(f"{file_name}: '{row[0].strip()}' matches no disease label")
                continue
            if disease_key(label) != disease_key(row[0]):
                knowledge["notes"].append(f"{file_name}: '{row[0].strip()}' joined to '{label}'")
            cells = [cell.strip() for cell in row[1:] if cell.strip()]
            knowledge[field][label] = ", ".join(cells) if field == "descriptions" else cells
    severity_path = folder / "Symptom-severity.csv"
    if severity_path.is_file():
        for row in _read_rows(severity_path, "symptom"):
            name = normalise_symptom(row[0])
            if name in symptoms and len(row) > 1 and row[1].strip().isdigit():
                knowledge["severity"][name] = max(int(row[1]), knowledge["severity"].get(name, 0))
        missing = [s for s in symptoms if s not in knowledge["severity"]]
        if missing:
            knowledge["notes"].append(f"Symptom-severity.csv has no weight for {missing}")
    else:
        knowledge["notes"].append("Symptom-severity.csv not found: no triage weights")
    return knowledge


def load_checklist_file(
    path: Path | str | SymptomTable, labels: list[str]
) -> tuple[list[list[str]], list[str], np.ndarray]:
    """A labelled Training.csv-layout file as checklist inputs, for evaluation.

    Returns:
        ``(inputs, names, y_true)``: one symptom list per row, ``'line N'`` names and int
        label indices (N,) in ``labels`` order.

    Raises:
        InvalidInputError: unreadable file, or a disease that is not one of ``labels``.
    """
    table = path if isinstance(path, SymptomTable) else read_symptom_table(find_symptom_data(path))
    keys = {disease_key(label): label for label in labels}
    unknown = sorted({d for d in table.diseases if match_label(d, keys) is None})
    if unknown:
        raise InvalidInputError(
            f"Diseases {unknown[:5]} in '{Path(path).name}' are not labels of this model ({len(labels)} diseases, "
            f"e.g. {labels[:3]}). Remove those rows or rename them."
        )
    y_true = np.array([labels.index(match_label(d, keys)) for d in table.diseases], dtype=int)
    return table.symptom_lists(), [f"line {i + 2}" for i in range(len(y_true))], y_true
