"""The wide-and-deep text network and its two-stage training (Keras).

The wide part is a linear layer on sublinear TF-IDF word 1-2-grams and character
2-5-grams, L2-regularised like logistic regression and trained to convergence first; then,
with it frozen, a one-block Transformer encoder whose output layer starts at zero is trained
and kept at the epoch with the best validation accuracy (ties: temperature-scaled log-loss).
``train_network`` returns a model that takes raw strings end to end.
"""

from __future__ import annotations

import numpy as np

from medcore.core.calibration import apply_temperature, fit_temperature
from medcore.text.recipes import TextRecipe

__all__ = ["train_network", "batched"]


def _vectorizers(recipe: TextRecipe, train_texts: list[str]):
    import keras
    import tensorflow as tf

    from medcore.text.layers import char_wb_ngrams

    words = keras.layers.TextVectorization(
        max_tokens=recipe.word_tokens, ngrams=2, output_mode="count", name="words_tfidf_counts"
    )
    characters = keras.layers.TextVectorization(
        max_tokens=recipe.char_tokens, split=char_wb_ngrams, output_mode="count", name="chars_tfidf_counts"
    )
    sequence = keras.layers.TextVectorization(
        max_tokens=20000, output_sequence_length=recipe.sequence_length, name="words_sequence"
    )
    corpus = tf.constant(train_texts)
    for layer in (words, characters, sequence):
        layer.adapt(corpus, batch_size=256)
    return words, characters, sequence


def batched(function, texts: list[str], batch: int = 128):
    import tensorflow as tf

    return [function(tf.constant(texts[start : start + batch])) for start in range(0, len(texts), batch)]


def _tfidf_layers(train_texts: list[str], words, characters):
    """SublinearTfidf layers whose idf (scikit-learn's smooth idf) comes from the training texts."""
    from medcore.text.layers import SublinearTfidf

    layers = []
    for vectorizer, name in ((words, "words_tfidf"), (characters, "chars_tfidf")):
        size = vectorizer.vocabulary_size()
        document_frequency = np.zeros(size)
        for counts in batched(vectorizer, train_texts):
            document_frequency += (counts.numpy() > 0).sum(axis=0)
        idf = np.log((1 + len(train_texts)) / (1 + document_frequency)) + 1
        idf[0] = 0.0  # out-of-vocabulary bucket
        layer = SublinearTfidf(size, name=name)
        layer.idf.assign(idf.astype(np.float32))
        layers.append(layer)
    return layers


def _encoder_branch(ids, recipe: TextRecipe, vocabulary_size: int, n_classes: int):
    import keras

    from medcore.text.layers import MaskedMeanMaxPooling, TokenAndPositionEmbedding

    dim = recipe.encoder_dim
    hidden = TokenAndPositionEmbedding(vocabulary_size, recipe.sequence_length, dim, name="encoder_embedding")(ids)
    hidden = keras.layers.Dropout(0.2, name="encoder_embedding_dropout")(hidden)
    attention = keras.layers.MultiHeadAttention(2, dim // 2, dropout=0.1, name="encoder_attention")(hidden, hidden)
    hidden = keras.layers.LayerNormalization(name="encoder_norm_1")(keras.layers.Add()([hidden, attention]))
    feed = keras.layers.Dense(2 * dim, activation="gelu", name="encoder_ffn_1")(hidden)
    feed = keras.layers.Dropout(0.1, name="encoder_ffn_dropout")(keras.layers.Dense(dim, name="encoder_ffn_2")(feed))
    hidden = keras.layers.LayerNormalization(name="encoder_norm_2")(keras.layers.Add()([hidden, feed]))
    pooled = MaskedMeanMaxPooling(name="encoder_pool")(hidden, ids)
    pooled = keras.layers.Dropout(0.5, name="encoder_dropout")(pooled)
    # Zero output: before its own training the encoder adds nothing to the wide part's logits.
    return keras.layers.Dense(n_classes, kernel_initializer="zeros", name="encoder_logits")(pooled)


def _build_core(width: int, recipe: TextRecipe, vocabulary_size: int, n_classes: int, l2: float):
    """The trainable network on precomputed inputs: (TF-IDF (N, width), token ids (N, S)) -> logits.

    Returns:
        ``(core, wide_only)``; ``wide_only`` shares the wide layer and sees the TF-IDF alone.
    """
    import keras

    feature_input = keras.Input(shape=(width,), name="tfidf")
    ids_input = keras.Input(shape=(recipe.sequence_length,), dtype="int64", name="token_ids")
    wide = keras.layers.Dense(n_classes, kernel_regularizer=keras.regularizers.L2(l2), name="wide_logits")
    wide_logits = wide(feature_input)
    encoder_logits = _encoder_branch(ids_input, recipe, vocabulary_size, n_classes)
    core = keras.Model(
        [feature_input, ids_input], keras.layers.Add(name="logits")([wide_logits, encoder_logits]), name="core"
    )
    return core, keras.Model(feature_input, wide_logits, name="wide")


def _to_sparse(batches) -> object:
    import scipy.sparse as sp

    return sp.vstack([sp.csr_matrix(b.numpy()) for b in batches]).tocsr()


def _make_batches(features, ids, targets, weights, batch_size: int, seed: int):
    import keras

    class Batches(keras.utils.PyDataset):
        """Shuffled mini-batches; TF-IDF rows are kept sparse and made dense per batch.

        With ``ids`` None the inputs are the TF-IDF rows alone (the wide stage).
        """

        def __init__(self):
            super().__init__()
            self.rng = np.random.RandomState(seed)
            self.order = self.rng.permutation(len(targets))

        def __len__(self):
            return int(np.ceil(len(targets) / batch_size))

        def __getitem__(self, index):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            dense = features[rows].toarray().astype(np.float32)
            inputs = dense if ids is None else (dense, ids[rows])
            return inputs, targets[rows].astype(np.float32), weights[rows].astype(np.float32)

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(targets))

    return Batches()


def _calibrated_nll(logits: np.ndarray, y_true: np.ndarray) -> float:
    proba = apply_temperature(logits, fit_temperature(logits, y_true))
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], 1e-12, 1.0))))


def train_network(recipe, seed, train_texts, targets, weights, val_texts, y_val, progress):
    """Fit the wide part, then the encoder; return the end-to-end model, the histories and check logits.

    With ``val_texts`` None (the final fit on every row), nothing is scored: each stage keeps
    its last epoch, so ``recipe.encoder_epochs`` must already be the chosen number (0: no encoder).
    ``check`` holds the trained core's logits of the first 32 validation (or training) texts, to
    compare the saved model with.
    """
    import keras
    import tensorflow as tf

    n_classes = targets.shape[1]
    words, characters, sequence = _vectorizers(recipe, train_texts)
    word_tfidf, char_tfidf = _tfidf_layers(train_texts, words, characters)

    def features(batch):
        return tf.concat([word_tfidf(words(batch)), char_tfidf(characters(batch))], axis=1)

    scored = val_texts is not None
    check_texts = val_texts if scored else train_texts
    x_train, x_val = _to_sparse(batched(features, train_texts)), _to_sparse(batched(features, check_texts))
    ids_train = np.concatenate([b.numpy() for b in batched(sequence, train_texts)])
    ids_val = np.concatenate([b.numpy() for b in batched(sequence, check_texts)])
    x_val_dense = x_val.toarray().astype(np.float32)

    # L2 equal to scikit-learn's LogisticRegression(C) objective averaged over the examples.
    l2 = 1.0 / (2.0 * recipe.inverse_regularisation * len(train_texts))
    core, wide_only = _build_core(x_train.shape[1], recipe, sequence.vocabulary_size(), n_classes, l2)
    wide = wide_only.get_layer("wide_logits")
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    histories = []
    stages = (
        ("wide", wide_only, None, x_val_dense, recipe.wide_epochs, 1e-2),
        ("encoder", core, ids_train, (x_val_dense, ids_val), recipe.encoder_epochs, 1e-3),
    )
    for stage, model, stage_ids, val_inputs, epochs, rate in stages:
        wide.trainable = stage == "wide"
        batches = _make_batches(x_train, stage_ids, targets, weights, recipe.batch_size, seed)
        schedule = keras.optimizers.schedules.CosineDecay(rate, max(1, len(batches) * epochs))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["categorical_accuracy"])
        history: dict = {"stage": stage, "epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}

        def score(model=model, val_inputs=val_inputs, history=history) -> tuple[float, float]:
            """(validation accuracy, temperature-scaled validation log-loss); history gets raw figures."""
            if not scored:
                return float("nan"), float("nan")
            logits = model(val_inputs, training=False).numpy().astype(np.float64)
            raw = apply_temperature(logits, 1.0)
            history["val_loss"].append(float(-np.mean(np.log(np.clip(raw[np.arange(len(y_val)), y_val], 1e-12, 1)))))
            history["val_accuracy"].append(float(np.mean(raw.argmax(axis=1) == y_val)))
            return history["val_accuracy"][-1], _calibrated_nll(logits, y_val)

        def better(candidate: tuple[float, float], incumbent: tuple[float, float]) -> bool:
            # The same rule as the final choice: accuracy first, then calibrated log-loss.
            return candidate[0] > incumbent[0] or (candidate[0] == incumbent[0] and candidate[1] < incumbent[1])

        best = {"score": (-1.0, np.inf), "weights": None, "epoch": 0}
        if stage == "encoder":  # epoch 0: the encoder still adds nothing
            history["epoch"].append(0)
            history["loss"].append(histories[0]["loss"][-1])
            history["accuracy"].append(histories[0]["accuracy"][-1])
            best = {"score": score(), "weights": model.get_weights(), "epoch": 0}
        for epoch in range(1, epochs + 1):
            fit = model.fit(batches, epochs=1, verbose=0, shuffle=False)
            current = score()
            history["epoch"].append(epoch)
            history["loss"].append(float(fit.history["loss"][0]))
            history["accuracy"].append(float(fit.history["categorical_accuracy"][0]))
            # The wide stage is a convex problem (logistic regression): keep where it converged.
            # Without validation the encoder trains for its chosen number of epochs and keeps the last.
            last = epoch == epochs and (stage == "wide" or not scored)
            if last or (stage == "encoder" and scored and better(current, best["score"])):
                best = {"score": current, "weights": model.get_weights(), "epoch": epoch}
            progress.update(1)
            progress.set_postfix(stage=stage, val_acc=f"{current[0]:.3f}", cal_nll=f"{current[1]:.3f}")
        model.set_weights(best["weights"])
        history["best_epoch"] = best["epoch"]
        histories.append(history)

    # A fresh, never compiled copy, so model.keras carries no optimiser state.
    trained = core
    core, _ = _build_core(x_train.shape[1], recipe, sequence.vocabulary_size(), n_classes, l2)
    core.set_weights(trained.get_weights())
    text_input = keras.Input(shape=(), dtype="string", name="text")
    tfidf = keras.layers.Concatenate(name="tfidf_concat")(
        [word_tfidf(words(text_input)), char_tfidf(characters(text_input))]
    )
    end_to_end = keras.Model(text_input, core([tfidf, sequence(text_input)]), name="text_classifier")
    check = core((x_val_dense[:32], ids_val[:32]), training=False).numpy()
    return end_to_end, histories, check
