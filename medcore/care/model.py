"""Care recommender: a patient's history of item ids -> the services most likely needed next, with reasons.

Items are ``<kind>:<code>`` ids (see ``medcore.care.data``); only service items (procedures,
medications, immunizations, care plans) are recommended, conditions are history only.
``RecommenderScorer`` holds the collaborative-filtering maths over the training patients x items
matrix: popularity, age-band popularity (what patients of that age first receive within a few
years), item-kNN (cosine), user-kNN (cosine), sequential item-kNN (how often an item follows each
history item within a horizon) and EASE (a closed-form learned item-item model). Every score is a
fold-in from the history vector, so new patients need no retraining. ``CareRecommender`` blends
the components with the weights in the bundle, filters and explains the result; it is immutable
after loading, so one instance serves every session. ``medcore.care.evaluate`` scores it by
the temporal protocol of ARCHITECTURE.md.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from medcore.care.collaborative import RecommenderScorer, normalise_scores
from medcore.care.data import ITEM_KINDS
from medcore.care.guidelines import advice, care_gaps, check_lifestyle
from medcore.care.places import NEEDS, Directory
from medcore.care.plan import DIRECTORY_LACKS, NO_LOCATION, CarePlanner, as_date, parse_history
from medcore.core.errors import BundleIntegrityError, InvalidInputError
from medcore.core.settings import LIMITS
from medcore.core.validate import check_count

__all__ = [
    "MODEL_FORMAT",
    "CareRecommender",
    "load_recommender_model",
]

MODEL_FORMAT = "medcore-recommender-1"
MAX_K = LIMITS["max_recommendations"]
MAX_AGE = 125.0
_SEX_WORDS = {"f": "F", "female": "F", "m": "M", "male": "M"}
# SNOMED CT semantic tags at the end of a description, dropped when an item is named in a reason.
_SEMANTIC_TAG = re.compile(
    r"\s*\((procedure|finding|disorder|situation|regime/therapy|record artifact|"
    r"physical object|observable entity|qualifier value|person|event|morphologic abnormality)\)$"
)


def _plain_name(description: str, limit: int = 60) -> str:
    name = _SEMANTIC_TAG.sub("", description).strip()
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class CareRecommender:
    """The shipped care recommender (see the card for its data, validation and limits).

    Args:
        scorer: the fitted ``RecommenderScorer``.
        model: the bundle's ``model.json`` (items with kind, code and description; blend weights).
        cohort: the demo patients as stored in ``cohort.json`` (``id``, ``age``, ``sex``, ``deceased``,
            ``timeline`` as ``[item, date]`` pairs).
        card: the bundle's card.
    """

    kind = "recommender"

    def __init__(
        self, scorer: RecommenderScorer, model: dict, cohort: list[dict], card: dict, planner: CarePlanner | None = None
    ):
        self.card = card
        self._planner = planner
        self.name: str = card["name"]
        self._scorer = scorer
        self.weights: dict[str, float] = {k: float(v) for k, v in model["weights"].items()}
        self.items: dict[str, dict] = {
            entry["item"]: {"kind": entry["kind"], "code": entry["code"], "description": entry["description"]}
            for entry in model["items"]
        }
        self.labels: list[str] = [
            item for j, item in enumerate(scorer.items) if scorer.service[j] and scorer.item_counts[j] > 0
        ]
        self._label_index = np.array([scorer.index[item] for item in self.labels], dtype=int)
        self._cohort = [
            {
                **{key: patient[key] for key in ("id", "age", "sex", "deceased")},
                "as_of": patient.get("as_of"),
                "location": patient.get("location"),
                "doses": [[item, date] for item, date in patient.get("doses", [])],
                "timeline": [
                    {
                        "item": item,
                        "kind": self.items[item]["kind"],
                        "description": self.items[item]["description"],
                        "date": date,
                    }
                    for item, date in patient["timeline"]
                ],
            }
            for patient in cohort
        ]
        self._search = [(item, f"{info['description']} {item}".lower()) for item, info in self.items.items()]

    # -- input checks --------------------------------------------------------------------------
    def _history(self, history) -> tuple[list[str], list[str]]:
        """Known and unknown ids of a history (deduplicated, order kept)."""
        if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
            raise InvalidInputError(
                f"history must be a list of item ids such as ['condition:44054006', 'immunization:140']; "
                f"got {type(history).__name__} {str(history)[:60]!r}. Wrap a single id in a list."
            )
        check_count(history, "max_list_items", "history items")
        known, unknown, seen = [], [], set()
        for entry in history:
            if not isinstance(entry, str):
                raise InvalidInputError(
                    f"Every history entry must be an item id string like 'procedure:430193006'; got "
                    f"{type(entry).__name__} {entry!r}."
                )
            item = entry.strip()
            if not item or item in seen:
                continue
            seen.add(item)
            (known if item in self._scorer.index else unknown).append(item)
        return known, unknown

    @staticmethod
    def _k(k) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InvalidInputError(f"k must be a whole number from 1 to {MAX_K}; got {type(k).__name__} {k!r}.")
        if not 1 <= int(k) <= MAX_K:
            raise InvalidInputError(f"k must be from 1 to {MAX_K}; got {k}. Ask for at most {MAX_K} services.")
        return int(k)

    @staticmethod
    def _age(age) -> float | None:
        if age is None:
            return None
        if isinstance(age, bool) or not isinstance(age, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"age must be a number of years (or None); got {type(age).__name__} {age!r}.")
        if not math.isfinite(float(age)) or not 0 <= float(age) <= MAX_AGE:
            raise InvalidInputError(f"age must be between 0 and {MAX_AGE:.0f} years; got {age}.")
        return float(age)

    @staticmethod
    def _sex(sex) -> str | None:
        if sex is None or (isinstance(sex, str) and not sex.strip()):
            return None
        if not isinstance(sex, str) or sex.strip().lower() not in _SEX_WORDS:
            raise InvalidInputError(f"sex must be 'F', 'M', 'female' or 'male' (or None); got {sex!r}.")
        return _SEX_WORDS[sex.strip().lower()]

    # -- ranking -------------------------------------------------------------------------------
    def _rank(self, history, k, age, sex, component: str | None = None) -> dict:
        k, age, sex = self._k(k), self._age(age), self._sex(sex)
        known, unknown = self._history(history)
        scorer = self._scorer
        indices = np.array([scorer.index[item] for item in known], dtype=int)
        notices = []
        if unknown:
            notices.append(
                f"{len(unknown)} history item(s) are not known to this model and were not used: "
                f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}. Use search_items to find known ids."
            )
        if component is not None:
            candidates = scorer.candidates(indices)
            scores = scorer.component(component, indices, age)
            return {"top": scorer.top(scores, candidates, k), "scores": scores, "known": indices}
        fallback = len(indices) == 0
        if fallback:
            candidates = scorer.candidates(indices, sex)
            counts, observed = scorer.age_window(age, sex)
            scores = np.where(candidates, normalise_scores(counts, candidates), -np.inf)
            parts = {"age-popularity": scores}
            who = {"F": "female ", "M": "male "}.get(sex or "", "")
            notices.append(
                "No known history items: these are the services most often started by "
                + (
                    f"{who}patients aged {age:.0f}-{age + scorer.settings['age_horizon_years']:.0f}"
                    if age is not None
                    else f"{who or 'all '}patients"
                )
                + " (popularity), not a personalised recommendation. Add the patient's conditions and services."
            )
        else:
            scores, candidates, parts = scorer.blend(indices, self.weights, age, sex)
        if age is None and not fallback:
            notices.append("Age not given: the age-specific part of the model used patients of every age.")
        top = scorer.top(scores, candidates, k)
        if len(top) < k:
            notices.append(f"Only {len(top)} services could be recommended (asked for {k}).")
        return {
            "top": top,
            "scores": scores,
            "parts": parts,
            "known": indices,
            "unknown": unknown,
            "notices": notices,
            "age": age,
            "sex": sex,
            "fallback": fallback,
        }

    def ranked_items(
        self,
        history: list[str],
        k: int = 10,
        age: float | None = None,
        sex: str | None = None,
        component: str | None = None,
    ) -> list[str]:
        """Item ids only, best first: the shipped blend, or one ``component`` (e.g. the popularity
        baseline, which ignores age and sex) for comparisons."""
        ranked = self._rank(history, k, age, sex, component)
        return [self._scorer.items[j] for j in ranked["top"]]

    def recommend(self, history: list[str], k: int = 10, age: float | None = None, sex: str | None = None) -> dict:
        """The ``k`` services most likely needed next, each with the reason.

        Args:
            history: item ids ``<kind>:<code>`` the patient already had (conditions included).
            k: how many services, 1 to 50.
            age: the patient's age in years now, if known (care in the training data follows age).
            sex: "F"/"M" (or "female"/"male"), if known.

        Returns:
            ``{"items": [{"item", "description", "kind", "score", "reason"}, ...], "unknown": [ids not
            recognised], "notices": [str]}``; never an item of ``history``, never a condition.

        Raises:
            InvalidInputError: wrong types, k outside 1..50, an impossible age or an unknown sex.
        """
        ranked = self._rank(history, k, age, sex)
        details = self._details(ranked)
        items = [{key: entry[key] for key in ("item", "description", "kind", "score", "reason")} for entry in details]
        return {"items": items, "unknown": ranked["unknown"], "notices": ranked["notices"]}

    def explain(self, history: list[str], k: int = 10, age: float | None = None, sex: str | None = None) -> list[dict]:
        """Why each recommended service is there, best first.

        Returns:
            Per item: ``item``, ``description``, ``kind``, ``score``, ``reason``, ``drivers`` (the
            history items it most often follows: ``item``, ``description``, ``patients_with``,
            ``patients_after``), ``similar_patients`` (``had`` of ``of`` most similar training
            patients), ``age_rate`` (share of patients of that age who started it within the
            horizon, or None) and ``components`` (each component's normalised score in [0, 1]).
        """
        return self._details(self._rank(history, k, age, sex))

    def predict_proba(self, histories: list[list[str]]) -> np.ndarray:
        """Normalised blend scores over ``labels`` (age and sex unknown); unknown ids are ignored.

        Returns:
            float (N, len(labels)), rows sum to 1; items already in a history get 0.
        """
        if isinstance(histories, (str, bytes)) or not isinstance(histories, (list, tuple)):
            raise InvalidInputError(
                f"predict_proba takes a list of histories (each a list of item ids); got {type(histories).__name__}."
            )
        rows = []
        for history in histories:
            known, _ = self._history(history)
            indices = np.array([self._scorer.index[item] for item in known], dtype=int)
            if len(indices):
                scores, candidates, _ = self._scorer.blend(indices, self.weights)
            else:
                candidates = self._scorer.candidates(indices)
                scores = normalise_scores(self._scorer.item_counts, candidates)
            row = np.where(candidates, scores + 1e-6, 0.0)[self._label_index]
            rows.append(row / row.sum() if row.sum() > 0 else np.full(len(row), 1.0 / len(row)))
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(self.labels))

    # -- care plan -----------------------------------------------------------------------------
    def plan(
        self,
        history: list,
        age: float | None = None,
        sex: str | None = None,
        location=None,
        lifestyle: dict | None = None,
        k: int = 10,
        *,
        today=None,
    ) -> dict:
        """A care plan: what next, how to live, where to go.

        Args:
            history: item ids (``"condition:44054006"``; an id given n times counts n doses) or
                ``{"item", "date": "YYYY-MM-DD"}`` dicts (dates make "overdue" possible).
            age: years; sex: "F"/"M".
            location: ``(lat, lon)``, a US ZIP code or "City, ST" (resolved from the directory).
            lifestyle: ``smoking`` (never/former/current), ``pack_years``, ``quit_years``,
                ``height_cm`` and ``weight_kg`` or ``bmi``, ``activity`` (minutes a week),
                ``alcohol`` (units a week), ``sleep`` (hours), ``pregnant`` (bool).
            k: how many collaborative suggestions to keep after the rules (1-50).
            today: the date the plan is for (default: today).

        Returns:
            ``{"next": [{item, description, kind, score, reason}], "care_gaps": [{id, title, why,
            source, status, last}], "advice": [{id, topic, text, why, source}], "where": [{need,
            name, kind, address, phone, lat, lon, distance_km, emergency, quality, why}],
            "withheld": [{item, description, rule, reason, source}], "unknown": [ids],
            "notices": [str]}``.

        Raises:
            InvalidInputError: naming the field (history entry, age, sex, lifestyle, location, k).
        """
        if self._planner is None:
            raise InvalidInputError(f"'{self.name}' has no care-plan rules; rebuild it with `python -m medcore train`.")
        planner = self._planner
        k, age, sex = self._k(k), self._age(age), self._sex(sex)
        entries = parse_history(history)
        check_count(entries, "max_list_items", "history items")
        lifestyle = check_lifestyle(lifestyle)
        ids = list(dict.fromkeys(item for item, _ in entries))
        unknown = [item for item in ids if item not in self._scorer.index and item not in planner.rule_items]
        patient = planner.patient(entries, age, sex, lifestyle, as_date(today, "today"))
        record_notices = planner.check(entries, patient)
        gaps = care_gaps(patient, planner.tables, planner.groups)
        known_ids = [item for item in ids if item in self._scorer.index]
        suggestions = self.recommend(known_ids, k=MAX_K, age=age, sex=sex)
        kept, withheld = planner.filter_suggestions(suggestions["items"], patient, gaps, k)
        notices = [notice for notice in suggestions["notices"] if not notice.startswith(("Only ", "No known"))]
        if unknown:
            notices.append(
                f"{len(unknown)} history item(s) are not known and were not used: {', '.join(unknown[:5])}"
                f"{' ...' if len(unknown) > 5 else ''}. The rest of the plan uses the known ones."
            )
        if not known_ids:
            notices.append("No known history items: suggestions are the services most common at this age and sex.")
        if age is None:
            notices.append("Age not given: screenings and vaccines that depend on age were not checked.")
        if sex is None:
            notices.append("Sex not given: sex-specific screenings were not checked.")
        if withheld:
            notices.append(f"{len(withheld)} suggestion(s) of the collaborative filter were withheld by the rules.")
        if len(kept) < k:
            notices.append(f"Only {len(kept)} suggestion(s) remain after the rules (asked for {k}).")
        notices += record_notices + planner.lifestyle_notices(patient)
        where = []
        if location is not None:
            _, shown, where = planner.places(location, planner.plan_needs(patient), 3, far_doctors=False)
            notices.append(f"Where to go: nearest to {shown}. {DIRECTORY_LACKS}")
            if not any(entry["need"] == "primary care" for entry in where):
                notices.append("No doctor of the directory is near this place (its doctors are all in Nebraska).")
        else:
            notices.append(NO_LOCATION)
        return {
            "next": kept,
            "care_gaps": gaps,
            "advice": advice(patient, planner.tables),
            "where": where,
            "withheld": withheld,
            "unknown": unknown,
            "notices": notices,
        }

    def where(self, location, need: str, k: int = 5) -> list[dict]:
        """The ``k`` nearest facilities for ``need``, nearest first.

        Args:
            location: ``(lat, lon)``, a US ZIP code or "City, ST".
            need: "emergency", "urgent care", "hospital", "dialysis", "rehabilitation", "nursing home",
                "hospice", "home health", "long-term care", "VA" or "primary care".
            k: 1-50.

        Returns:
            ``[{name, kind, address, phone, lat, lon, distance_km, emergency, quality, why}]``;
            ``quality`` is the CMS star rating (None when not available).

        Raises:
            InvalidInputError: an unknown need, k out of range, or a location that is impossible,
                unknown or outside the directory's area (with the nearest known places).
        """
        return self._with_directory().where(location, need, k)

    def locate(self, location) -> tuple[tuple[float, float], str]:
        """``(lat, lon)`` of a location (pair, ZIP code or "City, ST") and where it came from.

        Raises:
            InvalidInputError: as ``where`` does for a location.
        """
        return self._with_directory().directory.resolve(location)

    def _with_directory(self) -> CarePlanner:
        if self._planner is None or self._planner.directory is None:
            raise InvalidInputError(
                f"'{self.name}' has no facility directory; rebuild it with `python -m medcore train`."
            )
        return self._planner

    @property
    def needs(self) -> list[str]:
        """The needs ``where`` understands."""
        return list(NEEDS)

    # -- reasons -------------------------------------------------------------------------------
    def _details(self, ranked: dict) -> list[dict]:
        scorer = self._scorer
        history, age, sex = ranked["known"], ranked["age"], ranked["sex"]
        sims = scorer.similarities(history)
        n_similar = min(int(scorer.settings.get("similar_patients", 15)), int((sims > 0).sum()))
        similar = np.argsort(-sims, kind="stable")[:n_similar]
        window, observed = scorer.age_window(age, sex) if age is not None else (None, 0)
        horizon = scorer.settings.get("age_horizon_years", 5)
        details = []
        for j in ranked["top"]:
            item = scorer.items[j]
            drivers = []
            if len(history) and scorer.sequential is not None:
                # The history items that contribute most to the sequential score, among those whose
                # patients have the service more often than patients overall (lift > 1): an item
                # everyone has explains nothing.
                strength = scorer.sequential[history, j]
                after = scorer.sequential_counts[history, j]
                together = scorer.matrix[:, history].T @ scorer.matrix[:, j]
                base_rate = scorer.item_counts[j] / len(scorer.matrix)
                informative = (after >= 2) & (together > base_rate * scorer.item_counts[history])
                for position in np.argsort(-np.where(informative, strength, -1.0), kind="stable")[:3]:
                    i = history[position]
                    if not informative[position]:
                        break
                    drivers.append(
                        {
                            "item": scorer.items[i],
                            "description": self.items[scorer.items[i]]["description"],
                            "patients_with": int(scorer.item_counts[i]),
                            "patients_after": int(scorer.sequential_counts[i, j]),
                        }
                    )
            had = int(scorer.matrix[similar, j].sum()) if n_similar else 0
            rate = float(window[j] / observed) if window is not None and observed else None
            entry = {
                "item": item,
                "description": self.items[item]["description"],
                "kind": self.items[item]["kind"],
                "score": float(ranked["scores"][j]),
                "drivers": drivers,
                "similar_patients": {"had": had, "of": n_similar},
                "age_rate": rate,
                "components": {name: float(part[j]) for name, part in ranked["parts"].items()},
            }
            entry["reason"] = self._reason(entry, ranked["fallback"], age, sex, horizon, int(scorer.item_counts[j]))
            details.append(entry)
        return details

    def _reason(self, entry: dict, fallback: bool, age, sex, horizon, item_patients: int) -> str:
        total = len(self._scorer.matrix)
        who = {"F": "female ", "M": "male "}.get(sex or "", "")
        age_text = (
            f"{entry['age_rate']:.0%} of {who}patients aged {age:.0f}-{age + horizon:.0f} started it within {horizon:.0f} years"
            if entry["age_rate"] is not None
            else ""
        )
        if fallback:
            return (
                f"Common at this age: {age_text}"
                if age_text
                else f"One of the most common services: {item_patients} of {total} training patients had it"
            )
        had, of = entry["similar_patients"]["had"], entry["similar_patients"]["of"]
        evidence = [f"{had} of the {of} most similar patients had it"] if of else []
        evidence += [age_text] if age_text else []
        if entry["drivers"]:
            first = entry["drivers"][0]
            share = first["patients_after"] / first["patients_with"]
            often = "usually" if share >= 0.5 else "often" if share >= 0.2 else "sometimes"
            names = _join([_plain_name(d["description"]) for d in entry["drivers"]])
            lead = f"Patients with {names} {often} receive this next"
            evidence.insert(
                0,
                f"{first['patients_after']} of {first['patients_with']} patients with "
                f"{_plain_name(first['description'], 40)} did",
            )
        elif of and had:
            lead = "Received by patients whose history resembles this one"
        else:
            lead = f"Common service ({item_patients} of {total} training patients had it)"
        return lead + (f" ({'; '.join(evidence)})" if evidence else "")

    # -- patients and items --------------------------------------------------------------------
    def patients(self) -> list[dict]:
        """The demo cohort: ``id`` ("P001"...), ``age`` (years at the end of the record), ``sex``,
        ``deceased`` and ``timeline`` (``item``, ``kind``, ``description``, ``date`` YYYY-MM-DD),
        oldest first. Synthetic Synthea patients, pseudonymised, also part of the training data."""
        return json.loads(json.dumps(self._cohort))

    def search_items(self, query: str, limit: int = 20, kinds: list[str] | None = None) -> list[dict]:
        """Known items whose description (or id) holds every word of ``query``, best first.

        Exact phrase matches come first, then the items more patients had. An empty query lists
        the most common items.

        Returns:
            Up to ``limit`` dicts with ``item``, ``kind``, ``code``, ``description`` and ``patients``.
        """
        if not isinstance(query, str):
            raise InvalidInputError(f"query must be text; got {type(query).__name__} {query!r}.")
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not 1 <= limit <= 500:
            raise InvalidInputError(f"limit must be a whole number from 1 to 500; got {limit!r}.")
        if kinds is not None and (not isinstance(kinds, (list, tuple)) or set(kinds) - set(ITEM_KINDS)):
            raise InvalidInputError(f"kinds must be a list drawn from {list(ITEM_KINDS)}; got {kinds!r}.")
        phrase = " ".join(query.lower().split())
        words = phrase.split()
        found = []
        for item, text in self._search:
            if kinds is not None and self.items[item]["kind"] not in kinds:
                continue
            if all(word in text for word in words):
                patients = int(self._scorer.item_counts[self._scorer.index[item]])
                found.append((0 if phrase and phrase in text else 1, -patients, self.items[item]["description"], item))
        found.sort()
        return [{"item": item, **self.items[item], "patients": -minus} for _, minus, _, item in found[:limit]]


def load_recommender_model(path: Path, card: dict) -> CareRecommender:
    """Load a verified recommender bundle: ``model.npz`` (allow_pickle=False), ``model.json``, ``cohort.json``,
    and for the care plan ``rules.json`` (the rule tables) and ``places.npz`` (the facility directory).

    Raises:
        BundleIntegrityError: the files are not in the format this version reads.
    """
    path = Path(path)
    model = json.loads((path / "model.json").read_text(encoding="utf-8"))
    if model.get("format") != MODEL_FORMAT:
        raise BundleIntegrityError(
            f"'{path.name}/model.json' has format {model.get('format')!r}; this medcore reads {MODEL_FORMAT!r}. "
            f"Rebuild it with `python -m medcore train {path.name}`."
        )
    with np.load(path / "model.npz", allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    items = [entry["item"] for entry in model["items"]]
    if arrays["first_age"].shape[1] != len(items):
        raise BundleIntegrityError(
            f"'{path.name}': model.npz and model.json disagree on the items; rebuild the bundle."
        )
    cohort = json.loads((path / "cohort.json").read_text(encoding="utf-8"))
    excluded = tuple(entry["item"] for entry in model.get("excluded_items", []))
    planner = None
    if (path / "rules.json").is_file():
        tables = json.loads((path / "rules.json").read_text(encoding="utf-8"))
        directory = None
        if (path / "places.npz").is_file():
            with np.load(path / "places.npz", allow_pickle=False) as stored:
                directory = Directory({name: stored[name] for name in stored.files})
        planner = CarePlanner(tables, directory)
    scorer = RecommenderScorer(items, arrays, model["settings"], excluded)
    return CareRecommender(scorer, model, cohort, card, planner)
