"""Train an image bundle: an ensemble of small CNNs on a MedMNIST ``.npz`` or the Kermany chest X-ray
folder (prepared as uploads are: the recipe's framing and resizing), with its domain check.

Each member is trained with augmentation and a cosine learning-rate schedule; after every
epoch it is scored on held-out images and the epoch with the best AUC + accuracy is kept
(early stopping after ``patience`` epochs without improvement). Where data are small the
recipe asks for k-fold cross-validation over train + val: member i trains on every fold but
i, and the members' out-of-fold predictions stand for new images; otherwise the members
train on train and the val split stands for new images. On those held-out predictions
test-time flipping is kept only if it helps, a calibration is chosen out of fold (none, a
temperature or class-wise scaling), binary models get an operating threshold (the recipe's
sensitivity target, else Youden's J), and every figure gets a 95 % bootstrap interval (over
patients where the data name them). A recipe with a ``small`` recipe gets that network too, in
the same bundle, for uploads under ``SMALL_INPUT`` px. The domain check
(``medcore.imaging.domain``) is fitted on the training images' pooled features and its threshold
set on held-out genuine images; it is measured on other modalities and on synthetic and
photographic inputs (``medcore.imaging.negatives``). Nothing here looks at a test split.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from medcore.core.bundle import sha256_file, write_bundle
from medcore.core.calibration import (
    apply_temperature,
    calibrate,
    calibration_method,
    choose_calibration,
    cross_fitted_calibration,
)
from medcore.core.metrics import (
    auc_ovr,
    binary_operating_point,
    brier_score,
    classification_summary,
    cross_fitted_thresholds,
    expected_calibration_error,
    reliability_curve,
    sensitivity_threshold,
    youden_threshold,
)
from medcore.core.uncertainty import (
    bootstrap_intervals,
    calibration_intervals,
    classification_intervals,
    classification_scalars,
    with_intervals,
)
from medcore.imaging.data import load_chest_xray, load_medmnist_npz, prepared_batch
from medcore.imaging.domain import _features, fit_domain_check
from medcore.imaging.recipes import IMAGE_RECIPES, ImageRecipe

__all__ = ["IMAGE_RECIPES", "ImageRecipe", "patient_split", "train_image_model", "train_member"]


def _augmenter(flip: bool, seed: int):
    import keras

    steps = [
        keras.layers.RandomRotation(0.05, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seed + 2),
        keras.layers.RandomContrast(0.1, seed=seed + 3),
    ]
    if flip:
        steps.insert(0, keras.layers.RandomFlip("horizontal", seed=seed + 4))
    return keras.Sequential(steps, name="augment")


def _upload_artefacts(seed: int, side: int):
    """A batch function adding what real uploads show: a black or white band along some edges (a
    border or a scanner's frame) in 30 % of the images, and a bright text-marker block in 40 %."""
    import tensorflow as tf

    generator = tf.random.Generator.from_seed(seed)
    rows = tf.reshape(tf.range(side, dtype=tf.float32) / side, (1, side, 1, 1))
    cols = tf.reshape(tf.range(side, dtype=tf.float32) / side, (1, 1, side, 1))

    def apply(batch):
        n = tf.shape(batch)[0]

        def draw(low=0.0, high=1.0):
            return generator.uniform((n, 1, 1, 1), low, high)

        framed = tf.cast(draw() < 0.3, tf.float32)
        top, bottom, left, right = (draw(0.0, 0.12) * framed * tf.cast(draw() < 0.5, tf.float32) for _ in range(4))
        border = (rows < top) | (rows > 1 - bottom) | (cols < left) | (cols > 1 - right)
        batch = tf.where(border, tf.where(draw() < 0.7, 0.0, 255.0), batch)
        centre_row, centre_col = draw(0.05, 0.95), draw(0.05, 0.95)
        marker = (tf.abs(rows - centre_row) < draw(0.01, 0.03)) & (tf.abs(cols - centre_col) < draw(0.02, 0.06))
        return tf.where(marker & (draw() < 0.4), draw(200.0, 255.0), batch)

    return apply


def _as_nhwc(images: np.ndarray) -> np.ndarray:
    return (images[..., None] if images.ndim == 3 else images).astype(np.float32)


def _data_location(recipe: ImageRecipe, data_path: Path) -> Path:
    """The recipe's data file or folder, given it or a data folder that holds it (``../shared/data``,
    or ``../shared/data/medmnist`` for the MedMNIST files)."""
    if data_path.is_dir() and not (data_path / "manifest.csv").is_file():
        for candidate in (data_path / recipe.data_file, data_path / Path(recipe.data_file).name):
            if candidate.exists():
                return candidate
    return data_path


def patient_split(labels: np.ndarray, patients: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(fit, held)``: one fold of a 6-fold split grouped by patient and stratified by
    label, so no patient has images on both sides."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(6, shuffle=True, random_state=seed)
    return next(splitter.split(np.zeros(len(labels)), labels, patients))


def _restored_originals(recipe: ImageRecipe, data_path: Path, labels: np.ndarray, n_train: int) -> dict | None:
    """The recipe's ``originals`` (when the file is there), restored to their original size and aspect ratio.

    Returns:
        None, or ``{"note", "images", "labels", "groups": None, "rows"}``: ``rows`` index train + val
        (train first), so each original can be read by the cross-validation member that did not train on it.
    """
    if not recipe.originals:
        return None
    file = data_path.parent.parent / recipe.originals
    if not file.is_file():
        return None
    with np.load(file, allow_pickle=False) as data:
        images, sizes = data["images"], data["original_sizes"]
        rows = np.where(data["breastmnist_split"] == "train", 0, n_train) + data["breastmnist_index"]
    restored = [
        np.asarray(Image.fromarray(image).resize((int(width), int(height)), Image.Resampling.LANCZOS))
        for image, (height, width) in zip(images, sizes)
    ]
    return {
        "note": f"{len(rows)} originals of the same images ({recipe.originals}: {images.shape[1]} px copies of the "
        f"whole frame, restored to their original size and aspect ratio, {sizes[:, 1].min()}-{sizes[:, 1].max()} px "
        "wide), read as uploads are, each by the member that did not train on it",
        "images": restored,
        "labels": labels[rows],
        "groups": None,
        "rows": rows,
    }


def _training_images(recipe: ImageRecipe, data_path: Path, seed: int):
    """The images the recipe trains and validates on, prepared as uploads are.

    Returns:
        ``(x_train, y_train, x_val, y_val, val_groups, split_note, full_size)``: float32 NHWC
        images; ``val_groups`` the patient of each validation image (None when each image is its
        own); ``full_size`` None, or ``{"note", "images", "labels", "groups"}``: validation images
        restored to the size clinicians upload, with their patients.
    """
    if recipe.framing != "squash":
        x_train, y_train = load_medmnist_npz(data_path, "train")
        x_val, y_val = load_medmnist_npz(data_path, "val")
        note = f"MedMNIST's train ({len(y_train)} images) and val ({len(y_val)} images) splits"
        full_size = _restored_originals(recipe, data_path, np.concatenate([y_train, y_val]), len(y_train))
        return _as_nhwc(x_train), y_train, _as_nhwc(x_val), y_val, None, note, full_size
    images, labels, patients, rows = load_chest_xray(data_path, list(recipe.labels))
    sizes = [(int(row["original_width"]), int(row["original_height"])) for row in rows]
    fit, held = patient_split(labels, patients, seed)
    note = (
        f"{len(fit)} images of {len(set(patients[fit]))} patients for fitting; {len(held)} images of "
        f"{len(set(patients[held]))} other patients for validation (one fold of a 6-fold split grouped by "
        f"patient and stratified by label, seed {seed})"
    )
    x = prepared_batch(list(images), recipe.side, recipe.channels, **recipe.preparation)
    side = images.shape[1]
    larger = np.array([i for i in held if sizes[i] != (side, side)])  # originals that were not the file's size
    full_size = {
        "note": f"the validation X-rays whose originals were not {side} px, restored to their original size and "
        f"aspect ratio ({len(larger)} images, up to {max(sizes[i][0] for i in larger)} px wide)",
        "images": [np.asarray(Image.fromarray(images[i]).resize(sizes[i], Image.Resampling.LANCZOS)) for i in larger],
        "labels": labels[larger],
        "groups": patients[larger],
    }
    return x[fit], labels[fit], x[held], labels[held], patients[held], note, full_size


def train_member(recipe, index, seed, x_train, y_train, x_val, y_val, epochs, progress):
    import keras
    import tensorflow as tf

    from medcore.imaging.cnn import build_member

    keras.utils.set_random_seed(seed)
    n_classes = len(recipe.labels)
    model = build_member(recipe.side, x_train.shape[-1], n_classes, recipe.width, f"m{index}_", depth=recipe.depth)
    steps_per_epoch = int(np.ceil(len(x_train) / recipe.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps_per_epoch * epochs)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    augment = _augmenter(recipe.flip, seed)
    artefacts = _upload_artefacts(seed + 5, recipe.side) if recipe.artefacts else (lambda x: x)
    dataset = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
        .batch(recipe.batch_size)
        .map(lambda x, y: (augment(artefacts(x), training=True), y), num_parallel_calls=1, deterministic=True)
        .prefetch(2)
    )
    class_weight = None
    if recipe.balanced:
        counts = np.bincount(y_train, minlength=n_classes)
        class_weight = {k: float(len(y_train) / (n_classes * max(c, 1))) for k, c in enumerate(counts)}
    history = {"epoch": [], "loss": [], "val_loss": [], "val_auc": [], "val_accuracy": []}
    best = {"score": -1.0, "weights": None, "epoch": -1}
    for epoch in range(epochs):
        fit = model.fit(dataset, epochs=1, verbose=0, class_weight=class_weight, shuffle=False)
        logits = model(x_val, training=False).numpy()
        proba = apply_temperature(logits, 1.0)
        auc = auc_ovr(y_val, proba)
        val_loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y_val)), y_val], 1e-12, 1))))
        history["epoch"].append(epoch + 1)
        history["loss"].append(float(fit.history["loss"][0]))
        history["val_loss"].append(val_loss)
        history["val_auc"].append(auc)
        history["val_accuracy"].append(float(np.mean(proba.argmax(1) == y_val)))
        # Select on AUC + accuracy, the two figures MedMNIST reports: AUC alone can pick an
        # early epoch that ranks well but whose decision boundary is still off.
        score = auc + history["val_accuracy"][-1]
        if score > best["score"]:
            best = {"score": score, "weights": model.get_weights(), "epoch": epoch + 1}
        progress.update(1)
        progress.set_postfix(member=index + 1, val_auc=f"{auc:.3f}", val_acc=f"{history['val_accuracy'][-1]:.3f}")
        if epoch + 1 - best["epoch"] >= recipe.patience:
            break
    model.set_weights(best["weights"])
    history["best_epoch"] = best["epoch"]
    return model, history


def _fold_splits(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, held rows) of each cross-validation member: stratified, seeded."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _train_members(recipe, seed, x_train, y_train, x_val, y_val, folds, epochs, n_members, progress):
    """Train the members; return them, their histories and held-out images with their logits.

    Returns:
        ``(members, histories, x_held, y_held, plain_logits, flipped_logits, fit_rows_of_member)``:
        with ``folds`` > 1, every train + val image is held out once (out-of-fold logits of the
        member that did not train on it); else the val images, predicted by the whole ensemble
        (filled in by the caller, returned here as None).
    """
    members, histories = [], []
    if folds > 1:
        x_all, y_all = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
        plain = np.zeros((len(y_all), len(recipe.labels)))
        flipped = np.zeros_like(plain)
        for index, (fit_rows, held_rows) in enumerate(_fold_splits(y_all, folds, seed)):
            member, history = train_member(
                recipe,
                index,
                seed + 1000 * index,
                x_all[fit_rows],
                y_all[fit_rows],
                x_all[held_rows],
                y_all[held_rows],
                epochs,
                progress,
            )
            plain[held_rows] = member(x_all[held_rows], training=False).numpy()
            flipped[held_rows] = (
                plain[held_rows] + member(x_all[held_rows][:, :, ::-1].copy(), training=False).numpy()
            ) / 2
            progress.total -= epochs - len(history["epoch"])
            progress.refresh()
            members.append(member)
            histories.append(history)
        return members, histories, x_all, y_all, plain, flipped
    for index in range(n_members):
        member, history = train_member(
            recipe, index, seed + 1000 * index, x_train, y_train, x_val, y_val, epochs, progress
        )
        progress.total -= epochs - len(history["epoch"])
        progress.refresh()
        members.append(member)
        histories.append(history)
    return members, histories, x_val, y_val, None, None


def _decision_figures(is_positive: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """The card's decision figures from yes/no decisions (named as ``classification_scalars`` names them)."""
    point = binary_operating_point(is_positive, decided, 0.5)
    return {
        "decision_accuracy": point["accuracy"],
        **{k: point[k] for k in ("sensitivity", "specificity", "ppv", "npv")},
    }


def train_image_model(
    name: str,
    data_path: Path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    members: int | None = None,
    command: str = "",
    recipe: ImageRecipe | None = None,
) -> Path:
    """Train, calibrate, check the domain, evaluate and write the bundle of image model ``name``.

    Args:
        name: one of ``IMAGE_RECIPES``.
        data_path: the recipe's data (a MedMNIST ``.npz`` with train and val splits, or the
            chest_xray folder), or a data folder holding it (``../shared/data``).
        epochs: maximum epochs per member (default: the recipe's).
        seed: base random seed; member i uses ``seed + 1000 * i``.
        out_dir: bundle folder (default ``models/<name>``).
        members: ensemble size (default: the recipe's); with a cross-validated recipe, the
            number of folds (1 falls back to the train/val split).
        command: the command line, recorded in the card.
        recipe: train this recipe under ``name`` instead of ``IMAGE_RECIPES[name]`` (the small
            network of a recipe is trained this way).

    Returns:
        The bundle folder.
    """
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    from medcore.core.settings import models_dir
    from medcore.imaging.cnn import build_ensemble, feature_model

    recipe = recipe or IMAGE_RECIPES[name]
    requested_epochs, requested_members, root = epochs, members, Path(data_path)
    data_path = _data_location(recipe, root)
    epochs = epochs or recipe.epochs
    n_members = members or recipe.members
    folds = (members or recipe.folds) if recipe.folds else 0
    folds = folds if folds > 1 else 0
    started = time.time()
    tf.config.experimental.enable_op_determinism()
    x_train, y_train, x_val, y_val, held_groups, split_note, full_size = _training_images(recipe, data_path, seed)
    total = epochs * (folds or n_members)
    with tqdm(total=total, desc=f"training {name}", unit="epoch", file=sys.stderr) as progress:
        trained, histories, x_held, y_held, plain, flipped = _train_members(
            recipe, seed, x_train, y_train, x_val, y_val, folds, epochs, n_members, progress
        )

    ensemble = build_ensemble(trained, recipe.side, x_train.shape[-1], len(recipe.labels), recipe.width, recipe.depth)
    feature_net = feature_model(ensemble)
    if plain is None:  # train/val split: the whole ensemble predicts the val images
        plain = ensemble(x_held, training=False).numpy().astype(np.float64)
        flipped = (plain + ensemble(x_held[:, :, ::-1].copy(), training=False).numpy()) / 2
    use_flip = recipe.flip and auc_ovr(y_held, apply_temperature(flipped, 1)) > auc_ovr(
        y_held, apply_temperature(plain, 1)
    )
    logits = flipped if use_flip else plain
    calibration_choice = choose_calibration(logits, y_held, seed=seed, class_wise=True)
    raw, calibrated = apply_temperature(logits, 1.0), calibrate(logits, calibration_choice)
    # A kept calibration was fitted on these very rows: the card's probability figures (ECE, Brier and, as
    # class-wise scaling can move an argmax, accuracy, F1 and AUC) come from cross-fitting instead, each
    # row calibrated by parameters fitted on the other folds. The shipped threshold reads ``calibrated``.
    fitted = calibration_choice["chosen"] != "none"
    honest = cross_fitted_calibration(logits, y_held, calibration_choice["chosen"], seed=seed) if fitted else calibrated
    labels = list(recipe.labels)
    positive = None if recipe.positive_label is None else labels.index(recipe.positive_label)
    summary = classification_summary(y_held, honest, labels, positive)
    if folds:  # each member on its own held-out fold, at its kept epoch
        member_auc = [h["val_auc"][h["best_epoch"] - 1] for h in histories]
        member_note = "each member alone on the fold it did not train on, which also chose its epoch (optimistic)"
    else:
        member_auc = [auc_ovr(y_held, apply_temperature(m(x_held, training=False).numpy(), 1)) for m in trained]
        member_note = "each member alone on the val split"

    threshold, decided = None, None
    operating_point: dict = {"rule": "argmax of the calibrated probabilities"}
    if positive is not None:
        if recipe.sensitivity_target:
            target = recipe.sensitivity_target

            def choose(y, score):
                return sensitivity_threshold(y, score, target)

            chosen_by = f"the highest threshold keeping sensitivity >= {target:.2f}"
        else:
            choose, chosen_by = youden_threshold, "Youden's J"
        is_positive, score = y_held == positive, calibrated[:, positive]
        threshold = choose(is_positive, score)
        # The shipped threshold was chosen on every held-out row, so its figures on them are optimistic;
        # the card's decision figures come from cross-fitting: each row decided by a threshold chosen on
        # the other folds (patients kept whole).
        decided = score >= cross_fitted_thresholds(is_positive, score, choose, held_groups, seed=seed)
        operating_point = {
            "rule": f"'{recipe.positive_label}' when its calibrated probability >= threshold "
            f"({chosen_by} on the held-out predictions; the model was trained with class-balanced weights)",
            "target": {"sensitivity": recipe.sensitivity_target} if recipe.sensitivity_target else "Youden's J",
            "positive_label": recipe.positive_label,
            "threshold": threshold,
            "validation": {
                **binary_operating_point(is_positive, score, threshold),
                "note": "optimistic (same rows chose the threshold)",
            },
            "cross_fitted": {
                **{k: v for k, v in binary_operating_point(is_positive, decided, 0.5).items() if k != "threshold"},
                "note": "each row decided by the threshold chosen on the other folds of a 5-fold split"
                + (" (patients kept whole)" if held_groups is not None else "")
                + ": the card's decision figures",
            },
        }
    # Bootstrap over patients where one patient has several images (their images move together).
    intervals = classification_intervals(y_held, honest, positive, threshold, held_groups, seed=seed)
    if decided is not None:
        intervals.update(
            bootstrap_intervals(
                lambda rows: _decision_figures(is_positive[rows], decided[rows]), len(y_held), held_groups, seed=seed
            )
        )
    before_intervals = calibration_intervals(y_held, raw, held_groups, seed=seed)
    figures = {
        "split": f"{folds}-fold cross-validation over train + val (out-of-fold)"
        if folds
        else "validation patients (grouped by patient)"
        if held_groups is not None
        else "val",
        "n": summary["n"],
        "auc": summary["auc"],
        "accuracy": summary["accuracy"],
        "macro_f1": summary["macro_f1"],
        "ece": summary["ece"],
        "brier": summary["brier"],
    }
    if decided is not None:
        figures.update(_decision_figures(is_positive, decided))
    figures = with_intervals(figures, intervals)
    figures["member_auc"] = member_auc

    check, domain_card = fit_domain_check(
        recipe,
        seed,
        feature_net,
        np.concatenate([x_train, x_val]) if folds else x_train,
        x_held,
        data_path,
        folds,
        full_size,
    )
    if full_size is not None and (folds or "rows" not in full_size):  # originals, read as uploads are
        batch = prepared_batch(full_size["images"], recipe.side, x_train.shape[-1], **recipe.preparation)
        if "rows" in full_size:  # each by the cross-validation member that did not train on its image
            full_logits = np.zeros((len(batch), len(labels)))
            fold_of = np.zeros(len(y_held), int)
            for index, (_, held_rows) in enumerate(_fold_splits(y_held, folds, seed)):
                fold_of[held_rows] = index
            for index, member in enumerate(trained):
                mine = np.flatnonzero(fold_of[full_size["rows"]] == index)
                if len(mine):
                    logits = member(batch[mine], training=False).numpy()
                    if use_flip:
                        logits = (logits + member(batch[mine][:, :, ::-1].copy(), training=False).numpy()) / 2
                    full_logits[mine] = logits
        else:
            full_logits = _features(feature_net, batch)[0]
            if use_flip:
                full_logits = (full_logits + _features(feature_net, batch[:, :, ::-1].copy())[0]) / 2
        full_proba = calibrate(full_logits, calibration_choice)
        full_y = full_size["labels"]
        figures["full_size"] = with_intervals(
            {
                "images": full_size["note"],
                "n": len(full_y),
                **classification_scalars(full_y, full_proba, positive, threshold),
            },
            classification_intervals(full_y, full_proba, positive, threshold, full_size["groups"], seed=seed),
        )
        if "rows" in full_size:  # the same images as the training files hold them, for the comparison
            rows = full_size["rows"]
            figures["full_size"]["same_images_as_trained"] = classification_scalars(
                y_held[rows], calibrated[rows], positive, threshold
            )
    means = x_train.reshape(len(x_train), -1).mean(axis=1)
    stds = x_train.reshape(len(x_train), -1).std(axis=1)
    wall_time = time.time() - started
    held_description = (
        f"{folds}-fold cross-validation over train + val ({len(y_held)} images, stratified, seed {seed}): member i "
        "trains on the other folds and early-stops on fold i; the out-of-fold predictions chose test-time "
        "flipping, chose and fitted the calibration and the threshold, and give every figure in this card"
        if folds
        else f"{split_note}; the validation images chose the epoch, test-time flipping, the calibration and the "
        "threshold, and give every figure in this card (AUC and accuracy optimistic for the epoch and flip)"
    )
    if positive is not None:
        held_description += (
            "; decision figures cross-fitted (each row decided by a threshold chosen on the other folds)"
        )
    if fitted:
        held_description += "; a kept calibration's figures cross-fitted likewise"
    framing = (
        f"the whole frame squashed to a square (aspect ratio not kept) -> {recipe.source[1]} resize to "
        f"{recipe.source[0]} px "
        "(as the training files were made from the originals)"
        if recipe.framing == "squash"
        else "centre crop to a square"
    )
    widths = "/".join(str(recipe.width * 2**stage) for stage in range(recipe.depth))
    card = {
        "name": name,
        "version": "1.1.0",
        "kind": "image",
        "task": recipe.task,
        "description": recipe.description,
        "intended_use": recipe.intended_use,
        "out_of_scope_use": recipe.out_of_scope_use,
        "labels": labels,
        "input": {
            "shape": [recipe.side, recipe.side, int(x_train.shape[-1])],
            "dtype": "uint8 (float accepted)",
            "value_range": [0, 255],
            "channels": "grayscale" if recipe.channels == 1 else "RGB",
            "accepts": "PNG, JPEG, 16-bit PNG, DICOM; arrays (N, H, W) or (N, H, W, 3) of any size",
            "modality": recipe.modality,
            "ordinal_labels": recipe.ordinal,
            "dicom_modalities": list(recipe.modalities),
            "training_intensity": {
                "mean_mean": float(means.mean()),
                "mean_std": float(means.std()),
                "std_mean": float(stds.mean()),
                "std_std": float(stds.std()),
            },
        },
        "preprocessing": {
            "steps": "decode (DICOM: rescale, VOI LUT/window, MONOCHROME1 inverted) -> "
            f"{'grayscale' if recipe.channels == 1 else 'RGB'} -> {framing} -> "
            f"{recipe.resample} resize to {recipe.side}x{recipe.side} -> [0, 255] scaled to [-1, 1] inside the model",
            "framing": recipe.framing,
            "source": list(recipe.source) if recipe.source else None,
            **({"resample": recipe.resample} if recipe.resample != "bicubic" else {}),
            "test_time_flip": bool(use_flip),
        },
        "architecture": f"{len(trained)} x VGG-style CNN ({recipe.depth} stages of 2 conv3x3+BN+ReLU, widths "
        f"{widths}, global average pooling, dropout 0.3), logits averaged",
        "operating_point": operating_point,
        "calibration": {
            "method": calibration_method(calibration_choice, "out-of-fold" if folds else "val"),
            "chosen": calibration_choice["chosen"],
            **{k: calibration_choice[k] for k in ("temperature", "scale", "bias") if calibration_choice[k] is not None},
            "choice": calibration_choice,
            "validation_before": with_intervals(
                {"ece": expected_calibration_error(y_held, raw), "brier": brier_score(y_held, raw)},
                {k: before_intervals[k] for k in ("ece", "brier")},
            ),
            "validation_after": {
                **with_intervals(
                    {"ece": summary["ece"], "brier": summary["brier"]}, {k: intervals[k] for k in ("ece", "brier")}
                ),
                **(
                    {"note": "cross-fitted: each row calibrated by parameters fitted on the other folds"}
                    if fitted
                    else {}
                ),
            },
        },
        "domain_check": domain_card,
        "training": {
            "dataset": recipe.dataset or f"MedMNIST v2, {Path(recipe.data_file).name}",
            "data_file": recipe.data_file,
            "data_sha256": sha256_file(data_path / "manifest.csv" if data_path.is_dir() else data_path),
            "split": held_description + "; official test split not used",
            "chosen_on": "out-of-fold predictions of the cross-validation" if folds else "the val split",
            "seed": seed,
            "epochs": epochs,
            "epochs_run": [len(h["epoch"]) for h in histories],
            "best_epochs": [h["best_epoch"] for h in histories],
            "augmentation": ("horizontal flip, " if recipe.flip else "")
            + "rotation +-18 deg, translation +-8%, zoom +-10%, contrast +-10%"
            + (
                "; upload artefacts: black or white bands along edges (30 %), a bright text-marker block (40 %)"
                if recipe.artefacts
                else ""
            ),
            "class_weights": "balanced" if recipe.balanced else "none",
            "optimizer": f"AdamW lr {recipe.learning_rate} cosine decay, weight decay 1e-4, batch {recipe.batch_size}",
            "wall_time_s": wall_time,
            "command": command,
        },
        "metrics": {"validation": figures},
        "member_auc_note": member_note,
        "anchors": {
            "note": "published figures on each data set's official test split; not comparable one-to-one with "
            "these validation figures",
            "published": [{"source": source, "figures": figures_text} for source, figures_text in recipe.anchors],
        },
        "limitations": list(recipe.limitations),
        "ethical_considerations": [
            "Decision support, not a diagnosis: a clinician reviews every result.",
            "No demographic information is available in the training data, so performance across sex, age "
            "and ethnicity has not been measured.",
            "A heatmap shows where the model looked, not why; it can highlight irrelevant regions.",
        ],
        "data_licence": recipe.licence,
    }
    evaluation = {
        "split": figures["split"],
        **summary,
        "reliability_before": reliability_curve(y_held, raw),
        "ece_before": expected_calibration_error(y_held, raw),
        "history": histories,
        # Per-image held-out results, so any threshold's trade-off can be drawn later.
        "validation_predictions": {"y_true": y_held.tolist(), "proba": np.round(calibrated, 6).tolist()},
    }
    if recipe.positive_label is not None:
        evaluation["operating_point"] = operating_point

    out_dir = Path(out_dir) if out_dir else models_dir() / name
    with tempfile.TemporaryDirectory() as tmp:
        files = {"model.keras": Path(tmp) / "model.keras", "domain.npz": Path(tmp) / "domain.npz"}
        ensemble.save(files["model.keras"])
        check.save(files["domain.npz"])
        keras.backend.clear_session(free_memory=False)
        if recipe.small is not None:  # the network that answers small uploads, in the same bundle
            small = train_image_model(
                name, root, requested_epochs, seed, Path(tmp) / "small", requested_members, command, recipe.small
            )
            card["small_input"] = json.loads((small / "card.json").read_text())
            card["small_input"].pop("files")
            files |= {"small.keras": small / "model.keras", "small_domain.npz": small / "domain.npz"}
            card["training"]["wall_time_s"] = time.time() - started
        return write_bundle(out_dir, card, evaluation, files)
