"""Free-text models: raw strings in, calibrated class probabilities and per-word evidence out.

A text bundle holds ``model.keras``, a wide-and-deep Keras network whose
``TextVectorization`` layers live inside it (string tensor (N,) -> logits (N, K)): a linear
layer on sublinear TF-IDF word 1-2-grams and character 2-5-grams, plus a one-block
Transformer encoder over the first words. When the card's ensemble lists ``baseline``, the
bundle also holds the TF-IDF + logistic-regression baseline as JSON (vocabulary) and ``.npz``
(idf, coefficients; read with ``allow_pickle=False``), re-implemented here in NumPy. Each
member's logits are calibrated as its card says (a temperature, or class-wise scaling of the
log-probabilities), their probabilities averaged and, if the card says so, calibrated once more.
``TextModel.prepare`` strips control characters, truncates long text with a warning and refuses
text it cannot read; ``explain`` is occlusion (each word's effect on the class's log-odds).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import keras
import numpy as np

from medcore.core.calibration import calibrate
from medcore.core.errors import InvalidInputError
from medcore.core.validate import check_text_length
from medcore.text.layers import TfidfLogisticBaseline  # also registers the Keras layers model.keras needs

__all__ = ["TextModel", "load_text_model", "word_spans"]

_BATCH = 128
# Control (Cc) and format (Cf: zero-width, bidi marks) characters; tab, CR and LF are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# What TextVectorization's "lower_and_strip_punctuation" removes (Keras' string.punctuation).
_PUNCTUATION = re.compile(r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


# -- text handling ------------------------------------------------------------------------
def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every word (letters/digits, inner apostrophes) in ``text``, in order."""
    return [match.span() for match in _WORD.finditer(text)]


def _script_of(text: str) -> str:
    """A readable name for the script of the first letter in ``text`` ("Cyrillic", "CJK", ...)."""
    for character in text:
        if character.isalpha():
            name = unicodedata.name(character, "")
            if name.startswith("CJK") or name.startswith(("HIRAGANA", "KATAKANA")):
                return "Chinese/Japanese"
            return name.split(" ")[0].title() if name else "a non-Latin"
    return "no"


class TextModel:
    """A shipped free-text classifier (see the card for its data, metrics and limits).

    Stateless after loading (the compiled Keras call and the NumPy baseline are thread-safe),
    so one instance is shared by every Streamlit session.
    """

    kind = "text"

    def __init__(self, keras_model, card: dict, baseline: TfidfLogisticBaseline | None = None):
        import tensorflow as tf

        self.card = card
        self.name: str = card["name"]
        self.labels: list[str] = list(card["labels"])
        self.max_chars: int = int(card["input"]["max_chars"])
        calibration = card["calibration"]
        self.members: list[str] = list(calibration["members"])
        class_wise = calibration.get("class_wise", {})  # members (and "ensemble") whose class-wise scaling was kept
        self.calibrations: dict[str, dict] = {
            k: {"temperature": float(v), **class_wise.get(k, {})} for k, v in calibration["temperatures"].items()
        }
        self.ensemble_calibration: dict = {
            "temperature": float(calibration.get("ensemble_temperature", 1.0)),
            **class_wise.get("ensemble", {}),
        }
        if "baseline" in self.members and baseline is None:
            raise ValueError(f"the card of '{self.name}' ships the baseline, but its parameters were not loaded")
        self._keras = keras_model
        self._baseline = baseline
        self._forward = tf.function(  # one fixed signature: any number of texts, one trace
            lambda batch: keras_model(batch, training=False),
            input_signature=[tf.TensorSpec([None], tf.string)],
            autograph=False,
        )
        sequence = keras_model.get_layer("words_sequence")
        self.vocabulary: frozenset[str] = frozenset(str(w) for w in sequence.get_vocabulary()[2:])

    # -- input checks -----------------------------------------------------------------------
    def prepare(self, text: str) -> tuple[str, list[str]]:
        """Clean one text for the model and say what was changed.

        Control and zero-width characters are removed; text longer than ``max_chars`` is cut
        to its first ``max_chars`` characters.

        Args:
            text: one free-text input.

        Returns:
            ``(cleaned_text, warnings)``; warnings are sentences a page shows as they are.

        Raises:
            InvalidInputError: not a str, empty, no Latin letters (the model reads English),
                or not one word the model knows.
        """
        if not isinstance(text, str):
            raise InvalidInputError(
                f"Expected text as a str; got {type(text).__name__}. Pass the description as a string."
            )
        check_text_length(text)
        warnings: list[str] = []
        cleaned, removed = _CONTROL.subn("", text)
        if removed:
            warnings.append(f"Removed {removed:,} control or invisible character(s) from the text.")
        if len(cleaned) > self.max_chars:
            warnings.append(
                f"Text was truncated from {len(cleaned):,} to {self.max_chars:,} characters: "
                "only the beginning was analysed."
            )
            cleaned = cleaned[: self.max_chars]
        if not cleaned.strip():
            raise InvalidInputError(
                "The text is empty. Type at least a few words, in English, describing the "
                + ("symptoms." if "symptom" in self.name else "case.")
            )
        letters = [c for c in cleaned if c.isalpha()]
        latin = len(_LATIN.findall(cleaned))
        if not latin:
            found = f"{_script_of(cleaned)} letters" if letters else "no letters at all"
            raise InvalidInputError(
                f"This model reads English, and the text has {found}. Type or paste the description in English."
            )
        words = _PUNCTUATION.sub("", cleaned.lower()).split()
        known = sum(word in self.vocabulary for word in words)
        if not known:
            raise InvalidInputError(
                f"None of the {len(words)} word(s) in the text is known to the model (its English vocabulary), "
                "so it cannot rank anything. Describe the "
                + ("symptoms" if "symptom" in self.name else "case")
                + " in plain English words (check the spelling)."
            )
        if latin < 0.5 * len(letters):
            warnings.append(
                "Most letters are not English (Latin) letters: only the English words were used, "
                "so the result is unreliable."
            )
        if known < 3:
            warnings.append(
                f"Only {known} word(s) of the text are known to the model: the ranking rests on very little."
            )
        return cleaned, warnings

    def _checked(self, texts) -> list[str]:
        if isinstance(texts, str | bytes) or not isinstance(texts, list | tuple | np.ndarray):
            hint = " Wrap a single text in a list: [text]." if isinstance(texts, str) else ""
            raise InvalidInputError(f"Expected a list of texts (str); got {type(texts).__name__}.{hint}")
        if len(texts) == 0:
            raise InvalidInputError("Expected a list of texts (str); got an empty list. Pass at least one text.")
        cleaned = []
        for index, text in enumerate(texts):
            try:
                cleaned.append(self.prepare(text)[0])
            except InvalidInputError as err:
                if len(texts) == 1:
                    raise
                raise InvalidInputError(f"Text {index + 1} of {len(texts)}: {err}") from None
        return cleaned

    # -- prediction -------------------------------------------------------------------------
    def member_logits(self, cleaned: list[str]) -> dict[str, np.ndarray]:
        """Uncalibrated logits (N, K) of each ensemble member for already-prepared texts."""
        import tensorflow as tf

        logits: dict[str, np.ndarray] = {}
        if "network" in self.members:
            chunks = [
                self._forward(tf.constant(cleaned[start : start + _BATCH])).numpy()
                for start in range(0, len(cleaned), _BATCH)
            ]
            logits["network"] = np.concatenate(chunks).astype(np.float64)
        if "baseline" in self.members:
            logits["baseline"] = self._baseline.logits(cleaned)
        return logits

    def _proba_of_cleaned(self, cleaned: list[str]) -> np.ndarray:
        logits = self.member_logits(cleaned)
        proba = np.mean([calibrate(logits[m], self.calibrations[m]) for m in self.members], axis=0)
        if self.ensemble_calibration != {"temperature": 1.0}:
            proba = calibrate(np.log(np.clip(proba, 1e-300, 1.0)), self.ensemble_calibration)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Calibrated class probabilities.

        Args:
            texts: a list of str (each cleaned and checked by ``prepare``).

        Returns:
            float array (N, len(labels)) in ``labels`` order; rows sum to 1.

        Raises:
            InvalidInputError: not a list of str, or a text the model cannot read (the
                message names which one).
        """
        return self._proba_of_cleaned(self._checked(texts))

    # -- explanation ------------------------------------------------------------------------
    def explain(self, text: str, class_index: int | None = None) -> list[tuple[str, float]]:
        """Per-word evidence for one text, by occlusion.

        Each distinct word (case-insensitive) is removed everywhere it occurs, and that word's
        weight is the drop in the explained class's calibrated log-odds, log(p / (1 - p)):
        positive words support the class, negative ones argue against it. Log-odds rather
        than the probability itself, because a confident model's probability sits at 1.0
        whichever single word is removed, while its log-odds still move.

        Args:
            text: one free-text input (cleaned by ``prepare`` first; weights refer to the
                cleaned, possibly truncated, text).
            class_index: the class to explain (default: the top class).

        Returns:
            ``(word, weight)`` for every word in text order (weights in log-odds units; 0 is
            no effect); a page can walk the text with ``word_spans`` to highlight them.

        Raises:
            InvalidInputError: the text cannot be read, or ``class_index`` is out of range.
        """
        cleaned, _ = self.prepare(text)
        spans = word_spans(cleaned)
        full = self._proba_of_cleaned([cleaned])[0]
        if class_index is None:
            class_index = int(np.argmax(full))
        if not 0 <= class_index < len(self.labels):
            raise InvalidInputError(
                f"class_index {class_index} is out of range; this model has classes 0-{len(self.labels) - 1}."
            )
        if not spans:
            return []
        words = [cleaned[start:end] for start, end in spans]
        types = list(dict.fromkeys(word.lower() for word in words))
        variants = []
        for word_type in types:
            kept, cursor = [], 0
            for (start, end), word in zip(spans, words):
                if word.lower() == word_type:
                    kept.append(cleaned[cursor:start])
                    cursor = end
            kept.append(cleaned[cursor:])
            variants.append(" ".join(" ".join(kept).split()) or ".")
        occluded = np.concatenate(
            [
                _log_odds(self._proba_of_cleaned(variants[i : i + _BATCH]), class_index)
                for i in range(0, len(variants), _BATCH)
            ]
        )
        reference = _log_odds(full[None], class_index)[0]
        weight_of = {word_type: float(reference - value) for word_type, value in zip(types, occluded)}
        return [(word, weight_of[word.lower()]) for word in words]


def _log_odds(proba: np.ndarray, class_index: int) -> np.ndarray:
    """log(p_k / sum of the other p) per row, computed without forming 1 - p_k (which rounds to 0)."""
    others = np.delete(proba, class_index, axis=1).sum(axis=1)
    return np.log(np.maximum(proba[:, class_index], 1e-300)) - np.log(np.maximum(others, 1e-300))


def load_text_model(path: Path, card: dict) -> TextModel:
    """Load a verified text bundle (``model.keras`` with safe_mode on; the baseline from JSON + npz)."""
    path = Path(path)
    model = keras.saving.load_model(path / "model.keras", compile=False, safe_mode=True)
    baseline = None
    if "baseline" in card["calibration"]["members"]:
        baseline = TfidfLogisticBaseline.load(path / "baseline_vocabulary.json", path / "baseline.npz")
    text_model = TextModel(model, card, baseline)
    # Trace the compiled call once now, so no user waits for it.
    text_model._proba_of_cleaned(["warm up"])
    return text_model
