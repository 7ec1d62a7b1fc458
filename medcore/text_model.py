"""Free-text models: raw strings in, calibrated class probabilities and per-word evidence out.

A text bundle holds ``model.keras``, a wide-and-deep Keras network whose
``TextVectorization`` layers live inside it (string tensor (N,) -> logits (N, K)): a linear
layer on sublinear TF-IDF word 1-2-grams and character 2-5-grams, plus a one-block
Transformer encoder over the first words. When the card's ensemble lists ``baseline``, the
bundle also holds the TF-IDF + logistic-regression baseline as JSON (vocabulary) and ``.npz``
(idf, coefficients; read with ``allow_pickle=False``), re-implemented here in NumPy. Each
member's logits are temperature-scaled, their probabilities averaged and, if the card says
so, scaled once more. ``TextModel.prepare`` strips control characters, truncates long text
with a warning and refuses text it cannot read; ``explain`` is occlusion (each word's effect on the class's log-odds).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import keras
import numpy as np

from medcore.calibration import apply_temperature
from medcore.errors import InvalidInputError
from medcore.validate import check_text_length

__all__ = [
    "TextModel",
    "TfidfLogisticBaseline",
    "load_text_model",
    "word_spans",
    "char_wb_ngrams",
    "SublinearTfidf",
    "TokenAndPositionEmbedding",
    "MaskedMeanMaxPooling",
]

_BATCH = 128
# Control (Cc) and format (Cf: zero-width, bidi marks) characters; tab, CR and LF are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# What TextVectorization's "lower_and_strip_punctuation" removes (Keras' string.punctuation).
_PUNCTUATION = re.compile(r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


# -- Keras building blocks (registered so safe_mode loading can rebuild them) -------------
_register = keras.saving.register_keras_serializable(package="medcore_text")


@_register
def char_wb_ngrams(text):
    """Character 2-5-grams inside word boundaries (each word padded with a space each side).

    A TextVectorization ``split`` callable: string tensor (N,) -> ragged string tensor
    (N, None), like scikit-learn's ``analyzer="char_wb"``. Robust to misspellings and
    inflections, which matters for patients' own words.
    """
    import tensorflow as tf

    words = tf.strings.split(text)
    padded = tf.ragged.map_flat_values(lambda w: tf.strings.join([" ", w, " "]), words)
    characters = tf.strings.unicode_split(padded, "UTF-8")
    return tf.strings.ngrams(characters, ngram_width=[2, 3, 4, 5], separator="").merge_dims(1, 2)


@_register
class SublinearTfidf(keras.layers.Layer):
    """Counts (N, V) -> L2-normalised ``(1 + log count) * idf`` (N, V); index 0 (OOV) is dropped.

    The idf vector is a non-trainable weight, so it is saved inside ``model.keras``.
    """

    def __init__(self, vocabulary_size: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.idf = self.add_weight(
            shape=(self.vocabulary_size,), initializer="ones", trainable=False, name="idf", dtype="float32"
        )

    def call(self, counts):
        ops = keras.ops
        counts = ops.cast(counts, "float32")
        weighted = ops.where(counts > 0, 1.0 + ops.log(ops.maximum(counts, 1.0)), 0.0) * self.idf
        norm = ops.sqrt(ops.sum(weighted * weighted, axis=-1, keepdims=True))
        return weighted / ops.maximum(norm, 1e-12)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.vocabulary_size)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


@_register
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token ids (N, S) -> token embedding + learned position embedding (N, S, D)."""

    def __init__(self, vocabulary_size: int, sequence_length: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length, self.dim = int(vocabulary_size), int(sequence_length), int(dim)
        self.tokens = keras.layers.Embedding(self.vocabulary_size, self.dim, name="tokens")
        self.positions = keras.layers.Embedding(self.sequence_length, self.dim, name="positions")

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((self.sequence_length,))
        self.built = True

    def call(self, ids):
        ops = keras.ops
        return self.tokens(ids) + self.positions(ops.arange(ops.shape(ids)[-1]))[None]

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "dim": self.dim,
        }


@_register
class MaskedMeanMaxPooling(keras.layers.Layer):
    """Hidden states (N, S, D) and token ids (N, S) -> [mean, max] over real tokens (N, 2D)."""

    def call(self, hidden, ids):
        ops = keras.ops
        mask = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), hidden.dtype), -1)
        count = ops.maximum(ops.sum(mask, axis=1), 1.0)
        mean = ops.sum(hidden * mask, axis=1) / count
        largest = ops.max(hidden + (mask - 1.0) * 1e4, axis=1)
        return ops.concatenate([mean, largest], axis=-1)

    def compute_output_shape(self, hidden_shape, ids_shape=None):
        return (hidden_shape[0], 2 * hidden_shape[-1])


# -- the baseline, without scikit-learn or pickle -------------------------------------------
class TfidfLogisticBaseline:
    """scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)`` + ``LogisticRegression``.

    Re-implemented in NumPy from exported parameters so a bundle never unpickles anything.
    Tokens are lower-cased runs of two or more word characters (scikit-learn's default
    ``token_pattern``), then word bigrams are added.
    """

    _TOKEN = re.compile(r"(?u)\b\w\w+\b")

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray):
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        if self.coef.shape != (len(self.intercept), len(self.idf)) or len(vocabulary) != len(self.idf):
            raise ValueError(
                f"baseline parameters do not fit together: vocabulary {len(vocabulary)}, idf {self.idf.shape}, "
                f"coef {self.coef.shape}, intercept {self.intercept.shape}"
            )

    @classmethod
    def from_sklearn(cls, vectorizer, classifier) -> TfidfLogisticBaseline:
        """Export a fitted scikit-learn vectorizer + classifier (multinomial, K >= 3)."""
        vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
        return cls(vocabulary, vectorizer.idf_, classifier.coef_, classifier.intercept_)

    @classmethod
    def load(cls, vocabulary_file: Path, arrays_file: Path) -> TfidfLogisticBaseline:
        """Read the JSON vocabulary and the ``.npz`` arrays (``allow_pickle=False``)."""
        vocabulary = json.loads(Path(vocabulary_file).read_text(encoding="utf-8"))
        with np.load(arrays_file, allow_pickle=False) as arrays:
            return cls(vocabulary, arrays["idf"], arrays["coef"], arrays["intercept"])

    def save(self, vocabulary_file: Path, arrays_file: Path) -> None:
        """Write the vocabulary as JSON and idf/coef/intercept as an uncompressed ``.npz``."""
        Path(vocabulary_file).write_text(json.dumps(self.vocabulary, sort_keys=True), encoding="utf-8")
        np.savez(arrays_file, idf=self.idf, coef=self.coef, intercept=self.intercept)

    def features(self, texts: list[str]) -> np.ndarray:
        """TF-IDF rows (N, V) as a dense float array (texts are short; V is a few tens of thousands)."""
        rows = np.zeros((len(texts), len(self.idf)))
        for row, text in enumerate(texts):
            tokens = self._TOKEN.findall(text.lower())
            terms = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
            counts: dict[int, int] = {}
            for term in terms:
                index = self.vocabulary.get(term)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if counts:
                indices = np.fromiter(counts, dtype=np.int64)
                values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[indices]
                rows[row, indices] = values / np.linalg.norm(values)
        return rows

    def logits(self, texts: list[str]) -> np.ndarray:
        """Decision function (N, K), equal to scikit-learn's ``decision_function``."""
        return self.features(texts) @ self.coef.T + self.intercept


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
        self.temperatures: dict[str, float] = {k: float(v) for k, v in calibration["temperatures"].items()}
        self.ensemble_temperature: float = float(calibration.get("ensemble_temperature", 1.0))
        if "baseline" in self.members and baseline is None:
            raise ValueError(f"the card of '{self.name}' ships the baseline, but its parameters were not loaded")
        self._keras = keras_model
        self._baseline = baseline
        self._forward = tf.function(
            lambda batch: keras_model(batch, training=False), reduce_retracing=True, autograph=False
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
        proba = np.mean([apply_temperature(logits[m], self.temperatures[m]) for m in self.members], axis=0)
        if self.ensemble_temperature != 1.0:
            proba = apply_temperature(np.log(np.clip(proba, 1e-300, 1.0)), self.ensemble_temperature)
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
