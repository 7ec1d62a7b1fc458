"""The graph network: GIN-style message passing over atoms and bonds, written in Keras.

Each molecule is a padded graph (``features.graphs``): atom features (A, F), one adjacency
matrix per bond type (4, A, A) and an atom mask. Every layer sends each atom's state along its
bonds (a separate transform per bond type), adds it to the atom's own state and mixes them
(GIN: Xu et al. 2019); the molecule is read out as the masked sum and max of the atom states,
joined with the standardised RDKit descriptors (as chemprop's "RDKit features") and mapped to
one logit (or value) per task. The custom layers are registered, so ``model.keras`` loads with
``safe_mode``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["SETTINGS", "BondMessages", "MaskedReadout", "build_network", "masked_loss", "adjacency_channels"]

SETTINGS = {
    "hidden": 96,
    "layers": 3,
    "dropout": 0.2,
    "learning_rate": 1e-3,
    "batch": 64,
    "max_epochs": 60,
    "patience": 8,
}


@keras.saving.register_keras_serializable(package="medcore.molecules")
class BondMessages(keras.layers.Layer):
    """Sum over bonded neighbours of a per-bond-type linear transform of their states."""

    def __init__(self, units: int, channels: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.channels = channels

    def build(self, input_shape):
        features = input_shape[0][-1]
        self.kernel = self.add_weight(
            shape=(self.channels, features, self.units), initializer="glorot_uniform", name="kernel"
        )

    def call(self, inputs):
        states, adjacency = inputs  # (B, A, F), (B, C, A, A)
        transformed = ops.einsum("baf,cfu->bcau", states, self.kernel)
        return ops.einsum("bcij,bcju->biu", adjacency, transformed)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "channels": self.channels}


@keras.saving.register_keras_serializable(package="medcore.molecules")
class MaskedReadout(keras.layers.Layer):
    """Masked sum and max of the atom states: (B, A, H), (B, A) -> (B, 2H)."""

    def call(self, inputs):
        states, mask = inputs
        mask = ops.expand_dims(mask, -1)
        total = ops.sum(states * mask, axis=1)
        largest = ops.max(states * mask - (1.0 - mask) * 1e4, axis=1)
        return ops.concatenate([total, largest], axis=-1)


def build_network(atom_features: int, descriptors: int, tasks: int, seed: int = 0) -> keras.Model:
    """Inputs ``atoms``, ``adjacency``, ``mask``, ``descriptors``; output (B, tasks) logits or values."""
    s = SETTINGS
    keras.utils.set_random_seed(seed)
    atoms = keras.Input((None, atom_features), name="atoms")
    adjacency = keras.Input((4, None, None), name="adjacency")
    mask = keras.Input((None,), name="mask")
    described = keras.Input((descriptors,), name="descriptors")
    gate = keras.layers.Reshape((-1, 1))(mask)
    states = keras.layers.Multiply()([keras.layers.Dense(s["hidden"], activation="relu")(atoms), gate])
    for _ in range(s["layers"]):
        messages = BondMessages(s["hidden"])([states, adjacency])
        mixed = keras.layers.Add()([states, messages])
        mixed = keras.layers.Dense(s["hidden"], activation="relu")(mixed)
        mixed = keras.layers.Dense(s["hidden"])(mixed)
        mixed = keras.layers.LayerNormalization()(mixed)
        states = keras.layers.Multiply()([keras.layers.Activation("relu")(mixed), gate])
    pooled = MaskedReadout()([states, mask])
    joined = keras.layers.Concatenate()([pooled, keras.layers.Dense(s["hidden"], activation="relu")(described)])
    hidden = keras.layers.Dropout(s["dropout"], seed=seed)(keras.layers.Dense(s["hidden"], activation="relu")(joined))
    out = keras.layers.Dense(tasks, name="out")(hidden)
    return keras.Model([atoms, adjacency, mask, described], out)


def masked_loss(regression: bool):
    """Binary cross-entropy on logits (or squared error) over the labelled cells only (NaN = missing)."""

    def loss(y_true, y_pred):
        known = ops.logical_not(ops.isnan(y_true))
        target = ops.where(known, y_true, ops.zeros_like(y_true))
        if regression:
            cell = ops.square(y_pred - target)
        else:
            cell = ops.maximum(y_pred, 0.0) - y_pred * target + ops.log1p(ops.exp(-ops.abs(y_pred)))
        weight = ops.cast(known, "float32")
        return ops.sum(cell * weight) / ops.maximum(ops.sum(weight), 1.0)

    return loss


def adjacency_channels(codes: np.ndarray) -> np.ndarray:
    """Bond-type codes (N, A, A) uint8 (0 = none, 1..4 = single, double, triple, aromatic) -> (N, 4, A, A) float32."""
    return np.stack([(codes == k) for k in range(1, 5)], axis=1).astype(np.float32)


def _batch(inputs: tuple, rows: np.ndarray) -> list[np.ndarray]:
    """One batch, trimmed to its largest molecule's atom count (the padding costs A^2)."""
    x, codes, mask, descriptors = inputs
    atoms = max(int(mask[rows].sum(axis=1).max()), 1)
    return [
        x[rows, :atoms],
        adjacency_channels(codes[rows, :atoms, :atoms]),
        mask[rows, :atoms],
        descriptors[rows],
    ]


def network_predict(network: keras.Model, inputs: tuple, batch: int = 128) -> np.ndarray:
    """The network's raw outputs (N, tasks) for graph inputs ``(x, codes, mask, descriptors)``."""
    import tensorflow as tf

    order = np.argsort(inputs[2].sum(axis=1), kind="stable")  # similar sizes together: less padding
    out = np.zeros((len(order), network.output_shape[-1]), dtype=np.float64)
    for first in range(0, len(order), batch):
        rows = order[first : first + batch]
        out[rows] = np.asarray(network([tf.constant(part) for part in _batch(inputs, rows)], training=False))
    return out


def fit_network(
    train: tuple,
    y_train: np.ndarray,
    valid: tuple,
    y_valid: np.ndarray,
    regression: bool,
    seed: int = 0,
    progress=None,
    epochs: int | None = None,
):
    """Train a network with early stopping on the validation loss; returns (network, epochs, history).

    Args:
        train, valid: graph inputs ``(x, codes, mask, descriptors)``.
        y_train, y_valid: (N, tasks) float targets, NaN where missing.
        regression: squared error instead of cross-entropy.
        progress: called after every epoch with (epoch, max_epochs).
        epochs: the most epochs (default ``SETTINGS``).
    """
    import tensorflow as tf

    s = SETTINGS
    network = build_network(train[0].shape[-1], train[3].shape[-1], y_train.shape[1], seed)
    loss = masked_loss(regression)
    optimizer = keras.optimizers.Adam(s["learning_rate"])
    network.compile(optimizer=optimizer, loss=loss)
    rng = np.random.default_rng(seed)
    best, best_weights, since, history = np.inf, network.get_weights(), 0, []
    epochs_run = 0
    max_epochs = epochs or s["max_epochs"]
    for epoch in range(max_epochs):
        order = rng.permutation(len(y_train))
        for first in range(0, len(order), s["batch"]):
            rows = order[first : first + s["batch"]]
            network.train_on_batch(
                [tf.constant(p) for p in _batch(train, rows)], tf.constant(y_train[rows].astype(np.float32))
            )
        predicted = network_predict(network, valid)
        valid_loss = float(loss(tf.constant(y_valid.astype(np.float32)), tf.constant(predicted.astype(np.float32))))
        history.append(valid_loss)
        epochs_run = epoch + 1
        if progress:
            progress(epoch + 1, max_epochs)
        if valid_loss < best - 1e-4:
            best, best_weights, since = valid_loss, network.get_weights(), 0
        else:
            since += 1
            if since >= s["patience"]:
                break
    network.set_weights(best_weights)
    return network, epochs_run, history
