"""Free-text models: raw strings in, calibrated class probabilities and per-token evidence out.

The shipped ``model.keras`` takes a string tensor (N,) and returns logits (N, K); its
``TextVectorization`` layers live inside it, so nothing outside the bundle is needed to
tokenise. ``TextModel.prepare`` cleans user text first (control characters removed, very long
text truncated with a visible warning) and refuses text it cannot read (empty, no English
words, no word the model knows). ``explain`` is occlusion: the drop in the top class's
probability when each word is left out.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

from medcore.calibration import apply_temperature
from medcore.errors import InvalidInputError

__all__ = ["TextModel", "load_text_model", "clean_text", "tokens", "MAX_CHARS"]

MAX_CHARS = 5000
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def tokens(text: str) -> list[str]:
    """Lower-case words as the vocabulary sees them (letters, inner apostrophes/hyphens)."""
    return [w.lower() for w in _WORD.findall(text)]


def clean_text(text: str, max_chars: int = MAX_CHARS) -> tuple[str, list[str]]:
    """Remove control characters, normalise Unicode, collapse spaces and truncate, with warnings.

    Raises:
        InvalidInputError: not a string, or nothing left but whitespace.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"Expected text (a str); got {type(text).__name__}.")
    notes = []
    original = len(text)
    if original > max_chars * 20:  # cut before normalising, so 1 MB costs no more than 100 KB
        text = text[: max_chars * 20]
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C" else " " for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InvalidInputError("The text is empty. Type at least a few words describing the symptoms or the case.")
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
        notes.append(
            f"Text was truncated from {original:,} to {len(text):,} characters: only the beginning was analysed."
        )
    return text, notes


class TextModel:
    """A shipped free-text classifier (see the card for its data, metrics and limits)."""

    kind = "text"

    def __init__(self, keras_model, card: dict, vocabulary: set[str]):
        import tensorflow as tf

        self.card = card
        self.name: str = card["name"]
        self.labels: list[str] = list(card["labels"])
        self.temperature: float = float(card["calibration"]["temperature"])
        self.max_chars: int = int(card["input"].get("max_chars", MAX_CHARS))
        self._vocabulary = vocabulary
        self._forward = tf.function(lambda batch: keras_model(batch, training=False), reduce_retracing=True)

    def prepare(self, text: str) -> tuple[str, list[str]]:
        """Cleaned text and warnings (see ``clean_text``); refuses text the model cannot read.

        Raises:
            InvalidInputError: empty, no English words, or no word the model knows.
        """
        cleaned, notes = clean_text(text, self.max_chars)
        words = tokens(cleaned)
        if not words:
            raise InvalidInputError(
                "No English words were found in the text. This model reads English descriptions; "
                "type the symptoms in English."
            )
        known = sum(word in self._vocabulary for word in words)
        if known == 0:
            raise InvalidInputError(
                f"None of the {len(words)} words is known to this model (it learned from {self.card['training']['dataset']}). "
                "Describe the symptoms in plain English words."
            )
        if known / len(words) < 0.3:
            notes.append(f"Only {known} of {len(words)} words are known to the model: the result may be unreliable.")
        return cleaned, notes

    def _logits(self, texts: list[str]) -> np.ndarray:
        import tensorflow as tf

        outputs = [self._forward(tf.constant(texts[i : i + 256])).numpy() for i in range(0, len(texts), 256)]
        return np.concatenate(outputs).astype(np.float64)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Calibrated probabilities (N, K) for a list of texts; rows sum to 1.

        Raises:
            InvalidInputError: not a list of str, or a text the model cannot read.
        """
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)) or not texts:
            raise InvalidInputError("Expected a non-empty list of texts, e.g. ['itchy rash on my arms'].")
        cleaned = [self.prepare(text)[0] for text in texts]
        return apply_temperature(self._logits(cleaned), self.temperature)

    def explain(self, text: str) -> list[tuple[str, float]]:
        """Per-word evidence for the top class, in text order.

        Returns:
            ``(token, weight)`` for every whitespace-separated token of the cleaned text;
            weight = P(top class | text) - P(top class | text without that word), so positive
            words pushed towards the top class and negative ones away from it.
        """
        cleaned, _ = self.prepare(text)
        words = cleaned.split(" ")[:400]
        variants = [cleaned] + [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
        proba = apply_temperature(self._logits(variants), self.temperature)
        top = int(np.argmax(proba[0]))
        return [(word, float(proba[0, top] - proba[i + 1, top])) for i, word in enumerate(words)]


def load_text_model(path: Path, card: dict) -> TextModel:
    """Load a verified text bundle (``model.keras`` with safe_mode on)."""
    import json

    import keras

    model = keras.saving.load_model(path / "model.keras", compile=False, safe_mode=True)
    vocabulary = set(json.loads((path / "vocabulary.json").read_text(encoding="utf-8")))
    text_model = TextModel(model, card, vocabulary)
    text_model._logits(["warm up the compiled model"])  # trace once now, not on the first request
    return text_model
