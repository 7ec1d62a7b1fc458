"""The three survival cohorts: their covariates, and readers that refuse bad rows by column and row.

``COHORTS`` describes each shipped model's input: every covariate's name (the CSV column),
type, unit, plausible range (values outside it are impossible or data-entry errors and are
refused), description and, for nominal codes, the category names. ``read_frame`` turns a
CSV (path, bytes) or a pandas frame into a clean float frame of those columns, or raises
``InvalidInputError`` naming the column and row that is wrong. ``design_matrix`` encodes a
clean frame for the risk functions: log1p for skewed lab values, one-hot for nominal codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.core.tables import read_csv_bytes as read_csv_bytes_in_core

__all__ = [
    "Covariate",
    "Cohort",
    "COHORTS",
    "MAX_ROWS",
    "cohort_of",
    "read_csv_bytes",
    "read_frame",
    "read_labelled",
    "value_problems",
    "expected_text",
    "design_matrix",
    "design_columns",
]

MAX_ROWS = 100_000  # patients in one file; more is refused (split the file)


@dataclass(frozen=True)
class Covariate:
    """One input column of a survival model."""

    name: str
    type: str  # "binary", "integer", "continuous" or "categorical" (nominal codes)
    unit: str
    range: tuple[float, float]  # plausible values; outside is refused
    description: str
    categories: dict[int, str] = field(default_factory=dict)  # code -> meaning (categorical)
    transform: str = ""  # "log1p" for skewed, non-negative lab values
    treatment: bool = False  # offered as a what-if toggle

    def as_dict(self) -> dict:
        """JSON-ready form (as stored in a card)."""
        out = asdict(self)
        out["range"] = list(self.range)
        out["categories"] = {str(k): v for k, v in self.categories.items()}
        return out


@dataclass(frozen=True)
class Cohort:
    """A training cohort: its file, what the event is, the time unit and horizons."""

    model: str
    file: str
    title: str
    event: str
    time_unit: str
    horizons: tuple[float, ...]  # 1, 3 and 5 years in the time unit
    covariates: tuple[Covariate, ...]
    dataset: str
    published_c: dict[str, float] = field(default_factory=dict)  # test-part C of the DeepSurv paper


_YES_NO = {0: "no", 1: "yes"}
COHORTS: dict[str, Cohort] = {
    "survival-gbsg": Cohort(
        "survival-gbsg",
        "survival/rotterdam_gbsg_train.csv",
        "Breast cancer, node-positive: relapse-free survival",
        "relapse or death",
        "months",
        (12.0, 36.0, 60.0),
        (
            Covariate("hormone_therapy", "binary", "", (0, 1), "Hormonal therapy given", _YES_NO, treatment=True),
            Covariate(
                "tumor_size_cat",
                "integer",
                "group",
                (0, 2),
                "Tumour size group",
                {0: "≤20 mm", 1: "21-50 mm", 2: ">50 mm"},
            ),
            Covariate("postmenopausal", "binary", "", (0, 1), "Post-menopausal", _YES_NO),
            Covariate("age", "continuous", "years", (18, 110), "Age at surgery"),
            Covariate("positive_nodes", "integer", "nodes", (0, 100), "Number of positive lymph nodes"),
            Covariate(
                "progesterone_receptor",
                "continuous",
                "fmol/l",
                (0, 10_000),
                "Progesterone receptor",
                transform="log1p",
            ),
            Covariate(
                "estrogen_receptor", "continuous", "fmol/l", (0, 10_000), "Oestrogen receptor", transform="log1p"
            ),
        ),
        "Rotterdam tumour bank, node-positive patients (DeepSurv train part of Rotterdam/GBSG)",
        {"DeepSurv": 0.668, "random survival forest": 0.68},
    ),
    "survival-metabric": Cohort(
        "survival-metabric",
        "survival/metabric_train.csv",
        "Breast cancer (METABRIC): overall survival",
        "death from any cause",
        "months",
        (12.0, 36.0, 60.0),
        (
            Covariate("egfr_expr", "continuous", "log2 intensity", (0, 20), "EGFR mRNA expression"),
            Covariate("pgr_expr", "continuous", "log2 intensity", (0, 20), "PGR mRNA expression"),
            Covariate("erbb2_expr", "continuous", "log2 intensity", (0, 20), "ERBB2 (HER2) mRNA expression"),
            Covariate("mki67_expr", "continuous", "log2 intensity", (0, 20), "MKI67 (Ki-67) mRNA expression"),
            Covariate("hormone_therapy", "binary", "", (0, 1), "Received hormone therapy", _YES_NO, treatment=True),
            Covariate("radiotherapy", "binary", "", (0, 1), "Received radiotherapy", _YES_NO, treatment=True),
            Covariate("chemotherapy", "binary", "", (0, 1), "Received chemotherapy", _YES_NO, treatment=True),
            Covariate("er_positive", "binary", "", (0, 1), "Oestrogen-receptor positive", _YES_NO),
            Covariate("age", "continuous", "years", (18, 110), "Age at diagnosis"),
        ),
        "METABRIC (DeepSurv train part)",
        {"DeepSurv": 0.643, "random survival forest": 0.64},
    ),
    "survival-support": Cohort(
        "survival-support",
        "survival/support_train.csv",
        "Seriously ill hospitalised adults (SUPPORT): survival",
        "death",
        "days",
        (365.0, 1095.0, 1825.0),
        (
            Covariate("age", "continuous", "years", (18, 110), "Age"),
            Covariate("sex_female", "binary", "", (0, 1), "Sex", {0: "male", 1: "female"}),
            Covariate("num_comorbidities", "integer", "", (0, 9), "Number of comorbidities"),
            Covariate(
                "race",
                "categorical",
                "",
                (0, 5),
                "Race",
                {0: "other", 1: "white", 2: "black", 3: "hispanic", 4: "asian", 5: "missing"},
            ),
            Covariate("diabetes", "binary", "", (0, 1), "Diabetes", _YES_NO),
            Covariate("dementia", "binary", "", (0, 1), "Dementia", _YES_NO),
            Covariate(
                "cancer",
                "categorical",
                "",
                (0, 2),
                "Cancer status",
                {0: "metastatic cancer", 1: "no cancer", 2: "cancer, not metastatic"},
            ),
            Covariate("mean_bp", "continuous", "mmHg", (0, 300), "Mean arterial blood pressure (study day 3)"),
            Covariate("heart_rate", "continuous", "beats/min", (0, 350), "Heart rate"),
            Covariate("resp_rate", "continuous", "breaths/min", (0, 120), "Respiration rate"),
            Covariate("temperature", "continuous", "°C", (25, 45), "Body temperature"),
            Covariate("sodium", "continuous", "mEq/l", (90, 210), "Serum sodium"),
            Covariate("wbc", "continuous", "10^3/µl", (0, 500), "White blood cell count", transform="log1p"),
            Covariate("creatinine", "continuous", "mg/dl", (0, 40), "Serum creatinine", transform="log1p"),
        ),
        "SUPPORT (DeepSurv train part)",
        {"DeepSurv": 0.618, "random survival forest": 0.62},
    ),
}


def cohort_of(name: str) -> Cohort:
    """The cohort a survival model is trained on.

    Raises:
        InvalidInputError: not a survival model name (the message lists them).
    """
    if name not in COHORTS:
        raise InvalidInputError(f"'{name}' is not a survival model; known: {', '.join(COHORTS)}.")
    return COHORTS[name]


def read_csv_bytes(name: str, data: bytes) -> pd.DataFrame:
    """A CSV upload of patients read in memory (``medcore.core.tables.read_csv_bytes``)."""
    return read_csv_bytes_in_core(name, data, MAX_ROWS, "Upload a CSV with one row per patient and a header row.")


def read_frame(source: pd.DataFrame | bytes | str | Path, covariates: tuple[Covariate, ...], name: str = "input"):
    """The covariate columns of ``source`` as a clean float frame, checked row by row.

    Args:
        source: a DataFrame, a list of row dicts, CSV bytes or a CSV path.
        covariates: the model's covariates (``Cohort.covariates``).
        name: what to call the input in messages.

    Returns:
        DataFrame with exactly the covariate columns (float64), in order; other columns dropped.

    Raises:
        InvalidInputError: no rows, too many rows, a missing column, a value that is not a
            number, missing, not whole where it must be, or outside the plausible range (the
            message names the column, the row and the allowed range).
    """
    frame = _as_frame(source, name)
    if len(frame) == 0:
        raise InvalidInputError(f"{name} holds no patients (no data rows). Add one row per patient.")
    if len(frame) > MAX_ROWS:
        raise InvalidInputError(f"{name} holds more than {MAX_ROWS:,} patients; split it into smaller files.")
    names = [c.name for c in covariates]
    repeated = sorted({str(c) for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise InvalidInputError(f"{name} has the column(s) {', '.join(repeated)} more than once; keep one of each.")
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{name} lacks the column(s) {', '.join(missing)}. Expected columns: {', '.join(names)} "
            "(the column names of the training CSV)."
        )
    clean = pd.DataFrame(index=range(len(frame)))
    for covariate in covariates:
        clean[covariate.name] = _checked_column(frame[covariate.name].reset_index(drop=True), covariate, name)
    return clean


def _as_frame(source, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (bytes, bytearray)):
        return read_csv_bytes(name, bytes(source))
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{source}'. Pass a CSV with one row per patient.")
        return read_csv_bytes(path.name, path.read_bytes())
    if isinstance(source, dict):
        return pd.DataFrame([source])
    if isinstance(source, list) and all(isinstance(row, dict) for row in source):
        return pd.DataFrame(source)
    raise InvalidInputError(
        f"{name} is a {type(source).__name__}; pass a pandas DataFrame, a list of row dicts or a CSV file."
    )


def value_problems(values: pd.Series, covariate: Covariate) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """One column's values as float64 and its checks: ``(numbers, [(bad rows mask, problem in words)])``.

    The checks, in order: not a number, missing, outside the plausible range, not whole (for
    binary, integer and coded columns), not one of the codes. A row can fail several; the first
    one that applies is the one to tell the user.
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    low, high = covariate.range
    bad_text = np.isnan(numbers) & values.notna().to_numpy()
    checks = [
        (bad_text, "is not a number"),
        (np.isnan(numbers) | ~np.isfinite(numbers), "is missing"),
        (
            (numbers < low) | (numbers > high),
            f"is outside the plausible range {low:g}-{high:g} {covariate.unit}".rstrip(),
        ),
    ]
    if covariate.type in ("binary", "integer", "categorical"):
        with np.errstate(invalid="ignore"):  # infinities were refused above
            checks.append((np.abs(numbers - np.round(numbers)) > 1e-6, "must be a whole number"))
    if covariate.categories:
        checks.append(
            (~np.isin(np.round(numbers), list(covariate.categories)), f"must be one of {covariate.categories}")
        )
    return numbers, checks


def expected_text(covariate: Covariate) -> str:
    """What a column must hold, in words: 'Age at surgery, years, 18-110'."""
    low, high = covariate.range
    return covariate.description + (f", {covariate.unit}" if covariate.unit else "") + f", {low:g}-{high:g}"


def _checked_column(values: pd.Series, covariate: Covariate, name: str) -> np.ndarray:
    """One column as float64, or InvalidInputError naming the first bad row (1 = first data row)."""
    numbers, checks = value_problems(values, covariate)
    for mask, problem in checks:
        rows = np.flatnonzero(mask)
        if len(rows):
            shown = str(values.iloc[rows[0]])
            more = f" ({len(rows) - 1} more row(s) alike)" if len(rows) > 1 else ""
            raise InvalidInputError(
                f"{name}: column '{covariate.name}', row {rows[0] + 1}: the value {shown!r} {problem}{more}. "
                f"Expected: {expected_text(covariate)}."
            )
    return numbers


def read_labelled(source, cohort: Cohort, name: str = "input") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Covariates plus ``duration`` and ``event`` (a labelled file for training or evaluation).

    Returns:
        ``(covariates, duration (N,), event (N,) bool)``.

    Raises:
        InvalidInputError: as ``read_frame``, plus missing/negative/non-numeric durations and
            events other than 0/1 (naming the row).
    """
    frame = _as_frame(source, name)
    missing = [c for c in ("duration", "event") if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{name} lacks the column(s) {', '.join(missing)}: a labelled file needs 'duration' (time to the "
            f"event or censoring, in {cohort.time_unit}) and 'event' (1 = {cohort.event}, 0 = censored)."
        )
    covariates = read_frame(frame, cohort.covariates, name)
    duration = _checked_column(
        frame["duration"].reset_index(drop=True),
        Covariate("duration", "continuous", cohort.time_unit, (0, 1e6), f"time to {cohort.event} or censoring"),
        name,
    )
    event = _checked_column(
        frame["event"].reset_index(drop=True),
        Covariate("event", "binary", "", (0, 1), f"1 = {cohort.event}, 0 = censored", _YES_NO),
        name,
    )
    if not event.any():
        raise InvalidInputError(f"{name} has no events (every 'event' is 0): survival metrics need some events.")
    return covariates, duration, event.astype(bool)


def design_columns(covariates: tuple[Covariate, ...]) -> list[str]:
    """Names of the encoded columns ``design_matrix`` returns."""
    columns = []
    for covariate in covariates:
        if covariate.type == "categorical":
            columns += [f"{covariate.name}={code}" for code in sorted(covariate.categories)]
        else:
            columns.append(f"log1p({covariate.name})" if covariate.transform == "log1p" else covariate.name)
    return columns


def design_matrix(frame: pd.DataFrame, covariates: tuple[Covariate, ...]) -> np.ndarray:
    """Encode clean covariates (``read_frame`` output) as float32 (N, len(design_columns))."""
    parts = []
    for covariate in covariates:
        values = frame[covariate.name].to_numpy(dtype=np.float64)
        if covariate.type == "categorical":
            codes = sorted(covariate.categories)
            parts.append((np.round(values)[:, None] == np.array(codes)[None, :]).astype(np.float64))
        elif covariate.transform == "log1p":
            parts.append(np.log1p(np.maximum(values, 0.0))[:, None])
        else:
            parts.append(values[:, None])
    return np.concatenate(parts, axis=1).astype(np.float32)
