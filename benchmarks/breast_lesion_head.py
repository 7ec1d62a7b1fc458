"""Print whether an auxiliary lesion-map head helps the breast-ultrasound classifier out of fold.

Not a test; nothing is asserted. Reproduce with (about 3 minutes per setting on 2 cores):
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/breast_lesion_head.py

Issue 26 asks whether lesion-shape information from segmentation helps the breast classifier,
compared with and without on cross-validated figures. Masks predicted by the shipped segmentation
model would leak (it trained on these images), so this gives the classifier the hand-drawn masks
of its own training folds instead: a 1x1-convolution head on the last 7x7 feature map learns each
cell's lesion share (binary cross-entropy, weight ``LAMBDA``), beside the classification loss, and
is dropped after training (inference would be unchanged). The masks (busi_segmentation, 256 px
squashed frames) are restored to each image's original size and reduced as BreastMNIST reduced the
image (centre square, bilinear to 28 px); image and mask are augmented together. Every setting
uses the shipped recipe's folds, seeds, widths, epochs, balanced class weights and epoch choice
(AUC + accuracy on the held fold) in one training loop, so ``LAMBDA`` = 0 is the fair baseline.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

LAMBDAS = (0.0, 0.3, 1.0)


def masks_at_28(data: Path, n_train: int, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Each BreastMNIST train + val row's lesion mask at 28 px (0-255) and whether it has one."""
    from PIL import Image

    seg = np.load(data / "busi_segmentation" / "busi_seg_trainval.npz")
    masks, known = np.zeros((n_rows, 28, 28, 1), np.float32), np.zeros(n_rows, np.float32)
    for mask, (height, width), split, index in zip(
        seg["masks"], seg["original_sizes"], seg["breastmnist_split"], seg["breastmnist_index"]
    ):
        row = index if split == "train" else n_train + index
        full = Image.fromarray(mask * 255).resize((int(width), int(height)), Image.Resampling.NEAREST)
        side = min(width, height)
        left, top = round((width - side) / 2), round((height - side) / 2)
        square = full.crop((left, top, left + side, top + side)).resize((28, 28), Image.Resampling.BILINEAR)
        masks[row, :, :, 0], known[row] = np.asarray(square, np.float32), 1.0
    return masks, known


def train_fold(weight, index, seed, x, y, masks, known, x_held, y_held, recipe):
    import keras
    import tensorflow as tf

    from medcore.core.metrics import auc_ovr, softmax
    from medcore.imaging.cnn import build_member
    from medcore.imaging.train import _augmenter

    keras.utils.set_random_seed(seed)
    member = build_member(28, 1, 2, recipe.width, f"m{index}_", depth=recipe.depth)
    head = keras.layers.Conv2D(1, 1, name=f"m{index}_lesion")(member.get_layer(f"m{index}_cam").output)
    both = keras.Model(member.input, [member.output, head])
    steps = int(np.ceil(len(x) / recipe.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps * recipe.epochs)
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4)
    augmentation = _augmenter(True, seed).layers  # the trainer's own augmentation: geometry, then contrast last
    geometry, contrast = keras.Sequential(augmentation[:-1]), augmentation[-1]
    class_weight = tf.constant(len(y) / (2 * np.maximum(np.bincount(y, minlength=2), 1)), tf.float32)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    batches = (
        tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32), masks, known))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(recipe.batch_size)
    )

    @tf.function
    def step(images, labels, lesion, has_mask):
        moved = geometry(tf.concat([images, lesion], -1), training=True)  # image and mask move together
        images, share = contrast(moved[..., :1], training=True), tf.nn.avg_pool2d(moved[..., 1:] / 255.0, 4, 4, "VALID")
        with tf.GradientTape() as tape:
            logits, lesion_logits = both(images, training=True)
            n = tf.cast(tf.shape(labels)[0], tf.float32)
            classify = tf.reduce_sum(tf.gather(class_weight, labels) * cross_entropy(labels, logits)) / n
            per_image = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=share, logits=lesion_logits), axis=[1, 2, 3]
            )
            outline = tf.reduce_sum(has_mask * per_image) / tf.maximum(tf.reduce_sum(has_mask), 1.0)
            loss = classify + weight * outline + tf.add_n(both.losses)
        optimizer.apply_gradients(zip(tape.gradient(loss, both.trainable_variables), both.trainable_variables))

    best = (-1.0, None, 0)
    for epoch in range(recipe.epochs):
        for batch in batches:
            step(*batch)
        proba = softmax(member(x_held, training=False).numpy())
        score = auc_ovr(y_held, proba) + float(np.mean(proba.argmax(1) == y_held))
        if score > best[0]:
            best = (score, member.get_weights(), epoch + 1)
        if epoch + 1 - best[2] >= recipe.patience:
            break
    member.set_weights(best[1])
    return member


def main() -> None:
    import tensorflow as tf

    from medcore.core.metrics import auc_ovr, softmax
    from medcore.imaging.data import load_medmnist_npz
    from medcore.imaging.train import IMAGE_RECIPES, _as_nhwc, _fold_splits

    tf.config.experimental.enable_op_determinism()
    recipe = IMAGE_RECIPES["breast-ultrasound"]
    data = Path(os.environ.get("MEDCORE_DATA_DIR", "../shared/data"))
    x_train, y_train = load_medmnist_npz(data / recipe.data_file, "train")
    x_val, y_val = load_medmnist_npz(data / recipe.data_file, "val")
    x, y = np.concatenate([_as_nhwc(x_train), _as_nhwc(x_val)]), np.concatenate([y_train, y_val])
    masks, known = masks_at_28(data, len(y_train), len(y))
    print(f"n={len(y)} images ({int(known.sum())} with a hand-drawn mask), 5-fold CV as the shipped recipe")
    for weight in LAMBDAS:
        logits, fold_auc = np.zeros((len(y), 2)), []
        for index, (fit, held) in enumerate(_fold_splits(y, recipe.folds, 0)):
            member = train_fold(
                weight, index, 1000 * index, x[fit], y[fit], masks[fit], known[fit], x[held], y[held], recipe
            )
            logits[held] = member(x[held], training=False).numpy()
            fold_auc.append(auc_ovr(y[held], softmax(logits[held])))
        proba = softmax(logits)
        print(
            f"lesion-map weight {weight}: out-of-fold AUC {auc_ovr(y, proba):.4f}, accuracy "
            f"{np.mean(proba.argmax(1) == y):.4f}; fold AUCs {', '.join(f'{a:.3f}' for a in fold_auc)} "
            f"(mean {np.mean(fold_auc):.4f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
