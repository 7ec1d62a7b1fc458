"""The Keras building blocks of the text network and the NumPy TF-IDF + logistic-regression baseline.

The layers and the ``char_wb_ngrams`` split are registered under the package name
``medcore_text``, the name ``model.keras`` records, so ``safe_mode`` loading can rebuild
them; importing ``medcore.text.model`` imports this module first. The baseline is
re-implemented in NumPy from exported arrays so a bundle never unpickles anything.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np

__all__ = [
    "char_wb_ngrams",
    "SublinearTfidf",
    "TokenAndPositionEmbedding",
    "MaskedMeanMaxPooling",
    "TfidfLogisticBaseline",
]

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
