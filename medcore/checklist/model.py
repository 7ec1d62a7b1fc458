"""Symptom checklist: ticked symptom names -> a calibrated differential over the diseases.

``ChecklistModel`` is a naive Bayes over *ticked* symptoms: a patient ticks a few of the
symptoms they have, so each ticked name counts as a draw from the disease's symptom profile
(``tick_probability``, rows sum to 1) and an unticked one counts as missing, not absent (only
weakly, through ``unticked_weight``). Symptoms answered "no" to a follow-up question do count
as absent, through ``presence_probability``. ``next_questions`` ranks unticked symptoms by the
mutual information between the answer and the disease; ``describe`` and ``triage`` read the
description, precaution and severity tables stored in the bundle, so nothing reads data at run
time. This module also reads the Training.csv layout and its companion tables for training and
evaluation. The model is immutable after loading, so one instance serves every session.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import numpy as np

from medcore.checklist.data import disease_key, match_label, normalise_symptom
from medcore.core.errors import BundleIntegrityError, InvalidInputError
from medcore.core.metrics import softmax
from medcore.core.validate import check_count

__all__ = ["ChecklistModel", "MIN_GAIN", "SEVERITIES", "load_checklist_model"]

MODEL_FORMAT = "medcore-checklist-1"

MIN_GAIN = 0.01  # bits: a question expected to gain less would not change the ranking
# Triage hint thresholds on Symptom-severity.csv weights (1 mild .. 7 severe): (level, max, sum).
TRIAGE_RULES = (("high", 7, 20), ("moderate", 5, 10))
_TRIAGE_TEXT = {
    "high": "high: see a doctor soon (today if the symptoms are severe or getting worse)",
    "moderate": "moderate: arrange to see a doctor if the symptoms last more than a few days or get worse",
    "low": "low: self-care may be enough; see a doctor if the symptoms last or get worse",
}
_TRIAGE_NOTE = (
    "A hint from the training data set's symptom severity weights (1 mild to 7 severe), not a "
    "clinical triage: it ignores duration, age, history and vital signs. Seek urgent care for "
    "any symptom that feels like an emergency."
)


def _entropy_bits(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits along the last axis."""
    safe = np.clip(proba, 1e-300, 1.0)
    return -np.sum(np.where(proba > 0, proba * np.log2(safe), 0.0), axis=-1)


class ChecklistModel:
    """The shipped symptom-checklist model (see the card for its data, metrics and limits).

    Args:
        parameters: the content of the bundle's ``model.json`` (see ``medcore.checklist.train``).
        card: the bundle's card.
    """

    kind = "checklist"

    def __init__(self, parameters: dict, card: dict):
        self.card = card
        self.name: str = card["name"]
        self.labels: list[str] = list(parameters["labels"])
        self.symptoms: list[str] = list(parameters["symptoms"])
        self.temperature: float = float(parameters["temperature"])
        self.unticked_weight: float = float(parameters["unticked_weight"])
        self.answer_noise: float = float(parameters["answer_noise"])
        knowledge = parameters.get("knowledge", {})
        self._descriptions: dict[str, str] = dict(knowledge.get("descriptions", {}))
        self._precautions: dict[str, list[str]] = {k: list(v) for k, v in knowledge.get("precautions", {}).items()}
        self._severity: dict[str, int] = {k: int(v) for k, v in knowledge.get("severity", {}).items()}
        self._index = {name: j for j, name in enumerate(self.symptoms)}
        self._label_keys = {disease_key(label): label for label in self.labels}
        tick = np.asarray(parameters["tick_probability"], dtype=np.float64)  # (K, V), rows sum to 1
        presence = np.asarray(parameters["presence_probability"], dtype=np.float64)  # (K, V) in (0, 1)
        shape = (len(self.labels), len(self.symptoms))
        if tick.shape != shape or presence.shape != shape:
            raise BundleIntegrityError(
                f"Checklist parameters have shapes {tick.shape} and {presence.shape}; the labels and symptoms "
                f"need {shape}. Rebuild the bundle with `python -m medcore train {self.name}`."
            )
        self._log_prior = np.log(np.asarray(parameters["prior"], dtype=np.float64))  # (K,)
        self._log_tick = np.log(tick)
        self._log_unticked = np.log1p(-presence)
        # P(answer "yes" | disease): presence blurred by the chance of a wrong answer.
        self._answer_yes = presence * (1 - self.answer_noise) + (1 - presence) * self.answer_noise
        self._log_answer_no = np.log1p(-self._answer_yes)

    # -- input checking ---------------------------------------------------------------------
    def check_symptoms(self, symptoms, allow_empty: bool = False) -> list[str]:
        """Canonical, de-duplicated names of one patient's symptoms, in the order given.

        Raises:
            InvalidInputError: not a list of str, empty (unless ``allow_empty``), or an unknown
                name (the message suggests the closest known names).
        """
        if isinstance(symptoms, (str, bytes)) or not isinstance(symptoms, (list, tuple)):
            raise InvalidInputError(
                f"Expected one patient's symptoms as a list of names, e.g. ['itching', 'skin_rash']; "
                f"got {type(symptoms).__name__}."
            )
        check_count(symptoms, "max_list_items", "symptoms")
        not_text = [item for item in symptoms if not isinstance(item, str)]
        if not_text:
            raise InvalidInputError(
                f"Symptom names must be strings; got {not_text[:3]!r} ({type(not_text[0]).__name__}). "
                "Pass names such as 'skin_rash' (see model.symptoms)."
            )
        names = list(dict.fromkeys(normalise_symptom(item) for item in symptoms))
        unknown = [name for name in names if name not in self._index]
        if unknown:
            hints = []
            for name in unknown:
                close = self._suggest(name)
                hints.append(f"'{name}'" + (f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""))
            raise InvalidInputError(
                f"Unknown symptom name{'s' if len(unknown) > 1 else ''}: {'; '.join(hints)}. This model knows "
                f"{len(self.symptoms)} symptoms (model.symptoms), e.g. {', '.join(self.symptoms[:3])}."
            )
        if not names and not allow_empty:
            raise InvalidInputError(
                "No symptoms given: tick at least one symptom (names from model.symptoms, e.g. 'itching')."
            )
        return names

    def _suggest(self, name: str) -> list[str]:
        """Up to three known names close to an unknown one: similar spelling, or sharing a word stem."""
        close = difflib.get_close_matches(name, self.symptoms, n=3, cutoff=0.6)
        stems = [word[:5] for word in name.split("_") if len(word) >= 4]
        close += [known for known in self.symptoms if any(stem in known for stem in stems)]
        return list(dict.fromkeys(close))[:3]

    def _as_matrix(self, lists: list[list[str]]) -> np.ndarray:
        """float array (N, V): 1 where a (checked) symptom name is given."""
        matrix = np.zeros((len(lists), len(self.symptoms)))
        for row, names in enumerate(lists):
            matrix[row, [self._index[name] for name in names]] = 1.0
        return matrix

    def _batch(self, inputs, what: str) -> list[list[str]]:
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, (list, tuple)):
            raise InvalidInputError(
                f"Expected {what} as a list of symptom lists, one per patient, e.g. [['itching', 'skin_rash']]; "
                f"got {type(inputs).__name__}."
            )
        if inputs and all(isinstance(item, str) for item in inputs):
            raise InvalidInputError(
                f"Expected {what} as a list of symptom lists; got a flat list of str. Wrap one patient's "
                f"symptoms in a list: [{list(inputs)[:3]!r}]."
            )
        return list(inputs)

    # -- prediction --------------------------------------------------------------------------
    def logits(self, ticked: np.ndarray, absent: np.ndarray | None = None) -> np.ndarray:
        """Calibrated log-scores (N, K) of 0/1 matrices (N, V) of ticked and answered-"no" symptoms.

        softmax of the result gives ``predict_proba``; the temperature scales the ticked-symptom
        part (what it was fitted on), answers of "no" are added at face value.
        """
        absent = np.zeros_like(ticked) if absent is None else absent
        unticked = np.clip(1.0 - ticked - absent, 0.0, 1.0)
        raw = self._log_prior + ticked @ self._log_tick.T + self.unticked_weight * (unticked @ self._log_unticked.T)
        return raw / self.temperature + absent @ self._log_answer_no.T

    def predict_proba(self, inputs: list[list[str]], absent: list[list[str]] | None = None) -> np.ndarray:
        """Calibrated differential diagnosis for each patient.

        Args:
            inputs: one list of ticked symptom names per patient (N lists, each non-empty);
                spaces and case are normalised (``'Skin Rash'`` is ``'skin_rash'``).
            absent: optional, one list per patient of symptoms answered "no" to a follow-up
                question (see ``next_questions``); unticked symptoms are otherwise treated as unknown.

        Returns:
            float array (N, len(labels)), rows sum to 1, columns in ``labels`` order.

        Raises:
            InvalidInputError: not a list of lists of str, an empty list, or an unknown name.
        """
        lists = [self.check_symptoms(item) for item in self._batch(inputs, "the inputs")]
        if not lists:
            raise InvalidInputError("Got no patients: pass one list of symptom names per patient.")
        absent_matrix = None
        if absent is not None:
            absent_lists = [self.check_symptoms(item, allow_empty=True) for item in self._batch(absent, "absent")]
            if len(absent_lists) != len(lists):
                raise InvalidInputError(
                    f"Got {len(lists)} symptom lists but {len(absent_lists)} 'absent' lists; pass one of each per patient."
                )
            absent_matrix = self._as_matrix(absent_lists) * (1 - self._as_matrix(lists))
        return softmax(self.logits(self._as_matrix(lists), absent_matrix))

    def differential(self, symptoms: list[str], top: int = 5, absent: list[str] | None = None) -> list[dict]:
        """The ``top`` most probable diseases of one patient: ``{'disease', 'probability'}`` dicts.

        ``absent``: symptoms answered "no" to a follow-up question; they lower the diseases that usually have them.
        """
        proba = self.predict_proba([symptoms], None if not absent else [absent])[0]
        order = np.argsort(-proba, kind="stable")[: max(1, int(top))]
        return [{"disease": self.labels[k], "probability": float(proba[k])} for k in order]

    def explain(self, one_input: list[str], disease: str | None = None) -> dict[str, float]:
        """How much each ticked symptom supports a disease.

        Args:
            one_input: one patient's ticked symptom names.
            disease: the disease to explain (default: the most probable one).

        Returns:
            ticked symptom (canonical name, in input order) -> the change in the disease's
            log-odds, log P/(1 - P), when that symptom is left out: the odds with all ticked
            symptoms over the odds without this one, in nats. Positive supports the disease,
            negative argues against it; unlike a change in probability it does not vanish when
            the disease is near-certain either way.
        """
        names = self.check_symptoms(one_input)
        full = self._as_matrix([names])
        scores = self.logits(full)[0]  # (K,)
        target = int(np.argmax(scores)) if disease is None else self.labels.index(self._resolve_disease(disease))
        leave_one_out = np.repeat(full, len(names), axis=0)
        leave_one_out[np.arange(len(names)), [self._index[n] for n in names]] = 0.0
        rows = np.vstack([scores[None], self.logits(leave_one_out)])  # (1 + S, K)
        others = np.delete(rows, target, axis=1)
        peak = others.max(axis=1)
        log_odds = rows[:, target] - (peak + np.log(np.exp(others - peak[:, None]).sum(axis=1)))
        return {name: float(log_odds[0] - value) for name, value in zip(names, log_odds[1:])}

    def next_questions(
        self, symptoms: list[str], k: int = 3, absent: list[str] | None = None, min_gain: float = MIN_GAIN
    ) -> list[dict]:
        """The unasked symptoms whose yes/no answer is expected to narrow the differential most.

        Information gain = entropy of the current differential - its expected entropy after the
        answer, with P(yes) = sum over diseases of P(disease | ticked) x P(symptom | disease)
        (the mutual information between answer and disease, in bits, >= 0).

        Args:
            symptoms: ticked symptom names (at least one).
            k: how many questions (1 or more; fewer come back when fewer symptoms are left).
            absent: symptoms already answered "no"; they are not asked again.
            min_gain: questions expected to gain less (in bits) are not offered: their answer
                would not change the ranking. An empty list means no question is worth asking.

        Returns:
            Up to ``k`` dicts ``{'symptom', 'information_gain', 'p_yes'}``, best first.

        Raises:
            InvalidInputError: bad symptoms or ``k`` not a positive int.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(self.symptoms):
            raise InvalidInputError(f"k must be a whole number from 1 to {len(self.symptoms)}; got {k!r}.")
        names = self.check_symptoms(symptoms)
        no = [] if absent is None else self.check_symptoms(absent, allow_empty=True)
        absent_matrix = self._as_matrix([no]) if no else None
        proba = softmax(self.logits(self._as_matrix([names]), absent_matrix))[0]  # (K,)
        yes_given_disease = self._answer_yes  # (K, V)
        p_yes = proba @ yes_given_disease  # (V,)
        after_yes = proba[:, None] * yes_given_disease / p_yes  # (K, V)
        after_no = proba[:, None] * (1 - yes_given_disease) / (1 - p_yes)
        expected = p_yes * _entropy_bits(after_yes.T) + (1 - p_yes) * _entropy_bits(after_no.T)
        gain = np.maximum(_entropy_bits(proba) - expected, 0.0)
        asked = {self._index[name] for name in names + no}
        candidates = sorted(
            (j for j in range(len(self.symptoms)) if j not in asked and gain[j] >= min_gain),
            key=lambda j: (-gain[j], j),
        )
        return [
            {"symptom": self.symptoms[j], "information_gain": float(gain[j]), "p_yes": float(p_yes[j])}
            for j in candidates[: int(k)]
        ]

    # -- knowledge tables --------------------------------------------------------------------
    def _resolve_disease(self, disease: str) -> str:
        label = match_label(disease, self._label_keys) if isinstance(disease, str) else None
        if label is not None:
            return label
        close = difflib.get_close_matches(disease_key(str(disease)), list(self._label_keys), n=3, cutoff=0.6)
        suggestions = [self._label_keys[c] for c in close]
        raise InvalidInputError(
            f"Unknown disease {disease!r}"
            + (f" (did you mean {', '.join(repr(s) for s in suggestions)}?)" if suggestions else "")
            + f". Expected one of model.labels ({len(self.labels)} diseases)."
        )

    def describe(self, disease: str) -> dict:
        """The data set's description and precautions of one disease.

        Args:
            disease: a label; case, spaces and punctuation are ignored and a clear spelling
                variant ('hemorrhoids' for 'hemmorhoids') is accepted.

        Returns:
            ``{'disease', 'description', 'precautions'}``; description None and no precautions
            where the bundle's tables had none.
        """
        label = self._resolve_disease(disease)
        return {
            "disease": label,
            "description": self._descriptions.get(label),
            "precautions": list(self._precautions.get(label, [])),
        }

    def triage(self, symptoms: list[str], severity: str | None = None) -> dict:
        """A severity hint from the data set's symptom weights (not a clinical triage).

        ``high`` when the heaviest ticked symptom weighs 7 or the weights add up to 20 or more,
        ``moderate`` from 5 / 10, ``low`` below that; a patient-rated ``severity`` of
        ``"severe"`` raises the level one step (``"mild"``/``"moderate"`` leave it).

        Returns:
            ``{'level', 'hint', 'score_max', 'score_sum', 'weights', 'note'}``; level
            ``'unknown'`` when the bundle holds no weights for any ticked symptom.
        """
        names = self.check_symptoms(symptoms)
        weights = {name: self._severity[name] for name in names if name in self._severity}
        if not weights:
            return {
                "level": "unknown",
                "hint": "no severity weights for these symptoms; ask a clinician",
                "score_max": None,
                "score_sum": None,
                "weights": {},
                "note": _TRIAGE_NOTE,
            }
        peak, total = max(weights.values()), sum(weights.values())
        level = next((lvl for lvl, at_max, at_sum in TRIAGE_RULES if peak >= at_max or total >= at_sum), "low")
        if severity is not None and severity not in SEVERITIES:
            raise InvalidInputError(f"severity must be one of {SEVERITIES}; got {severity!r}.")
        if severity == "severe" and level != "high":  # the patient's own rating raises the hint one step
            level = {"low": "moderate", "moderate": "high"}[level]
        return {
            "level": level,
            "hint": _TRIAGE_TEXT[level],
            "score_max": int(peak),
            "score_sum": int(total),
            "weights": weights,
            "note": _TRIAGE_NOTE,
        }


SEVERITIES = ("mild", "moderate", "severe")


def load_checklist_model(path: Path, card: dict) -> ChecklistModel:
    """Load a verified checklist bundle (``model.json``; plain JSON, nothing executable).

    Raises:
        BundleIntegrityError: the file is not a checklist model or disagrees with the card.
    """
    try:
        parameters = json.loads((Path(path) / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BundleIntegrityError(f"'{Path(path) / 'model.json'}' could not be read ({err}).") from None
    if parameters.get("format") != MODEL_FORMAT or parameters.get("labels") != card.get("labels"):
        raise BundleIntegrityError(
            f"'{Path(path).name}/model.json' is not a {MODEL_FORMAT} model with the card's labels; "
            f"rebuild it with `python -m medcore train {card.get('name')}`."
        )
    return ChecklistModel(parameters, card)
