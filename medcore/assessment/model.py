"""Symptom assessment: findings from words or ticks -> triage level, differential, next questions.

``AssessmentModel.assess`` runs one way: validate -> read findings (``extract``) -> domain check
(empty, gibberish, another language, impossible age, unknown symptom id: refused with a reason)
-> red-flag rules (triage floors from ``red_flags.csv``, independent of the differential) ->
differential (a naive Bayes over findings with an explicit "none of these" class, temperature-
scaled; see ``train``) -> triage level = the highest of the red flags, the likely severe
conditions and the differential's care levels -> next questions by information gain, safety
questions first. Everything it needs is in the bundle's ``model.json`` (the checked knowledge
tables and the fitted numbers); the model is immutable after loading, so one instance serves
every session.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path

import numpy as np

from medcore.assessment.extract import FindingReader, Mention
from medcore.assessment.knowledge import LEVELS
from medcore.core.errors import BundleIntegrityError, InvalidInputError
from medcore.core.metrics import softmax
from medcore.core.settings import LIMITS
from medcore.core.validate import check_count

__all__ = ["AssessmentModel", "ADVICE", "load_assessment_model"]

MODEL_FORMAT = "medcore-assessment-1"

ADVICE = {
    "emergency": "Emergency: call an ambulance (999 / 911 / 112) or go to the emergency department now.",
    "urgent": "Urgent: see a doctor today (same-day GP appointment, urgent care centre or NHS 111).",
    "routine": "Routine: book an appointment with a doctor within the next few days.",
    "self-care": "Self-care: this can usually be looked after at home with a pharmacist's advice; "
    "see a doctor if it gets worse or does not improve.",
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _rank(level: str) -> int:
    return LEVELS.index(level)


class AssessmentModel:
    """The shipped symptom-assessment model (see the card for its knowledge, figures and limits).

    Args:
        parameters: the bundle's ``model.json`` (see ``medcore.assessment.train.build_parameters``).
        card: the bundle's card.
    """

    kind = "assessment"

    def __init__(self, parameters: dict, card: dict):
        self.card = card
        self.name: str = card["name"]
        self._conditions: list[dict] = parameters["conditions"]
        self.conditions: list[str] = [c["name"] for c in self._conditions]
        self.labels = self.conditions
        self.vocabulary: list[dict] = parameters["findings"]
        self.symptoms: list[str] = [f["id"] for f in self.vocabulary]
        self._index = {name: j for j, name in enumerate(self.symptoms)}
        self._by_id = {f["id"]: f for f in self.vocabulary}
        self.red_flags: list[dict] = parameters["red_flags"]
        likelihood = np.asarray(parameters["likelihood"], dtype=np.float64)  # (K, F) P(reported | condition)
        if likelihood.shape != (len(self.conditions), len(self.symptoms)):
            raise BundleIntegrityError(
                f"The likelihood table has shape {likelihood.shape}; {len(self.conditions)} conditions x "
                f"{len(self.symptoms)} findings were expected. Rebuild with `python -m medcore train {self.name}`."
            )
        background = np.asarray(parameters["background"], dtype=np.float64)  # (F,) the "none of these" class
        self._yes = np.vstack([likelihood, background[None]])  # (K + 1, F)
        self._log_yes = np.log(self._yes)
        self._log_no = np.log1p(-self._yes)
        prior = np.asarray([c["prior"] for c in self._conditions] + [parameters["other_prior"]], dtype=np.float64)
        self._log_prior = np.log(prior / prior.sum())
        self.temperature: float = float(parameters["temperature"])
        self.thresholds: dict = dict(parameters["thresholds"])
        self._english = set(parameters["english_words"])
        self._reader = FindingReader(self.vocabulary)
        self._care = np.asarray([_rank(c["care"]) for c in self._conditions])
        self._sex = np.asarray([c["sex"] for c in self._conditions])
        self._min_age = np.asarray([c["min_age"] for c in self._conditions], dtype=np.float64)
        self._max_age = np.asarray([c["max_age"] for c in self._conditions], dtype=np.float64)

    # -- input checking ---------------------------------------------------------------------
    def check_symptoms(self, symptoms, what: str = "symptoms") -> list[str]:
        """Known finding ids, de-duplicated; an unknown id is refused with the closest known ids."""
        if symptoms is None:
            return []
        if isinstance(symptoms, (str, bytes)) or not isinstance(symptoms, (list, tuple)):
            raise InvalidInputError(
                f"Expected {what} as a list of symptom ids, e.g. ['fever', 'cough']; got {type(symptoms).__name__}."
            )
        check_count(symptoms, "max_list_items", what)
        names = []
        for item in symptoms:
            if not isinstance(item, str):
                raise InvalidInputError(f"Symptom ids must be strings; got {item!r}. Use ids such as 'fever'.")
            name = re.sub(r"[\s-]+", "_", item.strip().lower())
            if name not in self._index:
                close = difflib.get_close_matches(name, self.symptoms, n=3, cutoff=0.6)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise InvalidInputError(
                    f"Unknown symptom id {item!r}.{hint} This model knows {len(self.symptoms)} symptom ids "
                    f"(model.symptoms), e.g. {', '.join(self.symptoms[:4])}."
                )
            names.append(name)
        return list(dict.fromkeys(names))

    @staticmethod
    def check_age(age) -> float | None:
        """An age in years from 0 to 120, or None; anything else is refused."""
        if age is None or (isinstance(age, str) and not age.strip()):
            return None
        try:
            value = float(age)
        except (TypeError, ValueError):
            raise InvalidInputError(f"Age must be a number of years (0-120); got {age!r}.") from None
        if isinstance(age, bool) or not math.isfinite(value) or not 0 <= value <= 120:
            raise InvalidInputError(
                f"An age of {age!r} years is impossible; give an age from 0 to 120 years (a baby of 6 weeks is 0.12)."
            )
        return value

    @staticmethod
    def check_sex(sex) -> str | None:
        """'female', 'male' or None; other values are refused."""
        if sex is None or (isinstance(sex, str) and not sex.strip()):
            return None
        value = str(sex).strip().lower()
        value = {"f": "female", "m": "male", "woman": "female", "man": "male"}.get(value, value)
        if value not in ("female", "male"):
            raise InvalidInputError(f"Sex must be 'female' or 'male' (or left empty); got {sex!r}.")
        return value

    def _check_text(self, text) -> str:
        if text is None:
            return ""
        if not isinstance(text, str):
            raise InvalidInputError(f"Expected the symptoms as text (str); got {type(text).__name__}.")
        limit = LIMITS["max_symptom_chars"]
        if len(text) > limit:
            raise InvalidInputError(
                f"The description has {len(text):,} characters; at most {limit:,} are accepted. "
                "Keep the part that describes the symptoms."
            )
        return text

    def language_reason(self, text: str) -> str | None:
        """Why the text cannot be read as an English description of symptoms, or None when it can."""
        words = [w.lower() for w in _WORD.findall(text)]
        if not words:
            return "The text has no words. Describe the symptoms in plain English, e.g. 'fever and cough for 3 days'."
        known = sum(w in self._english for w in words) / len(words)
        if len(words) >= 3 and known < self.thresholds["min_english_share"]:
            return (
                f"Only {known:.0%} of the words are English words this model knows, so it does not read this text "
                "(another language, or scrambled text?). Describe the symptoms in plain English."
            )
        return None

    # -- the assessment ----------------------------------------------------------------------
    def read(self, text: str) -> tuple[list[Mention], float | None, str | None, float | None]:
        """The findings, age, sex and duration (days) read from ``text`` (no refusal, no scoring)."""
        reading = self._reader.read(text)
        return reading.findings(), reading.age, reading.sex, reading.duration_days

    def assess(
        self,
        text: str = "",
        age=None,
        sex=None,
        symptoms: list[str] | None = None,
        absent: list[str] | None = None,
        ignore: list[str] | None = None,
    ) -> dict:
        """Triage, differential and next questions for one patient.

        Args:
            text: the symptoms in the patient's or clinician's words (at most ``LIMITS['max_symptom_chars']``).
            age: years (0-120; 0.12 for six weeks); overrides an age read from the text.
            sex: 'female' or 'male'; overrides one read from the text.
            symptoms: finding ids ticked as present (``model.symptoms``), e.g. answers of "yes".
            absent: finding ids answered "no".
            ignore: finding ids read from the text that the clinician removed (misread).

        Returns:
            ``{'triage': {'level', 'reasons', 'advice', 'red_flags'}, 'differential': [{'condition',
            'icd10', 'probability', 'care'}], 'fits', 'none_of_these', 'findings': [{'name', 'label',
            'present', 'start', 'end', 'source'}], 'next_questions': [{'finding', 'question',
            'why'}], 'age', 'sex', 'duration_days', 'notices'}``. Differential probabilities are
            calibrated and, with ``none_of_these``, sum to 1; with ``fits`` False no condition is
            claimed (the list shows what was considered).

        Raises:
            InvalidInputError: empty or unreadable text (gibberish, another language), text over
                the limit, an impossible age, an unknown sex or symptom id.
        """
        text = self._check_text(text)
        ticked = self.check_symptoms(symptoms)
        answered_no = self.check_symptoms(absent, "absent")
        removed = set(self.check_symptoms(ignore, "ignore"))
        age_value, sex_value = self.check_age(age), self.check_sex(sex)
        notices: list[str] = []
        findings: list[dict] = []
        duration = None
        if text.strip():
            reason = self.language_reason(text)
            if reason:
                raise InvalidInputError(reason)
            mentions, text_age, text_sex, duration = self.read(text)
            if text_age is not None and text_age > 120:
                raise InvalidInputError(
                    f"The text gives an age of {text_age:g} years, which is impossible; correct it (0-120)."
                )
            if age_value is None and text_age is not None:
                age_value = text_age
                notices.append(f"Age read from the text: {text_age:g} years.")
            if sex_value is None and text_sex is not None:
                sex_value = text_sex
            findings = [
                {
                    "name": m.name,
                    "label": self._by_id[m.name]["label"],
                    "present": m.present,
                    "start": m.start,
                    "end": m.end,
                    "source": "text",
                }
                for m in mentions
                if m.name not in removed
            ]
        elif not ticked and not answered_no:
            raise InvalidInputError(
                "Nothing to assess: type the symptoms (e.g. 'fever and cough for 3 days') or tick at least one."
            )
        by_name = {f["name"]: f for f in findings}
        for name, present, source in [
            *((n, True, "ticked") for n in ticked),
            *((n, False, "answered") for n in answered_no if n not in ticked),
        ]:
            if name in by_name:  # a tick or an answer overrides what the text said
                by_name[name]["present"] = present
            else:
                by_name[name] = {
                    "name": name,
                    "label": self._by_id[name]["label"],
                    "present": present,
                    "start": None,
                    "end": None,
                    "source": source,
                }
        for finding in list(by_name.values()):  # crushing chest pain is chest pain (findings.csv "implies")
            if finding["present"]:
                for parent in self.with_implied([finding["name"]])[1:]:
                    by_name.setdefault(
                        parent,
                        {
                            "name": parent,
                            "label": self._by_id[parent]["label"],
                            "present": True,
                            "start": finding["start"],
                            "end": finding["end"],
                            "source": "implied",
                        },
                    )
        findings = list(by_name.values())
        present = [f["name"] for f in findings if f["present"]]
        negated = [f["name"] for f in findings if not f["present"]]
        if not present:
            if len(_WORD.findall(text)) < 4:
                raise InvalidInputError(
                    "No symptom was recognised" + (" as present" if negated else "") + " in this description, so "
                    "there is nothing to assess. Describe what the patient has in plain words (e.g. 'sore throat "
                    "and fever for 2 days') or tick the symptoms."
                )
            return self._unrecognised(findings, age_value, sex_value, duration, notices)
        if "baby" in present and age_value is None:
            notices.append("A baby is mentioned but no age: give the age (fever under 3 months is an emergency).")
        posterior = self._posterior(present, negated, age_value, sex_value)
        other = float(posterior[-1])
        fits = other < self.thresholds["max_none_of_these"]
        order = np.argsort(-posterior[:-1], kind="stable")[:10]
        differential = [
            {
                "condition": self.conditions[k],
                "icd10": self._conditions[k]["icd10"],
                "probability": float(posterior[k]),
                "care": self._conditions[k]["care"],
            }
            for k in order
        ]
        if not fits:
            notices.append(
                "None of the conditions I know fits these findings well "
                f"(P(none of these) {other:.0%}): the list shows what was considered, not a diagnosis."
            )
        triage = self._triage(present, posterior, fits, age_value, sex_value, duration)
        return {
            "triage": triage,
            "differential": differential,
            "fits": bool(fits),
            "none_of_these": other,
            "findings": findings,
            "next_questions": self._next_questions(present, negated, posterior, triage),
            "age": age_value,
            "sex": sex_value,
            "duration_days": duration,
            "notices": notices,
        }

    def _unrecognised(self, findings, age, sex, duration, notices) -> dict:
        """The answer when the words describe something but name no finding this model knows."""
        reason = (
            "I recognised no symptom I know in this description, so I cannot rank conditions: a doctor "
            "should assess it. Tick the symptoms, or describe them in other words."
        )
        return {
            "triage": {"level": "routine", "reasons": [reason], "advice": ADVICE["routine"], "red_flags": []},
            "differential": [],
            "fits": False,
            "none_of_these": 1.0,
            "findings": findings,
            "next_questions": [],
            "age": age,
            "sex": sex,
            "duration_days": duration,
            "notices": [*notices, reason],
        }

    def with_implied(self, names: list[str]) -> list[str]:
        """``names`` and every broader finding they imply, transitively (crushing chest pain -> chest pain)."""
        found, todo = list(names), [p for name in names for p in self._by_id[name].get("implies", [])]
        while todo:
            parent = todo.pop()
            if parent not in found:
                found.append(parent)
                todo += self._by_id[parent].get("implies", [])
        return found

    def _scores(self, present: list[str], negated: list[str], age, sex) -> np.ndarray:
        """Log posterior scores (unnormalised) of the conditions and "none of these" (last), shape (K + 1,)."""
        yes = [self._index[name] for name in present]
        no = [self._index[name] for name in negated]
        evidence = self._log_yes[:, yes].sum(axis=1) + self._log_no[:, no].sum(axis=1)
        scores = self._log_prior + evidence / self.temperature
        if sex is not None:
            scores[:-1][~np.isin(self._sex, ("any", sex))] = -np.inf
        if age is not None:
            outside = (age < self._min_age) | (age > self._max_age)
            scores[:-1][outside] += math.log(self.thresholds["outside_age_factor"])
        return scores

    def _posterior(self, present: list[str], negated: list[str], age, sex) -> np.ndarray:
        """P(condition | findings) over the conditions and "none of these" (last), shape (K + 1,)."""
        return softmax(self._scores(present, negated, age, sex)[None])[0]

    def _triage(self, present, posterior, fits, age, sex, duration) -> dict:
        found = set(present)
        fired = []
        for rule in self.red_flags:
            if not set(rule["all_of"]) <= found or (rule["any_of"] and not found & set(rule["any_of"])):
                continue
            if found & set(rule["none_of"]):
                continue
            if rule["min_age"] is not None and (age is None or age < rule["min_age"]):
                continue
            if rule["max_age"] is not None and (age is None or age >= rule["max_age"]):
                continue
            if rule["sex"] and sex is not None and sex != rule["sex"]:
                continue
            if rule["max_days"] is not None and duration is not None and duration > rule["max_days"]:
                continue
            if rule["min_days"] is not None and (duration is None or duration < rule["min_days"]):
                continue
            fired.append(rule)
        level = max((_rank(rule["level"]) for rule in fired), default=0)
        reasons = [  # the rules that set the level, each with the findings that made it fire
            f"{rule['reason']}. Found: "
            + ", ".join(self._by_id[name]["label"] for name in [*rule["all_of"], *rule["any_of"]] if name in found)
            + f" (red flag; {rule['source']})"
            for rule in fired
            if _rank(rule["level"]) == level
        ]
        probability = posterior[:-1]
        raise_at = self.thresholds["severe_condition"]  # level -> probability that raises to it
        for name in ("emergency", "urgent"):
            likely = [
                k for k in np.argsort(-probability) if self._care[k] == _rank(name) and probability[k] >= raise_at[name]
            ]
            if likely and _rank(name) >= level:
                names = ", ".join(f"{self.conditions[k]} {probability[k]:.0%}" for k in likely[:3])
                if _rank(name) > level:
                    level = _rank(name)
                reasons.append(f"The differential holds a condition needing {name} care: {names}.")
        mass = self.thresholds["care_mass"]  # level -> share of the known conditions' probability at or above it
        known = probability / max(float(probability.sum()), 1e-12)
        for name in ("emergency", "urgent", "routine"):
            share = float(known[self._care >= _rank(name)].sum())
            if share >= mass[name]:
                if _rank(name) > level:
                    level = _rank(name)
                    reasons.append(f"{share:.0%} of the differential needs {name} care or more.")
                break
        top = int(np.argmax(probability))
        if fits and probability[top] >= self.thresholds["top_condition"] and self._care[top] > level:
            level = int(self._care[top])
            reasons.append(
                f"The most likely condition, {self.conditions[top]} ({probability[top]:.0%}), "
                f"usually needs {LEVELS[level]} care."
            )
        if not fits and level < _rank("routine"):
            level = _rank("routine")
            reasons.append("None of the conditions I know fits: a doctor should assess it.")
        if level == 0:
            reasons.append("No red flag, and the likely conditions can usually be managed at home.")
        name = LEVELS[level]
        return {
            "level": name,
            "reasons": reasons,
            "advice": ADVICE[name],
            "red_flags": [
                {"id": r["id"], "level": r["level"], "reason": r["reason"], "source": r["source"]} for r in fired
            ],
        }

    def _next_questions(self, present, negated, posterior, triage, k: int = 3) -> list[dict]:
        """Safety questions (red flags one answer away) first, then the largest information gain."""
        asked = set(present) | set(negated)
        found = set(present)
        questions: list[dict] = []
        level = _rank(triage["level"])
        for rule in sorted(self.red_flags, key=lambda r: -_rank(r["level"])):
            if _rank(rule["level"]) <= level or not (rule["all_of"] and rule["any_of"]):
                continue
            if _rank(rule["level"]) - level > 1 and rule["level"] != "emergency":
                continue  # an urgent screen is not asked of a self-care case (a cold is not asked about quinsy)
            if not set(rule["all_of"]) <= found:
                continue
            for name in rule["any_of"]:
                if name not in asked and all(q["finding"] != name for q in questions):
                    questions.append(
                        {
                            "finding": name,
                            "question": self._by_id[name]["question"],
                            "why": f"A yes would make this {rule['level']}: {rule['reason'].lower()}.",
                        }
                    )
                    break
            if len(questions) >= 2:
                break
        gain = self._gain(posterior)
        for j in np.argsort(-gain, kind="stable"):
            name = self.symptoms[j]
            if len(questions) >= k or gain[j] < self.thresholds["min_gain_nats"]:
                break
            if name in asked or name == "baby" or any(q["finding"] == name for q in questions):
                continue
            questions.append(
                {
                    "finding": name,
                    "question": self._by_id[name]["question"],
                    "why": "The answer would change the differential most.",
                }
            )
        return questions[:k]

    def _gain(self, posterior: np.ndarray) -> np.ndarray:
        """Expected drop in the differential's entropy from asking each finding, shape (F,)."""
        p_yes = posterior @ self._yes  # (F,)
        after_yes = posterior[:, None] * self._yes / p_yes
        after_no = posterior[:, None] * (1 - self._yes) / (1 - p_yes)

        def entropy(p):
            return -(np.where(p > 0, p * np.log(np.clip(p, 1e-300, 1)), 0.0)).sum(axis=0)

        before = entropy(posterior[:, None])
        return np.maximum(before - p_yes * entropy(after_yes) - (1 - p_yes) * entropy(after_no), 0.0)

    def label_of(self, finding: str) -> str:
        """The plain label of one finding id."""
        return self._by_id[finding]["label"]


def load_assessment_model(path: Path, card: dict) -> AssessmentModel:
    """Load a verified symptom-assessment bundle (``model.json``: plain JSON, nothing executable).

    Raises:
        BundleIntegrityError: the file is not an assessment model or disagrees with the card.
    """
    try:
        parameters = json.loads((Path(path) / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BundleIntegrityError(f"'{Path(path) / 'model.json'}' could not be read ({err}).") from None
    if parameters.get("format") != MODEL_FORMAT or [c["name"] for c in parameters.get("conditions", [])] != card.get(
        "labels"
    ):
        raise BundleIntegrityError(
            f"'{Path(path).name}/model.json' is not a {MODEL_FORMAT} model with the card's labels; "
            f"rebuild it with `python -m medcore train {card.get('name')}`."
        )
    return AssessmentModel(parameters, card)
