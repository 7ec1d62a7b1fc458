"""The Keras tagger: word embeddings + a character CNN + word shape + lexicon flags -> BiLSTM -> tags.

Trained from scratch here (no pretrained weights can be downloaded). Padding tokens have word id
0 and are masked out of the LSTM and the loss. ``fit_tagger`` keeps the weights of the epoch with
the best strict mention F1 on the development abstracts (the data that choose the model).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from medcore.literature.features import MAX_CHARS, SHAPES, TAGS

__all__ = ["build_tagger", "fit_tagger", "predict_batches"]


def build_tagger(
    n_words: int, n_chars: int, seed: int = 0, word_dim: int = 100, units: int = 128, compile: bool = True
):
    """An untrained tagger (Keras functional model, safe_mode-loadable); uncompiled for shipping."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    words = keras.Input((None,), dtype="int32", name="words")
    chars = keras.Input((None, MAX_CHARS), dtype="int32", name="chars")
    shapes = keras.Input((None, SHAPES), name="shapes")
    lexicon = keras.Input((None, 4), name="lexicon")
    w = layers.Embedding(n_words, word_dim, mask_zero=True, name="word_embedding")(words)
    c = layers.Embedding(n_chars, 32, name="char_embedding")(chars)
    c = layers.Conv2D(64, (1, 3), padding="same", activation="relu", name="char_cnn")(c)
    c = layers.MaxPooling2D((1, MAX_CHARS), name="char_pool")(c)
    c = layers.Reshape((-1, 64), name="char_features")(c)
    x = layers.Concatenate()([w, c, shapes, lexicon])
    x = layers.Dropout(0.4, seed=seed)(x)
    x = layers.Bidirectional(layers.LSTM(units, return_sequences=True, seed=seed), name="bilstm")(x)
    x = layers.Dropout(0.4, seed=seed + 1)(x)
    out = layers.Dense(len(TAGS), activation="softmax", name="tags")(x)
    model = keras.Model([words, chars, shapes, lexicon], out, name="literature_tagger")
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(2e-3, clipnorm=5.0), loss="sparse_categorical_crossentropy")
    return model


def _batches(inputs: dict[str, np.ndarray], order: np.ndarray, size: int):
    """Batches trimmed to their longest sentence (sentences of like length batched together)."""
    lengths = (inputs["words"] > 0).sum(axis=1)
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        width = max(1, int(lengths[idx].max()))
        yield idx, {k: v[idx, :width] for k, v in inputs.items()}


def predict_batches(model, inputs: dict[str, np.ndarray], size: int = 128) -> list[np.ndarray]:
    """Per-sentence tag probabilities (len_i, len(TAGS)), batching sentences of like length."""
    import tensorflow as tf

    lengths = (inputs["words"] > 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    out: list[np.ndarray] = [np.zeros((0, len(TAGS)))] * len(lengths)
    for idx, batch in _batches(inputs, order, size):
        proba = model({k: tf.constant(v) for k, v in batch.items()}, training=False).numpy()
        for row, i in enumerate(idx):
            out[i] = proba[row, : lengths[i]]
    return out


def fit_tagger(
    model,
    inputs: dict[str, np.ndarray],
    tags: np.ndarray,
    score: Callable[[object], float] | None,
    epochs: int,
    seed: int = 0,
    patience: int = 4,
    word_dropout: float = 0.0,
    progress: Callable[[int, float, float], None] | None = None,
) -> dict:
    """Train on padded sentences; keep the epoch whose ``score(model)`` (dev F1) is best, or, with no
    ``score``, run every epoch and keep the last.

    Returns:
        ``history``: per-epoch loss and score; ``best_epoch``; ``best_score``.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    lengths = (inputs["words"] > 0).sum(axis=1)
    history, best, best_weights, best_epoch, waited = [], -1.0, None, 0, 0
    for epoch in range(1, epochs + 1):
        # shuffle, then sort within chunks of 50 batches so batches hold sentences of like length
        order = rng.permutation(len(lengths))
        chunks = [order[i : i + 1600] for i in range(0, len(order), 1600)]
        order = np.concatenate([c[np.argsort(lengths[c], kind="stable")] for c in chunks])
        batches = list(_batches(inputs, order, 32))
        rng.shuffle(batches)
        losses = []
        for idx, batch in batches:
            y = tags[idx, : batch["words"].shape[1]]
            weight = (batch["words"] > 0).astype("float32")
            if word_dropout:  # some known words read as unknown, so spelling and context carry weight too
                drop = (rng.random(batch["words"].shape) < word_dropout) & (batch["words"] > 1)
                batch["words"] = np.where(drop, 1, batch["words"])
            losses.append(
                float(model.train_on_batch({k: tf.constant(v) for k, v in batch.items()}, y, sample_weight=weight))
            )
        value = score(model) if score else float("nan")
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "dev_f1": value})
        if progress:
            progress(epoch, float(np.mean(losses)), value)
        if score is None:
            best_epoch = epoch
        elif value > best:
            best, best_weights, best_epoch, waited = value, model.get_weights(), epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    if best_weights is not None:
        model.set_weights(best_weights)
    return {"history": history, "best_epoch": best_epoch, "best_score": best}
