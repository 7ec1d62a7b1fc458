"""The care plan's rules: guideline care gaps, the filter on collaborative suggestions, lifestyle advice.

The rules are data (``medcore/care/tables/*.csv``, copied into the bundle at training), one row
per rule with its source. This module only reads them and evaluates them for one patient:

- ``groups.csv``: which item ids make a clinical group (``diabetes``, ``statin``, ``live_vaccine``...);
- ``care_gaps.csv``: who needs what, how often (``every_months``, or ``season`` for flu and COVID:
  from 1 August) or how many doses by which age (``doses`` ``"age:n age:n"``, counted from
  ``given_from_age``, at least 24 days apart, fewer after a late start ``catch_up``), and which
  items show it was done (``done_by``; ``item@months`` overrides the interval for that item,
  ``group:NAME`` any item of a group);
- ``never.csv``: what the collaborative suggestions must never offer, and when (``unless_due``:
  a category rule that yields when the item closes a due gap);
- ``advice.csv``: how to live, by condition and lifestyle.

A rule's ``who`` / ``when`` column is a small expression: clauses separated by `` ; `` (any
clause), atoms within a clause by `` & `` (all atoms). Atoms: ``always``, ``has:g1|g2``,
``lacks:g1|g2``, ``recent:g1|g2@12`` (an item of the group within 12 months, or undated),
``sex=F``, ``pregnant``, ``not_pregnant``, ``smoking=current|former``, and
comparisons ``age>=N``, ``bmi<30``, ``pack_years>=20``, ``quit_years<=15``, ``activity<150``,
``alcohol>14``, ``sleep<7``. A comparison on an unknown value is false.
"""

from __future__ import annotations

import csv
import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from medcore.core.errors import InvalidInputError

__all__ = [
    "TABLES",
    "ALIASES",
    "LIFESTYLE_FIELDS",
    "Patient",
    "read_tables",
    "check_lifestyle",
    "holds",
    "care_gaps",
    "season_start",
    "blocked_by",
    "advice",
]

TABLES_DIR = Path(__file__).parent / "tables"
TABLES = ("groups", "care_gaps", "never", "advice")
# Lifestyle inputs: name -> (low, high, unit) for numbers; smoking is a word.
LIFESTYLE_FIELDS: dict[str, tuple[float, float, str]] = {
    "pack_years": (0, 200, "pack-years"),
    "quit_years": (0, 100, "years since quitting"),
    "height_cm": (40, 250, "cm"),
    "weight_kg": (2, 400, "kg"),
    "bmi": (8, 100, "kg/m²"),
    "activity": (0, 5040, "minutes of moderate activity a week"),
    "alcohol": (0, 300, "units of alcohol a week"),
    "sleep": (0, 24, "hours of sleep a night"),
}
SMOKING = ("never", "former", "current")
# Other names callers use for the same fields (after lower-casing; spaces and hyphens become "_").
ALIASES = {
    "smoking_status": "smoking",
    "smoker": "smoking",
    "packyears": "pack_years",
    "years_since_quitting": "quit_years",
    "quit_years_ago": "quit_years",
    "height": "height_cm",
    "weight": "weight_kg",
    "activity_minutes": "activity",
    "activity_min_week": "activity",
    "activity_minutes_per_week": "activity",
    "exercise_minutes_per_week": "activity",
    "physical_activity": "activity",
    "alcohol_units": "alcohol",
    "alcohol_units_week": "alcohol",
    "alcohol_units_per_week": "alcohol",
    "sleep_hours": "sleep",
    "sleep_hours_per_night": "sleep",
}
_SMOKING_WORDS = {
    "ex": "former",
    "ex-smoker": "former",
    "quit": "former",
    "yes": "current",
    "no": "never",
    "non-smoker": "never",
}
_COMPARISON = re.compile(r"^([a-z_]+)(>=|<=|>|<|=)(.+)$")


def read_tables(folder: Path = TABLES_DIR) -> dict[str, list[dict]]:
    """Every rule table as a list of rows (strings stripped); each row must name its source."""
    tables = {}
    for name in TABLES:
        with open(Path(folder) / f"{name}.csv", encoding="utf-8", newline="") as handle:
            rows = [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]
        missing = [row for row in rows if not row.get("source")]
        if missing:
            raise ValueError(f"{name}.csv: {len(missing)} row(s) without a source, e.g. {missing[0]}")
        tables[name] = rows
    return tables


@dataclass
class Patient:
    """What the rules see of one patient.

    ``doses`` maps every item id of the history to its dates (``None`` where not known), one
    entry per time it was given, so vaccine doses can be counted.
    """

    age: float | None
    sex: str | None
    doses: dict[str, list[date | None]]
    groups: set[str]
    lifestyle: dict = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    group_days: dict[str, list[date | None]] = field(default_factory=dict)

    @property
    def pregnant(self) -> bool:
        """An explicit ``lifestyle.pregnant`` wins; else a current pregnancy in the record."""
        if "pregnant" in self.lifestyle:
            return bool(self.lifestyle["pregnant"])
        return "pregnancy" in self.groups

    def value(self, name: str):
        if name == "age":
            return self.age
        if name == "sex":
            return self.sex
        if name == "smoking":
            return self.lifestyle.get("smoking")
        return self.lifestyle.get(name)

    def age_at(self, day: date | None) -> float | None:
        """The patient's age on ``day`` (None when the date or the age is unknown).

        A whole-number age from 1 year (``5``) means 5 to 6 years; its upper end is used, so a dose
        is never refused or dropped as too early because the age was rounded down.
        """
        if day is None or self.age is None:
            return None
        age = self.age + 0.99 if self.age >= 1 and float(self.age).is_integer() else self.age
        return age - (self.today - day).days / 365.25

    def recent(self, group: str, months: float) -> bool:
        """A member of ``group`` dated within ``months`` (or undated: it may be recent)."""
        days = self.group_days.get(group, [])
        return any(day is None or (self.today - day).days <= months * 30.4375 for day in days)


def check_lifestyle(lifestyle) -> dict:
    """Validate lifestyle inputs; BMI is computed from height and weight when not given.

    Raises:
        InvalidInputError: naming the field, for unknown fields, wrong types or impossible values.
    """
    if lifestyle is None:
        return {}
    if not isinstance(lifestyle, dict):
        raise InvalidInputError(
            f"lifestyle must be a dict such as {{'smoking': 'current', 'pack_years': 25, 'bmi': 31}}; "
            f"got {type(lifestyle).__name__}."
        )
    known = set(LIFESTYLE_FIELDS) | {"smoking", "pregnant"}
    named = {}
    for key, value in lifestyle.items():
        name = str(key).strip().lower().replace("-", "_").replace(" ", "_")
        name = ALIASES.get(name, name)
        if name in named:
            raise InvalidInputError(f"lifestyle: {name} is given twice (as {key!r} and another name); give it once.")
        named[name] = value
    lifestyle = named
    unknown = sorted(set(lifestyle) - known)
    if unknown:
        raise InvalidInputError(f"lifestyle: unknown field(s) {unknown}; the fields are {sorted(known)}.")
    clean: dict = {}
    for name, value in lifestyle.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name == "smoking":
            if not isinstance(value, str):
                raise InvalidInputError(f"lifestyle.smoking must be one of {list(SMOKING)}; got {value!r}.")
            word = _SMOKING_WORDS.get(value.strip().lower(), value.strip().lower())
            if word not in SMOKING:
                raise InvalidInputError(f"lifestyle.smoking must be one of {list(SMOKING)}; got {value!r}.")
            clean[name] = word
        elif name == "pregnant":
            if not isinstance(value, bool):
                raise InvalidInputError(f"lifestyle.pregnant must be true or false; got {value!r}.")
            clean[name] = value
        else:
            low, high, unit = LIFESTYLE_FIELDS[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
                raise InvalidInputError(f"lifestyle.{name} must be a number ({unit}); got {value!r}.")
            if not low <= float(value) <= high:
                raise InvalidInputError(
                    f"lifestyle.{name} = {value} is impossible; it must be between {low:g} and {high:g} {unit}."
                )
            clean[name] = float(value)
    if "bmi" not in clean and "height_cm" in clean and "weight_kg" in clean:
        bmi = clean["weight_kg"] / (clean["height_cm"] / 100) ** 2
        low, high, _ = LIFESTYLE_FIELDS["bmi"]
        if not low <= bmi <= high:
            raise InvalidInputError(
                f"lifestyle: height {clean['height_cm']:g} cm and weight {clean['weight_kg']:g} kg give a BMI of "
                f"{bmi:.0f}, which is impossible; check both fields."
            )
        clean["bmi"] = round(bmi, 1)
    if clean.get("smoking") == "never":
        if clean.get("pack_years") or "quit_years" in clean:
            raise InvalidInputError(
                "lifestyle: smoking is 'never' but pack_years or quit_years is given; correct one of them."
            )
        clean["pack_years"] = 0.0
    return clean


def _atom(atom: str, patient: Patient) -> bool:
    if atom == "always":
        return True
    if atom == "pregnant":
        return patient.pregnant
    if atom == "not_pregnant":
        return not patient.pregnant
    if atom.startswith("recent:"):  # recent:mi@12 = an item of the group within 12 months
        names, _, months = atom[7:].partition("@")
        return any(patient.recent(name, float(months)) for name in names.split("|"))
    if atom.startswith(("has:", "lacks:")):
        kind, names = atom.split(":", 1)
        present = any(name in patient.groups for name in names.split("|"))
        return present if kind == "has" else not present
    match = _COMPARISON.match(atom)
    if not match:
        raise ValueError(f"rule atom {atom!r} is not understood")
    name, operator, wanted = match.groups()
    value = patient.value(name)
    if value is None:
        return False
    if operator == "=":
        return str(value) in wanted.split("|")
    limit = float(wanted)
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit, "<": value < limit}[operator]


def holds(expression: str, patient: Patient) -> bool:
    """Whether a rule's ``who``/``when`` expression is true for ``patient`` (empty = always)."""
    if not expression.strip():
        return True
    return any(
        all(_atom(atom.strip(), patient) for atom in clause.split("&") if atom.strip())
        for clause in expression.split(";")
    )


def _done_by(row: dict, groups: dict[str, set[str]]) -> list[tuple[str, float | None]]:
    """``(item, months)`` pairs that show a gap was closed; months None = the row's own interval."""
    pairs = []
    for token in row["done_by"].split():
        item, _, months = token.partition("@")
        members = sorted(groups.get(item[6:], ())) if item.startswith("group:") else [item]
        pairs += [(member, float(months) if months else None) for member in members]
    return pairs


def _months_between(earlier: date, later: date) -> float:
    return (later - earlier).days / 30.4375


def _doses_needed(
    schedule: str, age: float, catch_up: str = "", given: int = 0, first_dose_age: float | None = None
) -> tuple[int, float | None]:
    """Doses due by ``age`` for an ``"age:n age:n"`` schedule, and the age at which the last of them fell due.

    ``catch_up`` (``"age:n"``): a child not vaccinated before that age (no dose yet, or the first
    dose given at or after it) needs only ``n`` doses.
    """
    needed, since = 0, None
    for step in schedule.split():
        at, count = step.split(":")
        if age >= float(at) and int(count) > needed:
            needed, since = int(count), float(at)
    if catch_up:
        at, count = catch_up.split(":")
        if (given == 0 and age >= float(at)) or (first_dose_age is not None and first_dose_age >= float(at) - 0.05):
            needed = min(needed, int(count))
    return needed, since


# Doses of one series closer together than this do not both count (ACIP minimum interval of
# 4 weeks, with its 4-day grace period).
MIN_DOSE_GAP_DAYS = 24


def _counted(days: list[date | None]) -> list[date | None]:
    """The doses that count: undated ones, and dated ones at least ``MIN_DOSE_GAP_DAYS`` apart."""
    counted, last = [day for day in days if day is None], None
    for day in sorted(day for day in days if day is not None):
        if last is None or (day - last).days >= MIN_DOSE_GAP_DAYS:
            counted.append(day)
            last = day
    return counted


def season_start(today: date) -> date:
    """The first day of the current respiratory-virus season (1 August)."""
    return date(today.year if today.month >= 8 else today.year - 1, 8, 1)


def care_gaps(patient: Patient, tables: dict[str, list[dict]], groups: dict[str, set[str]]) -> list[dict]:
    """The guideline items that apply to ``patient``, each with its status.

    Returns:
        ``[{id, title, why, source, status, last}]``: status ``"overdue"`` (done before and the
        interval or season has passed, or a series started and left late by more than a year),
        ``"due"`` (no record of it) or ``"done"``; overdue first, then due, then done.
    """
    found = []
    for row in tables["care_gaps"]:
        if not holds(row["who"], patient):
            continue
        pairs = _done_by(row, groups)
        season = row["every_months"] == "season"
        every = float(row["every_months"]) if row["every_months"] and not season else None
        entry = {"id": row["id"], "title": row["title"], "source": row["source"], "last": None}
        if row["doses"]:
            if patient.age is None:
                continue
            from_age = float(row["given_from_age"]) if row["given_from_age"] else None
            given_dates = []
            for item, _ in pairs:
                for day in patient.doses.get(item, []):
                    at = patient.age_at(day)
                    if from_age is None or at is None or at >= from_age - 0.05:
                        given_dates.append(day)
            given_dates = _counted(given_dates)
            given = len(given_dates)
            first_ages = [patient.age_at(day) for day in given_dates if day is not None]
            first_dose_age = min(first_ages) if first_ages and all(a is not None for a in first_ages) else None
            needed, since = _doses_needed(row["doses"], patient.age, row.get("catch_up", ""), given, first_dose_age)
            if needed == 0:
                continue
            dated = [day for day in given_dates if day is not None]
            entry["last"] = max(dated).isoformat() if dated else None
            if given >= needed:
                status, detail = "done", f"{given} of {needed} dose{'s' if needed > 1 else ''} given"
            else:
                # Overdue only when a dated earlier dose shows the series was started and then left late.
                late = bool(dated) and since is not None and patient.age - since > 1.0
                status = "overdue" if late else "due"
                detail = f"{given} of {needed} doses by this age given" if needed > 1 else "no dose in the record"
        elif season:
            days = [day for item, _ in pairs for day in patient.doses.get(item, [])]
            dated = [day for day in days if day is not None]
            start = season_start(patient.today)
            if dated:
                entry["last"] = max(dated).isoformat()
            if not days:
                status, detail = "due", "no record of it"
            elif any(day >= start for day in dated):
                status, detail = "done", f"given this season, on {entry['last']}"
            elif not dated:
                status, detail = "done", "in the record; date not known: check it was this season"
            else:
                status, detail = "overdue", f"last on {entry['last']}, before this season (from {start.isoformat()})"
        else:
            dates = []
            for item, months in pairs:
                for day in patient.doses.get(item, []):
                    dates.append((day, months if months is not None else every))
            known = [(day, months) for day, months in dates if day is not None]
            if not dates:
                status, detail = "due", "no record of it"
            elif not known:
                status, detail = "done", "in the record" + ("; date not known" if every else "")
            else:
                last = max(day for day, _ in known)
                entry["last"] = last.isoformat()
                in_time = [
                    day for day, months in known if months is None or _months_between(day, patient.today) <= months
                ]
                if in_time:
                    status, detail = "done", f"last on {last.isoformat()}"
                else:
                    status = "overdue"
                    detail = f"last on {last.isoformat()}; due every {_interval(every or known[0][1])}"
        entry["status"] = status
        entry["why"] = f"{row['why']} ({detail})."
        found.append(entry)
    order = {"overdue": 0, "due": 1, "done": 2}
    return sorted(found, key=lambda gap: order[gap["status"]])


def _interval(months: float) -> str:
    if months % 12 == 0:
        years = int(months // 12)
        return "year" if years == 1 else f"{years} years"
    return f"{months:g} months"


def _matches(token: str, item: str, description: str, groups: dict[str, set[str]]) -> bool:
    if token.startswith("re:"):
        return re.search(token[3:], description) is not None
    if token.startswith("group:"):
        return item in groups.get(token[6:], ())
    return token == item


def blocked_by(
    item: str,
    description: str,
    patient: Patient,
    tables: dict[str, list[dict]],
    groups: dict[str, set[str]],
    closes_due_gap: bool = False,
) -> dict | None:
    """The first ``never.csv`` rule that forbids offering ``item`` to ``patient`` (None if allowed).

    A rule marked ``unless_due`` (a category such as diagnostic tests) does not apply to an item
    that closes a due care gap (a prenatal syphilis test is a test, and due).
    """
    for row in tables["never"]:
        if closes_due_gap and row.get("unless_due") == "yes":
            continue
        if any(_matches(token, item, description, groups) for token in row["items"].split()) and holds(
            row["when"], patient
        ):
            return {"rule": row["id"], "reason": row["reason"], "source": row["source"]}
    return None


def _names(patient: Patient, wanted: tuple[str, ...], labels: dict[str, str]) -> str:
    names = [labels[group] for group in wanted if group in patient.groups]
    return " and ".join(names) if names else "a related condition"


_GROUP_WORDS = {
    "diabetes": "diabetes",
    "prediabetes": "prediabetes",
    "hypertension": "high blood pressure",
    "hyperlipidemia": "high cholesterol or triglycerides",
    "ascvd": "heart or vessel disease",
    "heart_failure": "heart failure",
    "sleep_apnea": "sleep apnoea",
    "osteoarthritis": "osteoarthritis",
    "copd": "COPD",
    "asthma": "asthma",
}


def advice(patient: Patient, tables: dict[str, list[dict]]) -> list[dict]:
    """How to live: the advice rows whose ``when`` holds, with the patient's own values in ``why``.

    Returns:
        ``[{id, topic, text, why, source}]`` in table order (grouped by topic).
    """

    def number(name: str) -> str:
        value = patient.value(name)
        return "unknown" if value is None else f"{value:g}"

    fill = {
        "pack_years": number("pack_years"),
        "quit_years": number("quit_years"),
        "quit_ago": "at an unknown time"
        if patient.value("quit_years") is None
        else "less than a year ago"
        if patient.value("quit_years") < 1
        else f"{patient.value('quit_years'):g} year{'s' if patient.value('quit_years') >= 2 else ''} ago",
        "bmi": number("bmi"),
        "activity": number("activity"),
        "alcohol": number("alcohol"),
        "sleep": number("sleep"),
        "age": "unknown" if patient.age is None else f"{patient.age:.0f}" if patient.age >= 18 else f"{patient.age:g}",
        "lung_conditions": _names(patient, ("copd", "asthma"), _GROUP_WORDS),
        "risk_conditions": _names(
            patient,
            ("diabetes", "prediabetes", "hypertension", "hyperlipidemia", "ascvd", "sleep_apnea", "osteoarthritis"),
            _GROUP_WORDS,
        ),
        "heart_conditions": _names(patient, ("ascvd", "heart_failure"), _GROUP_WORDS),
        "glucose_conditions": _names(patient, ("diabetes", "prediabetes"), _GROUP_WORDS),
        "lipid_conditions": _names(patient, ("ascvd", "hyperlipidemia"), _GROUP_WORDS),
    }
    found = [
        {
            "id": row["id"],
            "topic": row["topic"],
            "text": row["text"],
            "why": row["why"].format(**fill),
            "source": row["source"],
        }
        for row in tables["advice"]
        if holds(row["when"], patient)
    ]
    topics = list(dict.fromkeys(row["topic"] for row in tables["advice"]))
    return sorted(found, key=lambda entry: topics.index(entry["topic"]))
