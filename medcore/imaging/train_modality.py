"""Train the ``image-modality`` bundle: which kind of image an upload is, or none of them.

Positives are the three MedMNIST sets (train split to fit, val split to choose and measure)
plus, for breast ultrasound, BUSI's 256 px originals of the same split (so full-resolution
uploads look familiar). "other" is the ``TRAIN_FAMILIES`` of ``medcore.imaging.negatives``
(fresh seeds for fitting and for validation); the ``HELD_OUT_FAMILIES`` are never fitted and
give the catch rate for kinds of input it never saw. One small CNN, class-balanced,
augmented, early-stopped on validation accuracy, temperature-scaled; every figure with a
95 % bootstrap interval.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from medcore.core.bundle import sha256_file, write_bundle
from medcore.core.calibration import apply_temperature, calibration_method, choose_calibration
from medcore.core.errors import InvalidInputError
from medcore.core.metrics import brier_score, classification_summary, expected_calibration_error, reliability_curve
from medcore.core.uncertainty import calibration_intervals, classification_intervals, with_intervals
from medcore.imaging.data import load_medmnist_npz, prepared_batch
from medcore.imaging.domain import domain_figures
from medcore.imaging.negatives import HELD_OUT_FAMILIES, TRAIN_FAMILIES, negative_images
from medcore.imaging.recipes import ImageRecipe
from medcore.imaging.train import train_member

__all__ = ["KINDS", "train_modality_model"]

# kind -> (MedMNIST file, the shipped model that reads it)
KINDS = {
    "chest X-ray": ("pneumoniamnist_trainval.npz", "pneumonia-cxr"),
    "breast ultrasound": ("breastmnist_trainval.npz", "breast-ultrasound"),
    "fundus photograph": ("retinamnist_trainval.npz", "retina-dr"),
}
LABELS = (*KINDS, "other")
SIDE = 28
_RECIPE = ImageRecipe(
    task="Which kind of image: chest X-ray, breast ultrasound, fundus photograph, or other",
    data_file="medmnist",
    labels=LABELS,
    channels=3,
    description="Small CNN that tells which kind of image an upload is, so the right model reads it and "
    "no model reads an image it was not built for.",
    intended_use="Routing uploads on the image page: preselects the model for the image's kind and refuses "
    "images of another kind or none.",
    out_of_scope_use="Any diagnosis; telling apart kinds of image other than the three it names.",
    limitations=(),
    width=12,
    members=1,
    epochs=20,
    patience=6,
    flip=True,
    balanced=True,
)
_NEGATIVES_TRAIN = 500
_NEGATIVES_VAL = 120


def _find(data_path: Path, file_name: str) -> Path:
    for folder in (data_path, data_path / "medmnist", data_path.parent / "medmnist"):
        if (folder / file_name).is_file():
            return folder / file_name
    raise InvalidInputError(
        f"No '{file_name}' under '{data_path}'. Pass --data with the shared data folder (holding medmnist/)."
    )


def _as_rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images[..., None], 3, axis=-1) if images.ndim == 3 else images


def _split(data_path: Path, split: str, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Model inputs (N, 28, 28, 3), labels and the files read, for ``train`` or ``val``."""
    batches, labels, files = [], [], []
    for index, (kind, (file_name, _)) in enumerate(KINDS.items()):
        path = _find(data_path, file_name)
        images, _ = load_medmnist_npz(path, split)
        batches.append(_as_rgb(images).astype(np.float32))
        labels.append(np.full(len(images), index))
        files.append(str(path))
        if kind == "breast ultrasound":
            busi = path.parent.parent / "busi_segmentation" / "busi_seg_trainval.npz"
            if busi.is_file():
                with np.load(busi, allow_pickle=False) as archive:
                    originals = archive["images"][archive["breastmnist_split"] == split]
                batches.append(prepared_batch(list(originals), SIDE, 3))
                labels.append(np.full(len(originals), index))
                files.append(str(busi))
    count = _NEGATIVES_TRAIN if split == "train" else _NEGATIVES_VAL
    negatives = negative_images(TRAIN_FAMILIES, count, seed + (0 if split == "train" else 7919))
    other = [image for family in TRAIN_FAMILIES for image in negatives[family]]
    batches.append(prepared_batch(other, SIDE, 3))
    labels.append(np.full(len(other), len(KINDS)))
    return np.concatenate(batches), np.concatenate(labels).astype(int), files


def train_modality_model(
    name: str,
    data_path: Path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    command: str = "",
) -> Path:
    """Train, calibrate, measure and write the ``image-modality`` bundle.

    Args:
        name: ``image-modality``.
        data_path: the shared data folder (holding ``medmnist/`` and, optionally, ``busi_segmentation/``).
        epochs: maximum epochs (default 20).
        seed: seed of the negatives and of training.
        out_dir: bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.

    Returns:
        The bundle folder.
    """
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    from medcore.core.settings import models_dir
    from medcore.imaging.cnn import build_ensemble

    started = time.time()
    tf.config.experimental.enable_op_determinism()
    data_path = Path(data_path)
    x_train, y_train, files = _split(data_path, "train", seed)
    x_val, y_val, _ = _split(data_path, "val", seed)
    epochs = epochs or _RECIPE.epochs
    with tqdm(total=epochs, desc=f"training {name}", unit="epoch", file=sys.stderr) as progress:
        member, history = train_member(_RECIPE, 0, seed, x_train, y_train, x_val, y_val, epochs, progress)
    network = build_ensemble([member], SIDE, 3, len(LABELS), _RECIPE.width)
    logits = network(x_val, training=False).numpy().astype(np.float64)
    calibration_choice = choose_calibration(logits, y_val, seed=seed)
    temperature = calibration_choice["temperature"]
    raw, calibrated = apply_temperature(logits, 1.0), apply_temperature(logits, temperature)
    labels = list(LABELS)
    summary = classification_summary(y_val, calibrated, labels)
    intervals = classification_intervals(y_val, calibrated, seed=seed)

    # Kinds of input never fitted, and genuine images at full resolution: how often each is called what.
    held_out = negative_images(HELD_OUT_FAMILIES, 100, seed + 104729)
    held_flags = {}
    for family, images in held_out.items():
        proba = apply_temperature(network(prepared_batch(images, SIDE, 3), training=False).numpy(), temperature)
        held_flags[family] = proba.argmax(axis=1) == len(KINDS)
    enlarged = {}
    from PIL import Image

    for index, (kind, (file_name, _)) in enumerate(KINDS.items()):
        images, _ = load_medmnist_npz(_find(data_path, file_name), "val")
        big = [np.asarray(Image.fromarray(i).resize((224, 224), Image.Resampling.BICUBIC)) for i in images]
        proba = apply_temperature(network(prepared_batch(big, SIDE, 3), training=False).numpy(), temperature)
        enlarged[kind] = proba.argmax(axis=1) != index  # a genuine image called another kind
    held_figures = domain_figures(np.concatenate(list(enlarged.values())), held_flags, seed)
    held_figures["genuine_by_kind"] = {
        kind: {"misread": float(flags.mean()), "n": int(len(flags))} for kind, flags in enlarged.items()
    }

    figures = with_intervals(
        {
            "split": "val",
            "n": summary["n"],
            "accuracy": summary["accuracy"],
            "auc": summary["auc"],
            "macro_f1": summary["macro_f1"],
            "ece": summary["ece"],
            "brier": summary["brier"],
        },
        intervals,
    )
    per_class = {
        row["label"]: {"recall": row["recall"], "precision": row["precision"], "n": row["support"]}
        for row in summary["per_class"]
    }
    card = {
        "name": name,
        "version": "1.0.0",
        "kind": "modality",
        "task": _RECIPE.task,
        "description": _RECIPE.description,
        "intended_use": _RECIPE.intended_use,
        "out_of_scope_use": _RECIPE.out_of_scope_use,
        "labels": labels,
        "models_by_kind": {kind: model for kind, (_, model) in KINDS.items()},
        "input": {
            "shape": [SIDE, SIDE, 3],
            "dtype": "uint8 (float accepted)",
            "value_range": [0, 255],
            "channels": "RGB (gray copied to three channels)",
            "accepts": "PNG, JPEG, 16-bit PNG, DICOM; arrays of any size",
        },
        "preprocessing": {
            "steps": "decode -> RGB -> centre crop to a square -> bicubic resize to 28x28 -> scaled to [-1, 1] inside the model",
        },
        "architecture": f"one VGG-style CNN (3 stages of 2 conv3x3+BN+ReLU, widths {_RECIPE.width}/{_RECIPE.width * 2}/"
        f"{_RECIPE.width * 4}, global average pooling, dropout 0.3)",
        "operating_point": {
            "rule": "the most likely kind; an image model refuses an upload when this model is at least 50 % sure "
            "it is of another kind or 'other'",
        },
        "calibration": {
            "method": calibration_method(calibration_choice, "val"),
            "chosen": calibration_choice["chosen"],
            "temperature": temperature,
            "choice": calibration_choice,
            "validation_before": with_intervals(
                {"ece": expected_calibration_error(y_val, raw), "brier": brier_score(y_val, raw)},
                calibration_intervals(y_val, raw, seed=seed),
            ),
            "validation_after": with_intervals(
                {"ece": summary["ece"], "brier": summary["brier"]}, {k: intervals[k] for k in ("ece", "brier")}
            ),
        },
        "domain_check": {
            "method": "the 'other' class: trained on " + ", ".join(TRAIN_FAMILIES),
            "held_out_families": list(HELD_OUT_FAMILIES),
            "validation": held_figures,
            "note": "negatives_caught: kinds of input never fitted, called 'other'; genuine_rejected: MedMNIST val "
            "images enlarged to 224 px called another kind",
        },
        "training": {
            "dataset": "MedMNIST v2 (PneumoniaMNIST, BreastMNIST, RetinaMNIST train splits), BUSI originals of the "
            "BreastMNIST train split, and generated/bundled negatives",
            "data_file": "medmnist/*_trainval.npz",
            "data_sha256": {Path(f).name: sha256_file(f) for f in files},
            "split": f"train splits ({len(y_train)} images incl. {_NEGATIVES_TRAIN} per negative family) to fit; val "
            f"splits ({len(y_val)} images incl. {_NEGATIVES_VAL} fresh negatives per family) for early stopping, "
            "calibration and every figure; official test splits not used",
            "chosen_on": "the val split",
            "seed": seed,
            "epochs": epochs,
            "best_epochs": [history["best_epoch"]],
            "class_weights": "balanced",
            "wall_time_s": time.time() - started,
            "command": command,
        },
        "metrics": {"validation": {**figures, "per_class": per_class}},
        "limitations": [
            "Knows three kinds of medical image; any other medical image (CT, MRI, mammogram, dermatology photo) "
            "should be called 'other', but only CT slices and synthetic/photographic inputs were seen in training.",
            "Reads 28x28 thumbnails: an image that resembles one of the kinds at that size can pass.",
            "Validation negatives come from the same generators as the training negatives (fresh draws); the "
            "held-out families are the honest figure for unfamiliar input.",
        ],
        "ethical_considerations": [
            "A router, not a diagnosis: it decides which model may read an image, never what the image shows.",
        ],
        "data_licence": "CC BY 4.0 (MedMNIST v2, BUSI); negatives generated in code or from scikit-learn/pydicom test data",
    }
    evaluation = {
        "split": "val",
        **summary,
        "reliability_before": reliability_curve(y_val, raw),
        "ece_before": expected_calibration_error(y_val, raw),
        "history": [history],
    }
    out_dir = Path(out_dir) if out_dir else models_dir() / name
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.keras"
        network.save(model_file)
        keras.backend.clear_session(free_memory=False)
        return write_bundle(out_dir, card, evaluation, {"model.keras": model_file})
