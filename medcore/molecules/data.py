"""The molecule data sets (MoleculeNet, scaffold split) and readers of SMILES tables.

``DATASETS`` names each shipped model's file, its label columns (the tasks, in the CSV's order)
and whether the task is a regression. ``read_table`` reads a CSV (path or bytes) with a SMILES
column and, for evaluation, the label columns, refusing bad files with a message that teaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.core.tables import read_csv_bytes

__all__ = ["Dataset", "DATASETS", "MAX_MOLECULES", "dataset_of", "read_table", "smiles_column"]

MAX_MOLECULES = LIMITS["max_batch_molecules"]  # molecules in one file or batch


@dataclass(frozen=True)
class Dataset:
    """A training set: file, tasks and what they mean."""

    model: str
    file: str
    tasks: tuple[str, ...]
    regression: bool
    title: str
    unit: str
    published: dict[str, float]  # scaffold-split test figures from the literature (SOURCE.md)


_TOX21 = (
    "NR-AR",
    "NR-AR-LBD",
    "NR-AhR",
    "NR-Aromatase",
    "NR-ER",
    "NR-ER-LBD",
    "NR-PPAR-gamma",
    "SR-ARE",
    "SR-ATAD5",
    "SR-HSE",
    "SR-MMP",
    "SR-p53",
)
# Every task in words a reader understands (issue 28 item 15), with the assay's own code kept beside it.
TASK_WORDS: dict[str, str] = {
    "p_np": "crosses the blood-brain barrier",
    "NR-AR": "activates the androgen receptor (NR-AR)",
    "NR-AR-LBD": "binds the androgen receptor's ligand-binding domain (NR-AR-LBD)",
    "NR-AhR": "activates the aryl hydrocarbon receptor (NR-AhR)",
    "NR-Aromatase": "inhibits aromatase (NR-Aromatase)",
    "NR-ER": "activates the oestrogen receptor alpha (NR-ER)",
    "NR-ER-LBD": "binds the oestrogen receptor's ligand-binding domain (NR-ER-LBD)",
    "NR-PPAR-gamma": "activates PPAR-gamma (NR-PPAR-gamma)",
    "SR-ARE": "triggers the oxidative-stress (antioxidant response element) pathway (SR-ARE)",
    "SR-ATAD5": "damages DNA (ATAD5 genotoxicity) (SR-ATAD5)",
    "SR-HSE": "triggers the heat-shock stress response (SR-HSE)",
    "SR-MMP": "disrupts the mitochondrial membrane potential (SR-MMP)",
    "SR-p53": "activates the p53 DNA-damage response (SR-p53)",
    "log_solubility_mol_per_L": "aqueous solubility (log10 mol/L)",
}


def task_words(task: str) -> str:
    """A task in words ("crosses the blood-brain barrier"); an unknown task keeps its code."""
    return TASK_WORDS.get(task, task)


DATASETS: dict[str, Dataset] = {
    "drug-bbbp": Dataset(
        "drug-bbbp",
        "molecules/bbbp_trainval.csv",
        ("p_np",),
        False,
        "Blood-brain-barrier penetration (BBBP)",
        "probability of penetrating",
        {"random forest on ECFP (aim floor)": 0.70, "D-MPNN (chemprop)": 0.737, "aim": 0.74},
    ),
    "drug-tox21": Dataset(
        "drug-tox21",
        "molecules/tox21_trainval.csv",
        _TOX21,
        False,
        "Tox21: 12 toxicity assays",
        "probability of being active",
        {"pretrained GNN (Hu et al. 2020)": 0.78, "aim": 0.78},
    ),
    "drug-esol": Dataset(
        "drug-esol",
        "molecules/esol_trainval.csv",
        ("log_solubility_mol_per_L",),
        True,
        "Aqueous solubility (ESOL)",
        "log10(mol/L)",
        {"random forest on ECFP": 1.55, "Delaney's ESOL equation": 1.01, "graph convolution": 0.885, "aim": 0.90},
    ),
}


def dataset_of(name: str) -> Dataset:
    """The data set a molecule model is trained on (InvalidInputError for other names)."""
    if name not in DATASETS:
        raise InvalidInputError(f"'{name}' is not a molecule model; known: {', '.join(DATASETS)}.")
    return DATASETS[name]


def smiles_column(frame: pd.DataFrame) -> str:
    """The column holding SMILES (``smiles``, ``SMILES``, ``canonical_smiles``...)."""
    for column in frame.columns:
        if str(column).strip().lower() in ("smiles", "canonical_smiles", "smile", "structure"):
            return column
    raise InvalidInputError(
        f"No SMILES column among {', '.join(map(str, frame.columns[:12]))}: name it 'smiles' (one molecule per row)."
    )


def read_table(source: bytes | str | Path, name: str = "input") -> pd.DataFrame:
    """A CSV of molecules read in memory (bytes) or from a path.

    Raises:
        InvalidInputError: empty, too large, binary, not a table, no SMILES column, too many rows.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{source}'. Pass a CSV with a 'smiles' column.")
        name, source = path.name, path.read_bytes()
    frame = read_csv_bytes(name, source, MAX_MOLECULES, "Upload a CSV with a 'smiles' column, one molecule per row.")
    if len(frame) == 0:
        raise InvalidInputError(f"'{name}' holds no rows. Add one molecule per row.")
    smiles_column(frame)
    return frame


def labels_of(frame: pd.DataFrame, tasks: tuple[str, ...], name: str = "input") -> np.ndarray:
    """The label columns (N, tasks) as floats (NaN where missing), checked to be 0/1 or numbers.

    Raises:
        InvalidInputError: a missing task column or a non-numeric label (naming the column and row).
    """
    missing = [t for t in tasks if t not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"'{name}' lacks the label column(s) {', '.join(missing)}; expected {', '.join(tasks)} beside 'smiles'."
        )
    out = np.zeros((len(frame), len(tasks)))
    for j, task in enumerate(tasks):
        values = pd.to_numeric(frame[task], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & frame[task].notna().to_numpy())
        if len(bad):
            raise InvalidInputError(
                f"'{name}': column '{task}', row {bad[0] + 1}: '{frame[task].iloc[bad[0]]}' is not a number."
            )
        out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return out
