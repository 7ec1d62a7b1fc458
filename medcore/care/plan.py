"""A care plan for one patient: what next (guideline care gaps and filtered suggestions), how to live,
where to go. ``CarePlanner`` holds the rule tables and the facility directory of the bundle; the
``CareRecommender`` delegates ``plan`` and ``where`` to it and passes its own collaborative
suggestions in.
"""

from __future__ import annotations

from datetime import date, datetime
from difflib import get_close_matches

import numpy as np

from medcore.care.guidelines import Patient, blocked_by
from medcore.care.places import NEEDS, Directory
from medcore.core.errors import InvalidInputError

__all__ = ["CarePlanner", "as_date", "parse_history", "need_of", "MAX_WHERE", "NO_LOCATION", "DIRECTORY_LACKS"]

MAX_WHERE = 50
MAX_DOCTOR_KM = 250.0  # a plan lists no doctor farther than this (the directory's doctors are all in Nebraska)
# Extra words a user may type for a need.
_NEED_WORDS = {
    "ed": "emergency",
    "er": "emergency",
    "a&e": "emergency",
    "emergency department": "emergency",
    "emergency room": "emergency",
    "urgent": "urgent care",
    "walk-in": "urgent care",
    "rehab": "rehabilitation",
    "nursing": "nursing home",
    "home health care": "home health",
    "long term care": "long-term care",
    "longterm": "long-term care",
    "va": "VA",
    "veterans": "VA",
    "doctor": "primary care",
    "gp": "primary care",
    "general practice": "primary care",
    "family doctor": "primary care",
}
NO_LOCATION = "Where to go: give a location (latitude and longitude, ZIP code or 'City, ST')."
DIRECTORY_LACKS = (
    "The facility directory has no pharmacies, no opening hours and no waiting times; doctors by name exist only "
    "for the Synthea area (Nebraska, general practice). Call ahead; in an emergency call 911."
)


def need_of(need) -> str:
    """The canonical need for what a user typed ("ED" -> "emergency").

    Raises:
        InvalidInputError: naming ``need`` and listing the known needs.
    """
    if isinstance(need, str):
        word = " ".join(need.strip().split())
        for known in NEEDS:
            if word.lower() == known.lower():
                return known
        if word.lower() in _NEED_WORDS:
            return _NEED_WORDS[word.lower()]
    close = get_close_matches(str(need).lower(), [*NEEDS, *_NEED_WORDS], n=1, cutoff=0.7)
    hint = f" Did you mean {need_of(close[0])!r}?" if close else ""
    raise InvalidInputError(f"need: {need!r} is not one of {list(NEEDS)}.{hint}")


def as_date(value, field: str) -> date | None:
    """A date from a ``date``, a ``YYYY-MM-DD`` string or None.

    Raises:
        InvalidInputError: naming ``field``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # also pandas Timestamps
        value = value.date()
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        try:
            day = datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"{field} must be YYYY-MM-DD; got {value!r}.") from None
    if not 1900 <= day.year <= 2100:
        raise InvalidInputError(f"{field} must be a date between 1900 and 2100; got {day.isoformat()}.")
    return day


def parse_history(history) -> list[tuple[str, date | None]]:
    """History entries as ``(item, date)``: ids (``"immunization:140"``) or dicts ``{"item", "date"}``.

    An id given several times counts several times (vaccine doses).

    Raises:
        InvalidInputError: naming the entry that is not an id or ``{"item", "date"}``.
    """
    if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
        raise InvalidInputError(
            "history must be a list of item ids such as ['condition:44054006'] or of {'item', 'date'} dicts; "
            f"got {type(history).__name__}."
        )
    entries = []
    for position, entry in enumerate(history):
        if isinstance(entry, dict):
            item, day = entry.get("item"), as_date(entry.get("date"), f"history[{position}].date")
        else:
            item, day = entry, None
        if not isinstance(item, str) or not item.strip():
            raise InvalidInputError(
                f"history[{position}] must be an item id like 'condition:44054006' or {{'item': ..., 'date': "
                f"'YYYY-MM-DD'}}; got {entry!r}."
            )
        entries.append((item.strip(), day))
    return entries


def far_note(place: dict) -> dict:
    """A place more than 100 km away says so first (the directory has nothing closer)."""
    if place["distance_km"] > 100:
        place = {
            **place,
            "why": f"Far: the directory has nothing closer ({place['distance_km']:.0f} km). " + place["why"],
        }
    return place


class CarePlanner:
    """Rule tables + facility directory: care gaps, the suggestion filter, advice and places."""

    def __init__(self, tables: dict[str, list[dict]], directory: Directory | None):
        self.tables = tables
        self.directory = directory
        self.groups: dict[str, set[str]] = {}
        for row in tables["groups"]:
            self.groups.setdefault(row["group"], set()).add(row["item"])
        self.rule_items = {item for members in self.groups.values() for item in members}
        self.gap_items: dict[str, list[str]] = {}  # item -> the care gaps it closes
        for row in tables["care_gaps"]:
            for token in row["done_by"].split():
                item = token.partition("@")[0]
                members = sorted(self.groups.get(item[6:], ())) if item.startswith("group:") else [item]
                self.rule_items.update(members)
                for member in members:
                    self.gap_items.setdefault(member, []).append(row["id"])
        self.rows = {row["id"]: row for row in tables["care_gaps"]}
        # Drug classes of which one at a time is suggested: those the same-class rules name.
        self.same_class = {
            token[6:]
            for row in tables["never"]
            if row["id"].startswith("same-class")
            for token in row["items"].split()
            if token.startswith("group:")
        }

    def patient(self, entries, age, sex, lifestyle: dict, today: date | None = None) -> Patient:
        doses: dict[str, list] = {}
        for item, day in entries:
            doses.setdefault(item, []).append(day)
        today = today or date.today()
        groups = {group for group, members in self.groups.items() if members & doses.keys()}
        group_days = {
            group: [day for item in members & doses.keys() for day in doses[item]]
            for group, members in self.groups.items()
        }
        if "pregnancy" in groups:  # a pregnancy in the record is current only if recent (or undated at 10-55)
            days = group_days["pregnancy"]
            current = any(day is not None and (today - day).days <= 300 for day in days) or (
                any(day is None for day in days) and (age is None or 10 <= age <= 55)
            )
            if not current:
                groups.discard("pregnancy")
        if lifestyle.get("smoking") == "current":
            groups.add("smoker")
        return Patient(age, sex, doses, groups, lifestyle, today, group_days)

    def filter_suggestions(self, suggestions: list[dict], patient: Patient, gaps: list[dict], k: int):
        """Drop what the rules forbid; say which care gap a kept suggestion closes.

        Returns:
            ``(kept, withheld)``: kept suggestions (at most ``k``, reasons extended) and
            ``[{item, description, rule, reason, source}]``.
        """
        by_id = {gap["id"]: gap for gap in gaps}
        kept, withheld, series_taken, classes_taken = [], [], set(), set()
        for entry in suggestions:
            item, description = entry["item"], entry["description"]
            rows = self.gap_items.get(item, [])
            applying = [by_id[row] for row in rows if row in by_id]
            closes = any(gap["status"] != "done" for gap in applying)
            block = blocked_by(item, description, patient, self.tables, self.groups, closes)
            classes = {group for group in self.same_class if item in self.groups.get(group, ())}
            if block is None and classes & classes_taken:
                block = {
                    "rule": "same-class-suggested",
                    "reason": "Another medicine of the same class is already suggested",
                    "source": "Clinical judgement (therapeutic duplication)",
                }
            if block is None and rows:
                vaccine = item.startswith("immunization:")
                if not applying and (vaccine or item in self.groups.get("screening", ())):
                    block = {
                        "rule": "vaccine-not-indicated" if vaccine else "screening-not-indicated",
                        "reason": "Not on the schedule for this patient's age and conditions"
                        if vaccine
                        else "Not recommended for this patient's age, sex and conditions",
                        "source": self.rows[rows[0]]["source"],
                    }
                elif applying and all(self._surely_done(gap) for gap in applying):
                    block = {
                        "rule": "already-done",
                        "reason": f"Already done and not yet due again ({applying[0]['title']}: {applying[0]['why']})",
                        "source": applying[0]["source"],
                    }
                elif vaccine and any(gap["id"] in series_taken for gap in applying):
                    block = {
                        "rule": "duplicate-dose",
                        "reason": "Another product for the same vaccine is already suggested",
                        "source": applying[0]["source"],
                    }
            if block is not None:
                withheld.append({"item": item, "description": description, **block})
                continue
            if len(kept) < k:
                classes_taken |= classes
                due = [gap for gap in applying if gap["status"] != "done"]
                reason = entry["reason"]
                if due:
                    reason += f". Closes a care gap: {due[0]['title']} ({due[0]['status']})"
                    series_taken.update(gap["id"] for gap in due)
                kept.append({**entry, "reason": reason})
        return kept, withheld

    def _surely_done(self, gap: dict) -> bool:
        """Done, and not possibly due again: a repeating item done on an unknown date may be due."""
        if gap["status"] != "done":
            return False
        return gap["last"] is not None or not self.rows[gap["id"]]["every_months"]

    def places(
        self, location, needs: list[str], k: int, far_doctors: bool = True
    ) -> tuple[tuple[float, float], str, list[dict]]:
        """Resolve ``location`` and find the ``k`` nearest facilities for each need (``need`` added);
        ``far_doctors=False`` leaves out doctors farther than ``MAX_DOCTOR_KM``."""
        if self.directory is None:
            raise InvalidInputError("location: this bundle has no facility directory; rebuild it with `train`.")
        (lat, lon), shown = self.directory.resolve(location)
        found = []
        for need in needs:
            nearest = self.directory.nearest(lat, lon, need, k)
            if not far_doctors and need == "primary care" and nearest and nearest[0]["distance_km"] > MAX_DOCTOR_KM:
                continue  # the directory's doctors are all in Nebraska
            for entry in nearest:
                found.append({"need": need, **far_note(entry)})
        return (lat, lon), shown, found

    def where(self, location, need, k: int = 5) -> list[dict]:
        """The ``k`` nearest facilities for ``need``, nearest first (see ``CareRecommender.where``)."""
        need = need_of(need)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= MAX_WHERE:
            raise InvalidInputError(f"k must be a whole number from 1 to {MAX_WHERE}; got {k!r}.")
        _, _, found = self.places(location, [need], int(k))
        for entry in found:
            entry.pop("need")
        return found

    def check(self, entries: list[tuple[str, date | None]], patient: Patient) -> list[str]:
        """Refuse a history or lifestyle that contradicts itself; notices about what the record lacks.

        Raises:
            InvalidInputError: naming the field: a date in the future or before birth, a pregnancy
                with sex M or outside ages 10-60, smoking figures the age makes impossible.
        """
        age, life = patient.age, patient.lifestyle
        for position, (item, day) in enumerate(entries):
            if day is None:
                continue
            if day > patient.today:
                raise InvalidInputError(f"history[{position}].date {day.isoformat()} ({item}) is in the future.")
            at = patient.age_at(day)
            if at is not None and at < -0.1:
                raise InvalidInputError(
                    f"history[{position}].date {day.isoformat()} ({item}) is before the patient was born (age {age:g})."
                )
        if patient.pregnant and patient.sex == "M":
            raise InvalidInputError(
                "Pregnant (lifestyle.pregnant or a pregnancy in the history) but sex is 'M'; correct one of them."
            )
        if life.get("pregnant") and age is not None and not 10 <= age <= 60:
            raise InvalidInputError(f"A pregnancy at age {age:g} is not possible here; check the age or the pregnancy.")
        if life.get("smoking") == "current" and life.get("quit_years"):
            raise InvalidInputError("lifestyle: smoking is 'current' but quit_years is given; correct one of them.")
        if age is not None:
            if life.get("quit_years", 0) > max(age - 8, 0):
                raise InvalidInputError(
                    f"lifestyle.quit_years = {life['quit_years']:g} is impossible at age {age:g}; it is the years since quitting."
                )
            if life.get("pack_years", 0) > max(age - 8, 0) * 5:
                raise InvalidInputError(
                    f"lifestyle.pack_years = {life['pack_years']:g} is impossible at age {age:g} (packs a day x years smoked)."
                )
        notices = []
        dated = [day for _, day in entries if day is not None]
        first = patient.age_at(min(dated)) if dated else None
        if first is not None and first >= 1:
            notices.append(
                f"This record starts at age {first:.0f}: care before then (such as infant vaccines) may be missing from "
                "it rather than missed."
            )
        return notices

    def plan_needs(self, patient: Patient) -> list[str]:
        """The needs a plan looks up: a doctor, urgent care and emergency; dialysis with kidney failure."""
        needs = ["primary care", "urgent care", "emergency"]
        if "esrd" in patient.groups:
            needs.append("dialysis")
        return needs

    def lifestyle_notices(self, patient: Patient) -> list[str]:
        missing = [
            label
            for name, label in (
                ("smoking", "smoking status"),
                ("bmi", "height and weight (or BMI)"),
                ("activity", "activity minutes a week"),
                ("alcohol", "alcohol units a week"),
                ("sleep", "sleep hours"),
            )
            if patient.value(name) is None
        ]
        if not missing:
            return []
        return [
            "How to live is personalised only by what is given; add "
            + ", ".join(missing)
            + " for advice on them (and for lung and aneurysm screening, which depend on smoking)."
        ]
