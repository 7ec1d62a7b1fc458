"""Does an image look like the images a model was trained on? A distance on the model's own features.

Each image model's members end in global average pooling; those pooled features (N, F) of the
training images are summarised by their mean and a shrunk covariance (Ledoit-Wolf), and a new
image's squared Mahalanobis distance to them is compared with a threshold set on images the
model did not fit (a high percentile of their distances). Farther than the threshold: out of
domain, and the model gives no answer. The parameters travel in the bundle as ``domain.npz``
(plain arrays, ``allow_pickle=False``). ``fit_domain_check`` fits it when a model is trained and
measures it on held-out genuine images, full-resolution ones, the other kinds of image and
every family of ``medcore.imaging.negatives``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medcore.imaging.data import load_medmnist_npz, prepared_batch
from medcore.imaging.negatives import HELD_OUT_FAMILIES, TRAIN_FAMILIES, negative_images
from medcore.imaging.recipes import ImageRecipe

__all__ = ["FeatureDistance", "domain_figures", "fit_domain_check"]

_MEDMNIST_FILES = {
    "chest X-ray": "pneumoniamnist_trainval.npz",
    "breast ultrasound": "breastmnist_trainval.npz",
    "fundus photograph": "retinamnist_trainval.npz",
}
_NEGATIVES_PER_FAMILY = 100


@dataclass(frozen=True)
class FeatureDistance:
    """Squared Mahalanobis distance to the training features, and the threshold beyond which an image is refused."""

    mean: np.ndarray  # (F,)
    precision: np.ndarray  # (F, F), inverse of the shrunk covariance
    threshold: float

    @classmethod
    def fit(cls, features: np.ndarray, threshold: float = np.inf) -> FeatureDistance:
        """Mean and Ledoit-Wolf precision of training features (N, F)."""
        from sklearn.covariance import LedoitWolf

        features = np.asarray(features, dtype=np.float64)
        estimator = LedoitWolf().fit(features)
        return cls(estimator.location_, estimator.precision_, float(threshold))

    def with_threshold(self, threshold: float) -> FeatureDistance:
        return FeatureDistance(self.mean, self.precision, float(threshold))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances (N,) of features (N, F)."""
        centred = np.asarray(features, dtype=np.float64) - self.mean
        return np.einsum("nf,fg,ng->n", centred, self.precision, centred)

    def outside(self, features: np.ndarray) -> np.ndarray:
        """bool (N,): farther than the threshold."""
        return self.distance(features) > self.threshold

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, precision=self.precision, threshold=np.array(self.threshold))

    @classmethod
    def load(cls, path: Path) -> FeatureDistance:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(arrays["mean"], arrays["precision"], float(arrays["threshold"]))


def domain_figures(genuine_outside: np.ndarray, negatives_outside: dict[str, np.ndarray], seed: int = 0) -> dict:
    """How often a check refuses genuine images and catches each family of wrong input, with 95 % intervals.

    Args:
        genuine_outside: bool (N,), one per genuine image the check did not fit on.
        negatives_outside: family -> bool (M,), one per wrong input.

    Returns:
        ``{"genuine_rejected", "genuine_rejected_ci95", "n_genuine", "negatives_caught",
        "negatives_caught_ci95", "n_negatives", "families": {family: {"caught", "caught_ci95", "n"}}}``.
    """
    from medcore.core.uncertainty import bootstrap_intervals

    def rate(flags: np.ndarray) -> tuple[float | None, list]:
        flags = np.asarray(flags, dtype=float)
        if not len(flags):
            return None, [None, None]
        interval = bootstrap_intervals(lambda rows: {"rate": flags[rows].mean()}, len(flags), seed=seed)["rate"]
        return float(flags.mean()), [round(b, 6) for b in interval]

    genuine, genuine_ci = rate(genuine_outside)
    everything = (
        np.concatenate([np.asarray(v, dtype=bool) for v in negatives_outside.values()])
        if negatives_outside
        else np.array([], bool)
    )
    caught, caught_ci = rate(everything)
    families = {}
    for family, flags in negatives_outside.items():
        value, interval = rate(flags)
        families[family] = {"caught": value, "caught_ci95": interval, "n": int(len(flags))}
    return {
        "genuine_rejected": genuine,
        "genuine_rejected_ci95": genuine_ci,
        "n_genuine": int(len(genuine_outside)),
        "negatives_caught": caught,
        "negatives_caught_ci95": caught_ci,
        "n_negatives": int(len(everything)),
        "families": families,
    }


def _features(model, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(logits, pooled features)`` of a batch, in chunks."""
    logits, features = [], []
    for start in range(0, len(batch), 256):
        chunk_logits, chunk_features = model(np.ascontiguousarray(batch[start : start + 256]), training=False)
        logits.append(chunk_logits.numpy())
        features.append(chunk_features.numpy())
    return np.concatenate(logits).astype(np.float64), np.concatenate(features).astype(np.float64)


def _threshold_and_rejection(distances: np.ndarray, percentile: float, seed: int) -> tuple[float, np.ndarray]:
    """The threshold (``percentile`` of held-out genuine distances) and an honest per-image rejection flag.

    The flag of each image comes from a threshold set on the other half of the images (two
    random halves, swapped), so the rejection rate is measured on images that did not set it.
    """
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(distances)) < len(distances) // 2
    flags = np.zeros(len(distances), dtype=bool)
    for side in (half, ~half):
        flags[side] = distances[side] > np.percentile(distances[~side], percentile)
    return float(np.percentile(distances, percentile)), flags


def _domain_negatives(recipe: ImageRecipe, data_path: Path, seed: int) -> dict[str, list[np.ndarray]]:
    """Inputs that are not this model's kind: the other MedMNIST sets (val split) and every negative family."""
    negatives: dict[str, list[np.ndarray]] = {}
    # the shared data folder: the nearest parent holding medmnist/ (else the file's own folder)
    root = next((p for p in data_path.parents if (p / "medmnist").is_dir()), data_path.parent)
    for modality, file_name in _MEDMNIST_FILES.items():
        other = next((p for p in (data_path.parent / file_name, root / "medmnist" / file_name) if p.is_file()), None)
        if modality != recipe.modality and other is not None:
            images, _ = load_medmnist_npz(other, "val")
            negatives[f"{modality} (MedMNIST val)"] = list(images[:200])
    chest = root / "chest_xray" / "manifest.csv"
    if recipe.modality != "chest X-ray" and chest.is_file():
        from medcore.imaging.data import load_chest_xray

        images = load_chest_xray(chest.parent, ["normal", "pneumonia"])[0]
        negatives["chest X-ray (Kermany files, 224 px)"] = list(images[::26][:200])
    busi = root / "busi_segmentation" / "busi_seg_trainval.npz"
    if recipe.modality != "breast ultrasound" and busi.is_file():
        with np.load(busi, allow_pickle=False) as archive:
            negatives["breast ultrasound (BUSI originals, 256 px)"] = list(archive["images"][:200])
    negatives.update(negative_images(TRAIN_FAMILIES + HELD_OUT_FAMILIES, _NEGATIVES_PER_FAMILY, seed))
    return negatives


def _full_resolution_genuine(recipe: ImageRecipe, data_path: Path, x_val: np.ndarray) -> tuple[str, list[np.ndarray]]:
    """Genuine images at a clinic's resolution: BUSI's 256 px originals of the val split for breast
    ultrasound, else the val images enlarged to 224 px."""
    from PIL import Image

    busi = data_path.parent.parent / "busi_segmentation" / "busi_seg_trainval.npz"
    if recipe.modality == "breast ultrasound" and busi.is_file():
        with np.load(busi, allow_pickle=False) as archive:
            keep = archive["breastmnist_split"] == "val"
            return "BUSI originals, 256 px (val split)", list(archive["images"][keep])
    enlarged = [
        np.asarray(Image.fromarray(image.squeeze().astype(np.uint8)).resize((224, 224), Image.Resampling.BICUBIC))
        for image in x_val
    ]
    return "val images enlarged to 224 px", enlarged


def fit_domain_check(
    recipe, seed, feature_net, x_fit, x_held, data_path, folds, full_size=None
) -> tuple[FeatureDistance, dict]:
    """Fit an image model's feature distance and measure it (the trainer's last step).

    Args:
        recipe: the model's ``ImageRecipe``.
        seed: seed of the negatives and of the bootstrap.
        feature_net: ``medcore.imaging.cnn.feature_model`` of the trained ensemble.
        x_fit: float32 (N, S, S, C) images the distance is fitted on (the training images).
        x_held: the held-out genuine images (the val split; with ``folds`` every image instead).
        data_path: the MedMNIST file, beside which the other sets (and BUSI) are looked for.
        folds: > 1 when the networks were cross-validated (every image trained some members).
        full_size: ``{"note", "images", ...}``: held-out genuine images at an upload's size, when the
            trainer has them; else BUSI originals or enlarged val images stand for them.

    Returns:
        ``(check, card section)``: the fitted ``FeatureDistance`` and the card's ``domain_check``.
    """
    _, fit_features = _features(feature_net, x_fit)
    if folds > 1:
        # Every image trained some members: hold each out of the distance fit in turn instead.
        held_distances = np.zeros(len(fit_features))
        for fold in range(folds):
            rows = np.arange(len(fit_features)) % folds == fold
            held_distances[rows] = FeatureDistance.fit(fit_features[~rows]).distance(fit_features[rows])
        held_note = f"{folds}-fold over train + val (each image held out of the distance fit, not of the networks)"
    else:
        _, held_features = _features(feature_net, x_held)
        held_distances = FeatureDistance.fit(fit_features).distance(held_features)
        held_note = "the val split"
    threshold, rejected = _threshold_and_rejection(held_distances, recipe.domain_percentile, seed)
    check = FeatureDistance.fit(fit_features, threshold)
    channels = x_fit.shape[-1]
    if full_size is not None:
        resolution_note, full_resolution = full_size["note"], full_size["images"]
    else:
        resolution_note, full_resolution = _full_resolution_genuine(recipe, data_path, x_held)

    def prepared(images):
        return prepared_batch(images, recipe.side, channels, **recipe.preparation)

    _, full_features = _features(feature_net, prepared(full_resolution))
    negatives = {
        family: check.outside(_features(feature_net, prepared(images))[1])
        for family, images in _domain_negatives(recipe, data_path, seed).items()
    }
    figures = domain_figures(rejected, negatives, seed)
    full_flags = check.outside(full_features)
    figures["full_resolution"] = {
        "images": resolution_note,
        **{
            k.replace("genuine_", ""): v
            for k, v in domain_figures(full_flags, {}, seed).items()
            if k.startswith(("genuine", "n_genuine"))
        },
    }
    card = {
        "method": "squared Mahalanobis distance of the members' pooled features (Ledoit-Wolf covariance of the "
        "training images' features); farther than the threshold -> out of domain, no answer",
        "features": int(fit_features.shape[1]),
        "threshold": threshold,
        "percentile": recipe.domain_percentile,
        "threshold_set_on": f"{recipe.domain_percentile} th percentile of genuine held-out distances ({held_note})",
        "validation": figures,
        "dicom_modalities": list(recipe.modalities),
        "modality": recipe.modality,
    }
    return check, card
