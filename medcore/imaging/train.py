"""Train an image bundle: an ensemble of small CNNs on a MedMNIST ``.npz``.

Each member is trained with augmentation and a cosine learning-rate schedule; after every
epoch it is scored on the validation split and the epoch with the best validation AUC +
accuracy is kept (early stopping after ``patience`` epochs without improvement). The members' logits are
averaged, test-time flipping is kept only if it helps on validation, a temperature is fitted
on validation logits, and binary models get an operating threshold (Youden's J on
validation). Nothing here looks at a test split.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medcore.core.bundle import sha256_file, write_bundle
from medcore.core.calibration import apply_temperature, fit_temperature
from medcore.core.metrics import (
    auc_ovr,
    binary_operating_point,
    brier_score,
    classification_summary,
    expected_calibration_error,
    reliability_curve,
    youden_threshold,
)
from medcore.imaging.data import load_medmnist_npz

__all__ = ["ImageRecipe", "IMAGE_RECIPES", "train_image_model"]


@dataclass(frozen=True)
class ImageRecipe:
    """How one image model is built, trained and described."""

    task: str
    data_file: str
    labels: tuple[str, ...]
    channels: int
    description: str
    intended_use: str
    out_of_scope_use: str
    limitations: tuple[str, ...]
    modalities: tuple[str, ...] = ()
    positive_label: str | None = None
    width: int = 16
    members: int = 3
    epochs: int = 40
    patience: int = 12
    batch_size: int = 64
    learning_rate: float = 2e-3
    flip: bool = True
    balanced: bool = False
    side: int = 28


_COMMON_LIMITS = (
    "Trained and validated on 28x28 MedMNIST images: fine detail visible at full resolution is lost.",
    "Validation data come from the same source as the training data; performance on another "
    "hospital's scanners and population is unknown until measured there.",
    "Metrics in this card are on the validation split, which was also used for early stopping, "
    "calibration and the threshold; expect slightly lower figures on new data.",
)

IMAGE_RECIPES: dict[str, ImageRecipe] = {
    "pneumonia-cxr": ImageRecipe(
        task="Chest X-ray (paediatric, anterior-posterior): normal vs pneumonia",
        data_file="medmnist/pneumoniamnist_trainval.npz",
        labels=("normal", "pneumonia"),
        channels=1,
        modalities=("CR", "DX"),
        positive_label="pneumonia",
        description="Ensemble of small CNNs that estimates the probability of pneumonia on a paediatric chest X-ray.",
        intended_use="Second reader for clinicians triaging paediatric chest X-rays (ages 1-5) for pneumonia; "
        "the result and heatmap are reviewed by a clinician.",
        out_of_scope_use="Adults, lateral views, CT, telling bacterial from viral pneumonia, other chest "
        "findings, and any use without a clinician's review.",
        limitations=_COMMON_LIMITS
        + ("Trained on one centre's paediatric images (Guangzhou Women and Children's Medical Center).",),
        width=16,
        members=2,
        epochs=24,
        patience=8,
        flip=False,
        balanced=True,
    ),
    "breast-ultrasound": ImageRecipe(
        task="Breast ultrasound: malignant vs normal/benign",
        data_file="medmnist/breastmnist_trainval.npz",
        labels=("malignant", "normal, benign"),
        channels=1,
        modalities=("US",),
        positive_label="malignant",
        description="Ensemble of small CNNs that estimates the probability that a breast ultrasound image shows a malignant lesion.",
        intended_use="Decision support for clinicians reading breast ultrasound images of women aged 25-75; "
        "flags images for closer review.",
        out_of_scope_use="Mammography, MRI, men, screening without a clinician, and replacing biopsy.",
        limitations=_COMMON_LIMITS
        + ("Only 546 training and 78 validation images: the validation figures have wide uncertainty.",),
        width=16,
        members=5,
        epochs=60,
        patience=20,
        flip=True,
        balanced=True,
    ),
    "retina-dr": ImageRecipe(
        task="Retinal fundus photograph: diabetic-retinopathy grade 0-4",
        data_file="medmnist/retinamnist_trainval.npz",
        labels=("0", "1", "2", "3", "4"),
        channels=3,
        modalities=("OP", "XC"),
        description="Ensemble of small CNNs that grades diabetic retinopathy (0 none to 4 proliferative) on a colour fundus photograph.",
        intended_use="Decision support for clinicians grading colour fundus photographs of people with diabetes.",
        out_of_scope_use="Other retinal diseases, OCT, non-diabetic patients, and screening without a clinician.",
        limitations=_COMMON_LIMITS
        + (
            "Grades 1 and 4 are rare (12 and 6 validation images): their per-class figures are unreliable.",
            "The grades are ordinal, but the model treats them as unordered classes.",
        ),
        width=16,
        members=5,
        epochs=40,
        patience=12,
        flip=True,
        balanced=False,
    ),
}


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


def _as_nhwc(images: np.ndarray) -> np.ndarray:
    return (images[..., None] if images.ndim == 3 else images).astype(np.float32)


def _train_member(recipe, index, seed, x_train, y_train, x_val, y_val, epochs, progress):
    import keras
    import tensorflow as tf

    from medcore.imaging.cnn import build_member

    keras.utils.set_random_seed(seed)
    n_classes = len(recipe.labels)
    model = build_member(recipe.side, x_train.shape[-1], n_classes, recipe.width, f"m{index}_")
    steps_per_epoch = int(np.ceil(len(x_train) / recipe.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps_per_epoch * epochs)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    augment = _augmenter(recipe.flip, seed)
    dataset = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
        .batch(recipe.batch_size)
        .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=1, deterministic=True)
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


def train_image_model(
    name: str,
    data_path: Path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    members: int | None = None,
    command: str = "",
) -> Path:
    """Train, calibrate, evaluate on validation and write the bundle of image model ``name``.

    Args:
        name: one of ``IMAGE_RECIPES``.
        data_path: a MedMNIST ``.npz`` with train and val splits, or the data folder holding it.
        epochs: maximum epochs per member (default: the recipe's).
        seed: base random seed; member i uses ``seed + 1000 * i``.
        out_dir: bundle folder (default ``models/<name>``).
        members: ensemble size (default: the recipe's).
        command: the command line, recorded in the card.

    Returns:
        The bundle folder.
    """
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    from medcore.core.settings import models_dir
    from medcore.imaging.cnn import build_ensemble

    recipe = IMAGE_RECIPES[name]
    data_path = Path(data_path)
    if data_path.is_dir():
        data_path = (
            data_path / recipe.data_file
            if (data_path / recipe.data_file).is_file()
            else data_path / Path(recipe.data_file).name
        )
    epochs = epochs or recipe.epochs
    n_members = members or recipe.members
    started = time.time()
    tf.config.experimental.enable_op_determinism()
    x_train, y_train = load_medmnist_npz(data_path, "train")
    x_val, y_val = load_medmnist_npz(data_path, "val")
    x_train, x_val = _as_nhwc(x_train), _as_nhwc(x_val)
    trained, histories = [], []
    with tqdm(total=epochs * n_members, desc=f"training {name}", unit="epoch", file=sys.stderr) as progress:
        for index in range(n_members):
            model, history = _train_member(
                recipe, index, seed + 1000 * index, x_train, y_train, x_val, y_val, epochs, progress
            )
            progress.total -= epochs - len(history["epoch"])
            progress.refresh()
            trained.append(model)
            histories.append(history)

    ensemble = build_ensemble(trained, recipe.side, x_train.shape[-1], len(recipe.labels), recipe.width)
    plain = ensemble(x_val, training=False).numpy().astype(np.float64)
    flipped = (plain + ensemble(x_val[:, :, ::-1].copy(), training=False).numpy()) / 2
    use_flip = recipe.flip and auc_ovr(y_val, apply_temperature(flipped, 1)) > auc_ovr(
        y_val, apply_temperature(plain, 1)
    )
    logits = flipped if use_flip else plain
    temperature = fit_temperature(logits, y_val)
    raw, calibrated = apply_temperature(logits, 1.0), apply_temperature(logits, temperature)
    labels = list(recipe.labels)
    positive = None if recipe.positive_label is None else labels.index(recipe.positive_label)
    summary = classification_summary(y_val, calibrated, labels, positive)
    member_auc = [auc_ovr(y_val, apply_temperature(m(x_val, training=False).numpy(), 1)) for m in trained]

    operating_point: dict = {"rule": "argmax of the calibrated probabilities"}
    if positive is not None:
        threshold = youden_threshold(y_val == positive, calibrated[:, positive])
        operating_point = {
            "rule": f"'{recipe.positive_label}' when its calibrated probability >= threshold "
            "(Youden's J on validation; the model was trained with class-balanced weights)",
            "positive_label": recipe.positive_label,
            "threshold": threshold,
            "validation": binary_operating_point(y_val == positive, calibrated[:, positive], threshold),
        }

    means = x_train.reshape(len(x_train), -1).mean(axis=1)
    stds = x_train.reshape(len(x_train), -1).std(axis=1)
    wall_time = time.time() - started
    card = {
        "name": name,
        "version": "1.0.0",
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
            f"{'grayscale' if recipe.channels == 1 else 'RGB'} -> centre crop to a square -> "
            f"bicubic resize to {recipe.side}x{recipe.side} -> [0, 255] scaled to [-1, 1] inside the model",
            "test_time_flip": bool(use_flip),
        },
        "architecture": f"{n_members} x VGG-style CNN (3 stages of 2 conv3x3+BN+ReLU, widths {recipe.width}/"
        f"{recipe.width * 2}/{recipe.width * 4}, global average pooling, dropout 0.3), logits averaged",
        "operating_point": operating_point,
        "calibration": {
            "method": "temperature scaling fitted on the validation split",
            "temperature": temperature,
            "validation_before": {"ece": expected_calibration_error(y_val, raw), "brier": brier_score(y_val, raw)},
            "validation_after": {"ece": summary["ece"], "brier": summary["brier"]},
        },
        "training": {
            "dataset": f"MedMNIST v2, {Path(recipe.data_file).name}",
            "data_file": recipe.data_file,
            "data_sha256": sha256_file(data_path),
            "split": f"train ({len(y_train)} images) for fitting; val ({len(y_val)} images) for early stopping, "
            "ensemble and test-time-flip choice, calibration and threshold; official test split not used",
            "seed": seed,
            "epochs": epochs,
            "epochs_run": [len(h["epoch"]) for h in histories],
            "best_epochs": [h["best_epoch"] for h in histories],
            "augmentation": ("horizontal flip, " if recipe.flip else "")
            + "rotation +-18 deg, translation +-8%, zoom +-10%, contrast +-10%",
            "class_weights": "balanced" if recipe.balanced else "none",
            "optimizer": f"AdamW lr {recipe.learning_rate} cosine decay, weight decay 1e-4, batch {recipe.batch_size}",
            "wall_time_s": wall_time,
            "command": command,
        },
        "metrics": {
            "validation": {
                "split": "val",
                "n": summary["n"],
                "auc": summary["auc"],
                "accuracy": summary["accuracy"],
                "macro_f1": summary["macro_f1"],
                "ece": summary["ece"],
                "brier": summary["brier"],
                "member_auc": member_auc,
            },
        },
        "anchors": {
            "note": "MedMNIST v2 paper, official test split (AUC/ACC); not comparable one-to-one with validation figures",
        },
        "limitations": list(recipe.limitations),
        "ethical_considerations": [
            "Decision support, not a diagnosis: a clinician reviews every result.",
            "No demographic information is available in MedMNIST, so performance across sex, age "
            "and ethnicity has not been measured.",
            "A heatmap shows where the model looked, not why; it can highlight irrelevant regions.",
        ],
        "data_licence": "CC BY 4.0 (MedMNIST v2; cite Yang et al., Sci Data 2023 and the source data paper)",
    }
    evaluation = {
        "split": "val",
        **summary,
        "reliability_before": reliability_curve(y_val, raw),
        "ece_before": expected_calibration_error(y_val, raw),
        "history": histories,
        # Per-image validation results, so any threshold's trade-off can be drawn later.
        "validation_predictions": {"y_true": y_val.tolist(), "proba": np.round(calibrated, 6).tolist()},
    }
    if recipe.positive_label is not None:
        evaluation["operating_point"] = operating_point

    out_dir = Path(out_dir) if out_dir else models_dir() / name
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.keras"
        ensemble.save(model_file)
        keras.backend.clear_session(free_memory=False)
        return write_bundle(out_dir, card, evaluation, {"model.keras": model_file})
