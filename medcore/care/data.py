"""Read a Synthea CSV export folder into per-patient item events, patients and item descriptions.

An *item* is ``<kind>:<code>`` (kind one of ``procedure``, ``medication``, ``immunization``,
``careplan``, ``condition``; code the Synthea ``CODE`` as a string), and an *event* is the first
date a patient had that item: repeats (yearly flu shots, refills) collapse to the first one,
which is what the recommender's patients x items matrix and its temporal evaluation protocol use.
Dates are whole days counted from 1970-01-01 (timestamps are cut to their UTC day), so items of
one visit share a day whatever the table. Patients come with birth and death days and sex; no
name, address or identifier other than Synthea's random patient UUID is read, and that UUID never
leaves this module's tables (the recommender replaces it by a pseudonym). ``timelines`` turns an
export into the patients x items matrix of first days, and ``temporal_queries`` applies the
recommender evaluation protocol of ARCHITECTURE.md (history before the 80th-percentile cutoff of
each patient's service items, targets at or after it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medcore.core.bundle import sha256_file
from medcore.core.errors import InvalidInputError
from medcore.core.validate import megabytes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ITEM_KINDS",
    "SERVICE_KINDS",
    "SyntheaData",
    "Timelines",
    "TemporalQuery",
    "find_synthea_folder",
    "load_synthea",
    "folder_sha256",
    "timelines",
    "temporal_queries",
    "item_id",
    "split_item_id",
    "encounter_bound_medications",
    "ENCOUNTER_BOUND_SHARE",
]

# Item kind -> (CSV file, accepted date columns in order of preference). Synthea 2.x
# procedures and immunizations use DATE, 3.x procedures use START.
_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "condition": ("conditions.csv", ("START", "DATE")),
    "procedure": ("procedures.csv", ("START", "DATE")),
    "medication": ("medications.csv", ("START", "DATE")),
    "immunization": ("immunizations.csv", ("DATE", "START")),
    "careplan": ("careplans.csv", ("START", "DATE")),
}
_PATIENT_COLUMNS = ("Id", "BIRTHDATE", "GENDER")
_ITEM_COLUMNS = ("PATIENT", "CODE", "DESCRIPTION")

ITEM_KINDS: tuple[str, ...] = ("procedure", "medication", "immunization", "careplan", "condition")
SERVICE_KINDS: tuple[str, ...] = ("procedure", "medication", "immunization", "careplan")
DAYS_PER_YEAR = 365.25
# A medication is not recommended on its own when at least this share of its uses ended in the visit that began them.
ENCOUNTER_BOUND_SHARE = 0.5


def item_id(kind: str, code: str) -> str:
    """The item id ``<kind>:<code>``, e.g. ``item_id("immunization", "140")`` -> ``"immunization:140"``."""
    return f"{kind}:{code}"


def split_item_id(item: str) -> tuple[str, str]:
    """``"procedure:430193006"`` -> ``("procedure", "430193006")``.

    Raises:
        InvalidInputError: the id has no known ``<kind>:`` prefix.
    """
    kind, separator, code = str(item).partition(":")
    if not separator or kind not in ITEM_KINDS or not code:
        raise InvalidInputError(
            f"'{item}' is not an item id; expected '<kind>:<code>' with kind one of {list(ITEM_KINDS)}, "
            "e.g. 'immunization:140'."
        )
    return kind, code


@dataclass(frozen=True)
class SyntheaData:
    """One Synthea export, reduced to what the recommender needs.

    Attributes:
        events: pandas DataFrame with columns ``patient`` (Synthea UUID), ``item``, ``kind``,
            ``code`` and ``day`` (int, days since 1970-01-01): the first day each patient had
            each item, sorted by patient, day and item.
        patients: pandas DataFrame indexed by ``patient`` with ``birth_day``, ``death_day``
            (float, NaN when alive) and ``sex`` ("F" or "M"), sorted by patient id.
        descriptions: item id -> the Synthea DESCRIPTION (the most frequent one of the code, runs of
            whitespace collapsed).
        folder: the folder read, or the name of the uploaded zip.
        encounter_bound: medication item id -> the share of its uses that ended inside the
            encounter that started them (``encounter_bound_medications``); empty when the export
            has no encounters.csv with STOP dates.
    """

    events: pd.DataFrame
    patients: pd.DataFrame
    descriptions: dict[str, str]
    folder: Path | str
    encounter_bound: dict[str, float] = field(default_factory=dict)

    @property
    def end_day(self) -> int:
        """The last day of the export: the latest first-occurrence day of any item."""
        return int(self.events["day"].max())

    def age_years(self, patient: str, day: float) -> float:
        """Age in years of ``patient`` on ``day`` (days since 1970-01-01)."""
        return float((day - self.patients.at[patient, "birth_day"]) / DAYS_PER_YEAR)


def find_synthea_folder(path: Path | str) -> Path:
    """The Synthea CSV folder at or under ``path``.

    Accepts the folder itself, the shared data root holding ``synthea_unmc/``, or an official
    sample-data folder holding ``csv/``.

    Raises:
        InvalidInputError: no folder with ``patients.csv`` was found there.
    """
    path = Path(path)
    for candidate in (path, path / "synthea_unmc", path / "csv", path / "synthea_unmc" / "csv"):
        if (candidate / "patients.csv").is_file():
            return candidate
    if not path.exists():
        raise InvalidInputError(f"No file or folder at '{path}'. Pass a Synthea CSV export folder.")
    raise InvalidInputError(
        f"'{path}' is not a Synthea CSV export folder: no patients.csv in it (nor in synthea_unmc/ or csv/). "
        f"Pass the folder holding patients.csv and {', '.join(table for table, _ in _TABLES.values())}."
    )


def read_synthea_zip(name: str, data: bytes, max_bytes: int) -> dict[str, bytes]:
    """The CSV tables medcore reads from a zipped Synthea export, in memory.

    Args:
        name: the zip's file name, for messages.
        data: the zip's bytes.
        max_bytes: refuse tables that would unpack to more than this (zip-bomb guard).

    Returns:
        file name (``patients.csv``, ``conditions.csv``...) -> bytes, from the first folder in
        the archive that holds ``patients.csv``; ``load_synthea`` reads this like a folder.

    Raises:
        InvalidInputError: not a zip, no ``patients.csv`` in it, or too large unpacked.
    """
    import io
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInputError(f"'{name}' is not a readable zip archive. Zip the Synthea CSV export folder.") from None
    patients = sorted((m.filename for m in archive.infolist() if Path(m.filename).name == "patients.csv"), key=len)
    if not patients:
        raise InvalidInputError(f"'{name}' holds no patients.csv: zip the folder of Synthea's CSV export.")
    prefix = patients[0][: -len("patients.csv")]
    wanted = {"patients.csv", *(file_name for file_name, _ in _TABLES.values())}
    members = [m for m in archive.infolist() if m.filename[len(prefix) :] in wanted and m.filename.startswith(prefix)]
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_bytes:
        raise InvalidInputError(
            f"'{name}' unpacks to {megabytes(unpacked)} of tables; the limit is {megabytes(max_bytes)}. "
            "Export fewer patients."
        )
    try:
        return {m.filename[len(prefix) :]: archive.read(m) for m in members}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise InvalidInputError(f"'{name}' could not be unpacked ({err}). Zip the export again.") from None


def _read_csv(source: Path | dict[str, bytes], file_name: str, required: tuple[str, ...], any_of: tuple[str, ...] = ()):
    import io

    import pandas as pd

    present = file_name in source if isinstance(source, dict) else (source / file_name).is_file()
    if not present:
        where = "uploaded export" if isinstance(source, dict) else f"folder '{source}'"
        raise InvalidInputError(
            f"The Synthea {where} has no {file_name}. A CSV export holds patients.csv, "
            f"{', '.join(table for table, _ in _TABLES.values())}; export all of them (Synthea's "
            "exporter.csv.export = true)."
        )
    path = io.BytesIO(source[file_name]) if isinstance(source, dict) else source / file_name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{file_name} could not be read as CSV ({err}); re-export it from Synthea.") from None
    missing = [column for column in required if column not in frame.columns]
    if any_of and not any(column in frame.columns for column in any_of):
        missing.append(" or ".join(any_of))
    if missing:
        raise InvalidInputError(
            f"{file_name} lacks the column(s) {missing}; its columns are {list(frame.columns)[:12]}. "
            f"Expected Synthea's CSV layout with {list(required) + ([' or '.join(any_of)] if any_of else [])}."
        )
    return frame


def _days(values, file_name: str, column: str) -> np.ndarray:
    """Dates or ISO timestamps -> float days since 1970-01-01 (NaN where empty)."""
    import pandas as pd

    text = pd.Series(values, dtype=str).str.slice(0, 10)
    parsed = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna() & (text != "")
    if bad.any():
        raise InvalidInputError(
            f"{file_name} column {column} has values that are not dates, e.g. {text[bad].iloc[0]!r}; "
            "expected YYYY-MM-DD or an ISO timestamp as Synthea writes them."
        )
    epoch = pd.Timestamp("1970-01-01")
    return ((parsed - epoch) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)


def load_synthea(path: Path | str | dict[str, bytes]) -> SyntheaData:
    """Read a Synthea CSV export.

    Args:
        path: the export folder, a folder holding ``synthea_unmc/`` or ``csv/``, or the tables
            of an uploaded zip (``read_synthea_zip``).

    Returns:
        The patients' first-occurrence item events, demographics and item descriptions.

    Raises:
        InvalidInputError: a required file or column is missing, a date cannot be read, or the
            folder holds no patient with any item.
    """
    import pandas as pd

    folder = path if isinstance(path, dict) else find_synthea_folder(path)
    people = _read_csv(folder, "patients.csv", _PATIENT_COLUMNS)
    sex = people["GENDER"].str.strip().str.upper().str[:1]
    patients = pd.DataFrame(
        {
            "patient": people["Id"].str.strip(),
            "birth_day": _days(people["BIRTHDATE"], "patients.csv", "BIRTHDATE"),
            "death_day": _days(people["DEATHDATE"], "patients.csv", "DEATHDATE")
            if "DEATHDATE" in people.columns
            else np.nan,
            "sex": sex.where(sex.isin(["F", "M"]), ""),
        }
    )
    if patients["birth_day"].isna().any():
        raise InvalidInputError("patients.csv has patients without a BIRTHDATE; every Synthea patient has one.")
    patients = patients.drop_duplicates("patient").set_index("patient").sort_index()

    frames = []
    for kind, (file_name, date_columns) in _TABLES.items():
        table = _read_csv(folder, file_name, _ITEM_COLUMNS, date_columns)
        date_column = next(column for column in date_columns if column in table.columns)
        frame = pd.DataFrame(
            {
                "patient": table["PATIENT"].str.strip(),
                "kind": kind,
                "code": table["CODE"].str.strip(),
                "description": table["DESCRIPTION"].str.split().str.join(" "),
                "day": _days(table[date_column], file_name, date_column),
            }
        )
        frames.append(frame[(frame["code"] != "") & frame["day"].notna()])
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["patient"].isin(patients.index)]
    if rows.empty:
        raise InvalidInputError(
            "The Synthea export holds no condition, procedure, medication, immunization or "
            "care plan of any patient in patients.csv; nothing to learn from or evaluate."
        )
    rows["item"] = rows["kind"] + ":" + rows["code"]
    descriptions = (
        rows.groupby(["item", "description"])
        .size()
        .reset_index(name="count")
        # The most frequent description of a code; ties -> the alphabetically first, for determinism.
        .sort_values(["item", "count", "description"], ascending=[True, False, True])
        .drop_duplicates("item")
    )
    events = (
        rows.groupby(["patient", "item", "kind", "code"], as_index=False)["day"]
        .min()
        .astype({"day": np.int64})
        .sort_values(["patient", "day", "item"], ignore_index=True)
    )
    return SyntheaData(
        events=events,
        patients=patients,
        descriptions=dict(zip(descriptions["item"], descriptions["description"])),
        folder="uploaded export" if isinstance(folder, dict) else folder,
        encounter_bound=encounter_bound_medications(folder),
    )


def encounter_bound_medications(folder: Path | dict[str, bytes]) -> dict[str, float]:
    """Per medication item, the share of its uses that ended inside the encounter that started them.

    A drug given and stopped within one visit (an anaesthetic, a neuromuscular blocker, an IV
    sedative or opioid, procedural heparin, an infusion) belongs to that visit's procedure, not
    to a list of services a patient needs next; the recommender leaves out medications whose
    uses mostly end that way (``ENCOUNTER_BOUND_SHARE``). Read from medications.csv (START,
    STOP, ENCOUNTER, CODE) and encounters.csv (Id, STOP).

    Returns:
        ``{"medication:<code>": share}`` for every medication with at least one use; empty when
        either table or column is missing (the rule is then not applied, and the card says so).
    """
    try:
        medications = _read_csv(folder, "medications.csv", ("START", "STOP", "ENCOUNTER", "CODE"))
        encounters = _read_csv(folder, "encounters.csv", ("Id", "STOP"))
    except InvalidInputError:
        return {}
    import pandas as pd

    ends = dict(zip(encounters["Id"].str.strip(), encounters["STOP"].str.strip()))
    stop = medications["STOP"].str.strip()
    encounter_end = medications["ENCOUNTER"].str.strip().map(ends).fillna("")
    # ISO timestamps compare as text; an open-ended prescription (no STOP) continues after the visit.
    bound = (stop != "") & (encounter_end != "") & (stop <= encounter_end)
    share = pd.DataFrame({"item": "medication:" + medications["CODE"].str.strip(), "bound": bound})
    return share.groupby("item")["bound"].mean().astype(float).to_dict()


def folder_sha256(folder: Path | str | dict[str, bytes]) -> str:
    """One sha256 for the tables a Synthea export contributes: that of the lines ``<file> <sha256>``.

    ``folder`` is a folder or the tables of an uploaded zip; both give the same digest for the
    same tables, so a re-uploaded training set is recognised.
    """
    import hashlib

    names = ["patients.csv"] + [file_name for file_name, _ in _TABLES.values()]
    if isinstance(folder, dict):
        digests = {name: hashlib.sha256(folder.get(name, b"")).hexdigest() for name in names}
    else:
        root = find_synthea_folder(folder)
        digests = {name: sha256_file(root / name) for name in names}
    lines = "".join(f"{name} {digests[name]}\n" for name in names)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Timelines:
    """Patients x items first-occurrence days: the matrix every recommender is fitted on.

    Attributes:
        items: I item ids, sorted (conditions included).
        first_day: float array (P, I), the first day each patient had each item; NaN = never.
        birth_day: float array (P,).
        end_day: float array (P,), the last day the patient was observed (death or end of export).
        sex: array (P,) of "F", "M" or "".
        patients: P Synthea patient ids (kept inside medcore's training code only).
        excluded: item ids never recommended (encounter-bound medications, see
            ``encounter_bound_medications``); they stay in histories and targets.
    """

    items: list[str]
    first_day: np.ndarray
    birth_day: np.ndarray
    end_day: np.ndarray
    sex: np.ndarray
    patients: list[str]
    excluded: tuple[str, ...] = ()

    def subset(self, rows) -> Timelines:
        """The timelines of the patients at ``rows`` (int indices)."""
        rows = np.asarray(rows, dtype=int)
        return Timelines(
            self.items,
            self.first_day[rows],
            self.birth_day[rows],
            self.end_day[rows],
            self.sex[rows],
            [self.patients[r] for r in rows],
            self.excluded,
        )

    @property
    def first_age(self) -> np.ndarray:
        """float array (P, I): age in years at the first occurrence; NaN = never."""
        return (self.first_day - self.birth_day[:, None]) / DAYS_PER_YEAR

    @property
    def end_age(self) -> np.ndarray:
        """float array (P,): age in years at the end of observation."""
        return (self.end_day - self.birth_day) / DAYS_PER_YEAR


def timelines(data: SyntheaData) -> Timelines:
    """The patients x items first-day matrix of an export (patients with at least one item)."""
    items = sorted(data.events["item"].unique())
    column = {item: j for j, item in enumerate(items)}
    patients = sorted(data.events["patient"].unique())
    row = {patient: i for i, patient in enumerate(patients)}
    first_day = np.full((len(patients), len(items)), np.nan)
    events = data.events
    first_day[events["patient"].map(row).to_numpy(), events["item"].map(column).to_numpy()] = events["day"].to_numpy()
    people = data.patients.loc[patients]
    death = people["death_day"].to_numpy(dtype=np.float64)
    return Timelines(
        items=items,
        first_day=first_day,
        birth_day=people["birth_day"].to_numpy(dtype=np.float64),
        end_day=np.where(np.isnan(death), data.end_day, np.minimum(death, data.end_day)),
        sex=people["sex"].to_numpy(dtype=object).astype(str),
        patients=patients,
        excluded=tuple(item for item in items if data.encounter_bound.get(item, 0.0) >= ENCOUNTER_BOUND_SHARE),
    )


@dataclass(frozen=True)
class TemporalQuery:
    """One patient of the evaluation protocol.

    Attributes:
        patient: row index into the ``Timelines`` it came from.
        history: item ids first seen before the cutoff (conditions included), in time order.
        targets: service item ids first seen at or after the cutoff.
        age: age in years at the cutoff.
        sex: "F", "M" or "".
        cutoff_day: the cutoff (days since 1970-01-01; may be fractional).
    """

    patient: int
    history: list[str]
    targets: list[str]
    age: float
    sex: str
    cutoff_day: float


MIN_SERVICE_ITEMS = 5
MIN_HISTORY_ITEMS = 2
CUTOFF_PERCENTILE = 80.0


def temporal_queries(cohort: Timelines) -> tuple[list[TemporalQuery], int]:
    """Apply the recommender evaluation protocol (ARCHITECTURE.md) to every patient.

    Per patient: cutoff = 80th percentile (NumPy's linear interpolation) of the first days of
    the patient's service items; history = every item first seen before the cutoff; targets =
    service items first seen at or after it. Patients with fewer than 5 service items, fewer
    than 2 history items or no target are skipped.

    Returns:
        ``(queries, skipped)``: one query per kept patient, in patient order, and how many
        patients were skipped.
    """
    items = np.asarray(cohort.items)
    service = np.array([item.split(":", 1)[0] in SERVICE_KINDS for item in cohort.items])
    queries, skipped = [], 0
    for row, days in enumerate(cohort.first_day):
        seen = ~np.isnan(days)
        service_days = days[seen & service]
        if len(service_days) < MIN_SERVICE_ITEMS:
            skipped += 1
            continue
        cutoff = float(np.percentile(service_days, CUTOFF_PERCENTILE))
        before = np.flatnonzero(seen & (days < cutoff))
        after = np.flatnonzero(seen & service & (days >= cutoff))
        if len(before) < MIN_HISTORY_ITEMS or len(after) == 0:
            skipped += 1
            continue
        before = before[np.lexsort((before, days[before]))]
        after = after[np.lexsort((after, days[after]))]
        queries.append(
            TemporalQuery(
                patient=row,
                history=items[before].tolist(),
                targets=items[after].tolist(),
                age=float((cutoff - cohort.birth_day[row]) / DAYS_PER_YEAR),
                sex=str(cohort.sex[row]),
                cutoff_day=cutoff,
            )
        )
    return queries, skipped
