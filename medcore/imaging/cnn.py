"""The image network: a small VGG-style CNN per ensemble member, and Grad-CAM over it.

Every member is built into one flat Keras graph under its own name prefix, so the shipped
``model.keras`` is a single functional model (float32 (N, S, S, C) in [0, 255] -> logits
(N, K), the members' mean) and Grad-CAM can reach each member's last convolution, named
``<prefix>cam``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["build_member", "build_ensemble", "gradcam_function", "feature_model"]


def _member_logits(inputs, n_classes: int, width: int, prefix: str, dropout: float, depth: int = 3):
    import keras
    from keras import layers

    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name=f"{prefix}scale")(inputs)
    stages = [(width * 2**stage, 2) for stage in range(depth)]
    for stage, (filters, convs) in enumerate(stages):
        for conv in range(convs):
            last = stage == len(stages) - 1 and conv == convs - 1
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{prefix}conv{stage}_{conv}")(x)
            # momentum 0.9, not 0.99: with ~10-80 steps an epoch the moving statistics
            # otherwise lag and validation looks stuck on one class for several epochs.
            x = layers.BatchNormalization(momentum=0.9, name=f"{prefix}bn{stage}_{conv}")(x)
            x = layers.Activation("relu", name=f"{prefix}cam" if last else f"{prefix}relu{stage}_{conv}")(x)
        if stage < len(stages) - 1:
            x = layers.MaxPooling2D(name=f"{prefix}pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name=f"{prefix}gap")(x)
    x = layers.Dropout(dropout, name=f"{prefix}dropout")(x)
    return layers.Dense(n_classes, name=f"{prefix}logits", kernel_regularizer=keras.regularizers.L2(1e-4))(x)


def build_member(
    side: int, channels: int, n_classes: int, width: int, prefix: str, dropout: float = 0.3, depth: int = 3
):
    """One trainable member: float32 (N, side, side, channels) in [0, 255] -> logits (N, K).

    ``depth`` stages of 2 convolutions, widths ``width``, 2 x ``width``, ...; max-pooling between them.
    """
    import keras

    inputs = keras.Input((side, side, channels), name="image")
    logits = _member_logits(inputs, n_classes, width, prefix, dropout, depth)
    return keras.Model(inputs, logits, name=prefix.rstrip("_"))


def build_ensemble(members: list, side: int, channels: int, n_classes: int, width: int, depth: int = 3):
    """One flat model averaging the members' logits, with the members' trained weights."""
    import keras

    inputs = keras.Input((side, side, channels), name="image")
    outputs = [_member_logits(inputs, n_classes, width, m.name + "_", 0.3, depth) for m in members]
    logits = outputs[0] if len(outputs) == 1 else keras.layers.Average(name="ensemble_logits")(outputs)
    ensemble = keras.Model(inputs, logits, name="ensemble")
    for member in members:
        for layer in member.layers:
            if layer.weights:
                ensemble.get_layer(layer.name).set_weights(layer.get_weights())
    return ensemble


def gradcam_function(model):
    """A compiled Grad-CAM (Selvaraju et al.) averaged over the ensemble's members.

    Args:
        model: an ensemble from ``build_ensemble`` (or any model with ``*cam`` layers).

    Returns:
        A function ``(batch float32 (1, S, S, C) in [0, 255], class_index int) -> float
        array (s, s) in [0, 1]`` at the last convolution's resolution (7x7 for 28x28
        inputs); all zeros when no region supports the class. Traced once, then reused.

    The shipped models compute the same without TensorFlow (``medcore.imaging.numpy_cnn``); this
    is the reference the tests compare that with.
    """
    import keras
    import tensorflow as tf

    cams = [layer.output for layer in model.layers if layer.name.endswith("cam")]
    if not cams:
        raise ValueError(f"model '{model.name}' has no layer named '*cam' to explain")
    cam_model = keras.Model(model.inputs, [cams, model.output])

    signature = [tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32), tf.TensorSpec([], tf.int32)]

    @tf.function(input_signature=signature, autograph=False)  # traced once; no generated code files
    def _heatmap(batch, class_index):
        with tf.GradientTape() as tape:
            activations, logits = cam_model(batch, training=False)
            score = tf.gather(logits, class_index, axis=1)
        gradients = tape.gradient(score, activations)
        heatmap = 0.0
        for activation, gradient in zip(activations, gradients):
            weights = tf.reduce_mean(gradient, axis=(1, 2))  # (1, F): importance of each channel
            heatmap += tf.nn.relu(tf.reduce_sum(activation * weights[:, None, None, :], axis=-1))[0]
        return heatmap

    def gradcam(batch: np.ndarray, class_index: int) -> np.ndarray:
        heatmap = _heatmap(tf.constant(batch, dtype=tf.float32), tf.constant(class_index, dtype=tf.int32))
        heatmap = heatmap.numpy().astype(np.float64)
        peak = heatmap.max()
        return heatmap / peak if peak > 0 else np.zeros_like(heatmap)

    return gradcam


def feature_model(model):
    """The ensemble with a second output: every member's pooled features side by side.

    Args:
        model: an ensemble from ``build_ensemble`` (its members' ``*gap`` layers are found by name).

    Returns:
        A Keras model: float32 (N, S, S, C) in [0, 255] -> ``(logits (N, K), features (N, F))``,
        F = members x the last stage's width. The domain check measures distances on these.
    """
    import keras

    pooled = [layer.output for layer in model.layers if layer.name.endswith("gap")]
    if not pooled:
        raise ValueError(f"model '{model.name}' has no '*gap' layer to take features from")
    features = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="domain_features")(pooled)
    return keras.Model(model.input, [model.output, features], name=f"{model.name}_with_features")
