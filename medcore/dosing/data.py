"""The IWPC warfarin data: column names, readers that refuse implausible values, and the patient factors.

``read_frame`` reads a CSV (path or bytes) or a DataFrame with IWPC column names and refuses
values no patient has (an age of 300, a weight of 0 kg, an unknown genotype), naming the column
and row. ``factors`` turns rows into the factors every dosing model reads: age in decades,
height, weight (missing ones imputed with the training medians, and flagged), race, CYP2C9 and
VKORC1 -1639 genotypes (a missing -1639 imputed from the other VKORC1 SNPs by the IWPC's rules),
enzyme inducers, amiodarone and the other recorded clinical factors.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.core.tables import read_csv_bytes

__all__ = [
    "DATA_FILE",
    "DOSE",
    "AGE",
    "HEIGHT",
    "WEIGHT",
    "RACE",
    "CYP2C9",
    "VKORC1",
    "AGE_BINS",
    "RACES",
    "CYP2C9_TYPES",
    "VKORC1_TYPES",
    "NOT_TESTED",
    "BINARY",
    "MAX_PATIENTS",
    "read_frame",
    "impute_vkorc1",
    "factors",
    "FACTOR_NAMES",
]

DATA_FILE = "pharmacogenomics/warfarin_train.csv"
DOSE = "Therapeutic Dose of Warfarin"
AGE, HEIGHT, WEIGHT, GENDER, RACE = "Age", "Height (cm)", "Weight (kg)", "Gender", "Race (OMB)"
CYP2C9, VKORC1 = "CYP2C9 consensus", "VKORC1 -1639 consensus"
VKORC1_2255, VKORC1_1173, VKORC1_1542 = "VKORC1 2255 consensus", "VKORC1 1173 consensus", "VKORC1 1542 consensus"
INDICATION, TARGET_INR = "Indication for Warfarin Treatment", "Target INR"
AMIODARONE = "Amiodarone (Cordarone)"
INDUCERS = ("Carbamazepine (Tegretol)", "Phenytoin (Dilantin)", "Rifampin or Rifampicin")
BINARY = (
    AMIODARONE,
    *INDUCERS,
    "Aspirin",
    "Simvastatin (Zocor)",
    "Atorvastatin (Lipitor)",
    "Sulfonamide Antibiotics",
    "Macrolide Antibiotics",
    "Anti-fungal Azoles",
    "Current Smoker",
    "Diabetes",
    "Congestive Heart Failure and/or Cardiomyopathy",
    "Valve Replacement",
)
AGE_BINS = ("10 - 19", "20 - 29", "30 - 39", "40 - 49", "50 - 59", "60 - 69", "70 - 79", "80 - 89", "90+")
RACES = ("White", "Asian", "Black or African American", "Unknown")
CYP2C9_TYPES = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3", "*1/*5", "*1/*6", "*1/*11", "*1/*13", "*1/*14")
VKORC1_TYPES = ("G/G", "A/G", "A/A")
NOT_TESTED = "not tested"  # a genotype nobody measured: the form's choice, an empty cell or these words in a CSV
_OTHER_SNPS = {
    VKORC1_2255: ("C/C", "C/T", "T/T"),
    VKORC1_1173: ("C/C", "C/T", "T/T"),
    VKORC1_1542: ("G/G", "C/G", "C/C"),
}
PLAUSIBLE = {HEIGHT: (100.0, 230.0), WEIGHT: (20.0, 300.0), TARGET_INR: (1.0, 5.0), DOSE: (0.5, 400.0)}
MAX_PATIENTS = 20_000
_INDICATIONS = {
    1: "DVT",
    2: "PE",
    3: "AF/flutter",
    4: "heart valve",
    5: "cardiomyopathy",
    6: "stroke",
    7: "post-orthopaedic",
    8: "other",
}

FACTOR_NAMES = (
    "age_decades",
    "height_cm",
    "weight_kg",
    "vkorc1_AG",
    "vkorc1_AA",
    "vkorc1_unknown",
    "cyp2c9_12",
    "cyp2c9_13",
    "cyp2c9_22",
    "cyp2c9_23",
    "cyp2c9_33",
    "cyp2c9_unknown",
    "asian",
    "black",
    "race_unknown",
    "enzyme_inducer",
    "amiodarone",
    "female",
    "height_missing",
    "weight_missing",
    *(f"indication_{name}" for name in _INDICATIONS.values()),
    "target_inr",
    *(re.sub(r"[^a-z]+", "_", c.split(" (")[0].lower()).strip("_") for c in BINARY[4:]),
)


def _row_error(name: str, column: str, row: int, value, expected: str) -> InvalidInputError:
    return InvalidInputError(
        f"'{name}' column '{column}', row {row + 1}: {value!r} is not {expected}. Correct the value or leave it "
        "empty (unknown)."
    )


def read_frame(source, name: str = "input", require_dose: bool = False) -> pd.DataFrame:
    """Patients with IWPC column names, checked (path, CSV bytes, a DataFrame or a list of dicts).

    Missing values (empty, ``NA``) are allowed everywhere, as in the data; a genotype may also read
    "not tested", as the form says.

    Raises:
        InvalidInputError: unreadable, no known column, too many rows, or a value outside what a
            patient can have (the column and row are named).
    """
    if isinstance(source, (str, Path)) and Path(source).is_file():
        name, source = Path(source).name, Path(source).read_bytes()
    if isinstance(source, (bytes, bytearray)):
        frame = read_csv_bytes(name, bytes(source), MAX_PATIENTS, "Save the patients as CSV with IWPC column names.")
    elif isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, (list, tuple)) and all(isinstance(r, dict) for r in source):
        frame = pd.DataFrame(list(source))
    elif isinstance(source, dict):
        frame = pd.DataFrame([source])
    else:
        raise InvalidInputError(
            f"Expected a CSV file, its bytes, a DataFrame or a dict of IWPC columns; got {type(source).__name__}."
        )
    if len(frame) == 0:
        raise InvalidInputError(f"'{name}' holds no patients.")
    if len(frame) > MAX_PATIENTS:
        raise InvalidInputError(f"'{name}' holds more than {MAX_PATIENTS:,} patients; split it.")
    known = [c for c in (AGE, HEIGHT, WEIGHT, RACE, CYP2C9, VKORC1, DOSE) if c in frame.columns]
    if not known:
        raise InvalidInputError(
            f"'{name}' has none of the IWPC columns ({AGE}, {HEIGHT}, {WEIGHT}, {RACE}, {CYP2C9}, {VKORC1}). "
            "Use the column names of the IWPC data set."
        )
    if require_dose and DOSE not in frame.columns:
        raise InvalidInputError(f"'{name}' has no '{DOSE}' column (mg/week), so there is nothing to compare with.")
    frame = frame.replace({"": np.nan, "NA": np.nan})
    for column in (CYP2C9, VKORC1, *_OTHER_SNPS):  # the form's words for a missing genotype mean the same in a CSV
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: np.nan if str(v).strip().lower() == NOT_TESTED else v)
    for column, allowed in (
        (AGE, AGE_BINS),
        (RACE, RACES),
        (CYP2C9, CYP2C9_TYPES),
        (VKORC1, VKORC1_TYPES),
        *_OTHER_SNPS.items(),
    ):
        if column in frame.columns:
            for row, value in enumerate(frame[column]):
                if pd.notna(value) and str(value).strip() not in allowed:
                    raise _row_error(name, column, row, value, "one of " + ", ".join(allowed))
            frame[column] = frame[column].map(lambda v: str(v).strip() if pd.notna(v) else np.nan)
    if GENDER in frame.columns:
        for row, value in enumerate(frame[GENDER]):
            if pd.notna(value) and str(value).strip().lower() not in ("male", "female"):
                raise _row_error(name, GENDER, row, value, "male or female")
    for column, (low, high) in PLAUSIBLE.items():
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            for row, (raw, value) in enumerate(zip(frame[column], numbers)):
                if pd.notna(raw) and (value != value or not low <= value <= high):
                    raise _row_error(name, column, row, raw, f"a number from {low:g} to {high:g}")
            frame[column] = numbers
    for column in BINARY:
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            for row, (raw, value) in enumerate(zip(frame[column], numbers)):
                if pd.notna(raw) and value not in (0, 1):
                    raise _row_error(name, column, row, raw, "0 (no) or 1 (yes)")
            frame[column] = numbers
    return frame.reset_index(drop=True)


def impute_vkorc1(frame: pd.DataFrame) -> pd.Series:
    """VKORC1 -1639 with the IWPC's imputation (NEJM 2009 appendix S4) where it is missing.

    rs9934438 (1173) C/C, C/T, T/T -> G/G, A/G, A/A in every race; rs2359612 (2255) C/C, C/T, T/T ->
    G/G, A/G, A/A and rs8050894 (1542) G/G, C/G, C/C -> G/G, A/G, A/A except in Black or unknown race.
    """
    out = frame[VKORC1].copy() if VKORC1 in frame.columns else pd.Series([np.nan] * len(frame), index=frame.index)
    race = frame[RACE] if RACE in frame.columns else pd.Series([np.nan] * len(frame), index=frame.index)
    not_black = ~race.isin(["Black or African American", "Unknown"]) & race.notna()
    rules = (
        (VKORC1_2255, not_black, {"C/C": "G/G", "C/T": "A/G", "T/T": "A/A"}),
        (VKORC1_1173, pd.Series(True, index=frame.index), {"C/C": "G/G", "C/T": "A/G", "T/T": "A/A"}),
        (VKORC1_1542, not_black, {"G/G": "G/G", "C/G": "A/G", "C/C": "A/A"}),
    )
    for column, allowed, mapping in rules:
        if column in frame.columns:
            fill = out.isna() & allowed & frame[column].isin(list(mapping))
            out[fill] = frame.loc[fill, column].map(mapping)
    return out


def _indications(value) -> set[int]:
    if value != value:
        return set()
    return {int(n) for n in re.findall(r"\d", str(value)) if 1 <= int(n) <= 8}


def factors(frame: pd.DataFrame, medians: dict[str, float]) -> pd.DataFrame:
    """The patient factors (``FACTOR_NAMES``) of checked rows; missing height/weight get ``medians``."""
    n = len(frame)

    def column(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series([np.nan] * n, index=frame.index)

    age = column(AGE).map(lambda v: float(AGE_BINS.index(v) + 1) if v in AGE_BINS else np.nan)
    out = pd.DataFrame(index=frame.index)
    out["age_decades"] = age.fillna(medians["age_decades"])
    for name, key in ((HEIGHT, "height_cm"), (WEIGHT, "weight_kg")):
        values = pd.to_numeric(column(name), errors="coerce")
        out[key] = values.fillna(medians[key])
    vk = impute_vkorc1(frame)
    out["vkorc1_AG"] = (vk == "A/G").astype(float)
    out["vkorc1_AA"] = (vk == "A/A").astype(float)
    out["vkorc1_unknown"] = vk.isna().astype(float)
    cyp = column(CYP2C9)
    for key, value in (("12", "*1/*2"), ("13", "*1/*3"), ("22", "*2/*2"), ("23", "*2/*3"), ("33", "*3/*3")):
        out[f"cyp2c9_{key}"] = (cyp == value).astype(float)
    # the IWPC's "unknown" is a missing genotype; rare alleles (*5, *6, *11 ...) count as unknown too
    out["cyp2c9_unknown"] = (~cyp.isin(["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"])).astype(float)
    race = column(RACE)
    out["asian"] = (race == "Asian").astype(float)
    out["black"] = (race == "Black or African American").astype(float)
    out["race_unknown"] = (~race.isin(["White", "Asian", "Black or African American"])).astype(float)
    out["enzyme_inducer"] = (sum(column(c).fillna(0) for c in INDUCERS) > 0).astype(float)
    out["amiodarone"] = column(AMIODARONE).fillna(0).astype(float)
    out["female"] = (column(GENDER).astype(str).str.lower() == "female").astype(float)
    out["height_missing"] = column(HEIGHT).isna().astype(float)
    out["weight_missing"] = column(WEIGHT).isna().astype(float)
    indications = column(INDICATION).map(_indications)
    for code, name in _INDICATIONS.items():
        out[f"indication_{name}"] = indications.map(lambda s, c=code: float(c in s))
    out["target_inr"] = pd.to_numeric(column(TARGET_INR), errors="coerce").fillna(medians["target_inr"])
    for raw, key in zip(BINARY[4:], FACTOR_NAMES[-len(BINARY[4:]) :]):
        out[key] = column(raw).fillna(0).astype(float)
    return out[list(FACTOR_NAMES)].astype(float)
