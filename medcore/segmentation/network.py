"""The Keras U-Net: four levels, batch-normalised double convolutions, a sigmoid lesion map.

A second head reads the bottleneck (global average pooling, one sigmoid unit): the probability
that the frame holds a lesion at all. Trained beside the map it is a second task for the shared
encoder, and a card cut-off above 0 lets the model leave a frame empty on it.

``dice_bce`` is the map's training loss (soft Dice + binary cross-entropy). ``augment`` keeps
ultrasound plausible: left-right flips, small shifts, zoom into the frame, gain and gamma changes,
never up-down flips or rotations (the transducer is always at the top).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIDE", "build_unet", "dice_bce", "augment"]

SIDE = 128


def _block(x, filters: int, name: str):
    from keras import layers

    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def build_unet(base: int = 16, seed: int = 0):
    """An untrained U-Net with its presence head: SIDE x SIDE x 1 -> ``{"lesion": (N, SIDE, SIDE, 1)
    probabilities, "present": (N, 1) probability}``."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIDE, SIDE, 1), name="image")
    skips, x = [], inputs
    for level, filters in enumerate((base, base * 2, base * 4, base * 8)):
        x = _block(x, filters, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(name=f"pool{level}")(x)
    x = _block(x, base * 16, "bottom")
    x = layers.Dropout(0.3, seed=seed, name="bottom_dropout")(x)
    bottom = x
    for level, filters in reversed(list(enumerate((base, base * 2, base * 4, base * 8)))):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _block(x, filters, f"dec{level}")
    out = layers.Conv2D(1, 1, activation="sigmoid", name="lesion")(x)
    pooled = layers.GlobalAveragePooling2D(name="present_pool")(bottom)
    present = layers.Dense(1, activation="sigmoid", name="present")(pooled)
    return keras.Model(inputs, {"lesion": out, "present": present}, name="breast_lesion_unet")


def dice_bce(y_true, y_pred):
    """Soft Dice loss (per image) + binary cross-entropy."""
    from keras import ops

    y_true = ops.cast(y_true, "float32")
    inter = ops.sum(y_true * y_pred, axis=(1, 2, 3))
    total = ops.sum(y_true, axis=(1, 2, 3)) + ops.sum(y_pred, axis=(1, 2, 3))
    dice = 1.0 - (2.0 * inter + 1.0) / (total + 1.0)
    bce = ops.mean(ops.binary_crossentropy(y_true, y_pred), axis=(1, 2, 3))
    return dice + bce


def augment(images: np.ndarray, masks: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A randomly flipped (left-right), shifted (up to 8 px), zoomed (half the frames, into a window of
    80-100 % of the side), gain- and gamma-changed copy of a batch of (N, S, S, 1) floats in [0, 1]."""
    from PIL import Image

    images, masks = images.copy(), masks.copy()
    side = images.shape[1]
    for i in range(len(images)):
        if rng.random() < 0.5:
            images[i], masks[i] = images[i, :, ::-1], masks[i, :, ::-1]
        if rng.random() < 0.5:
            window = int(side * rng.uniform(0.8, 1.0))
            top, left = rng.integers(0, side - window + 1, 2)
            box = (int(left), int(top), int(left) + window, int(top) + window)
            for array, mode in ((images, Image.Resampling.BILINEAR), (masks, Image.Resampling.NEAREST)):
                array[i, ..., 0] = np.asarray(Image.fromarray(array[i, ..., 0]).resize((side, side), mode, box=box))
        dy, dx = rng.integers(-8, 9, 2)
        images[i] = np.roll(images[i], (dy, dx), axis=(0, 1))
        masks[i] = np.roll(masks[i], (dy, dx), axis=(0, 1))
        gain, offset, gamma = rng.uniform(0.85, 1.15), rng.uniform(-0.05, 0.05), rng.uniform(0.8, 1.25)
        images[i] = np.clip(images[i] ** gamma * gain + offset, 0.0, 1.0)
    return images, masks
