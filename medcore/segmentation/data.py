"""BUSI segmentation data (npz) and image preparation for the U-Net.

``read_npz`` reads an npz with ``images`` (N, H, W) uint8 and ``masks`` (N, H, W) 0/1 (plus optional
``labels`` and ``breastmnist_split``), refusing anything else with a message; ``to_grey`` and
``resize`` bring any uint8 grey or RGB image to the network's input; ``image_features`` are the
intensity statistics of the domain check.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError

__all__ = ["DATA_FILE", "MAX_IMAGES", "read_npz", "to_grey", "resize", "image_features", "FEATURES"]

DATA_FILE = "busi_segmentation/busi_seg_trainval.npz"
MAX_IMAGES = 2_000
FEATURES = ("mean", "std", "p10", "p50", "p90", "dark share", "speckle", "colour")


def read_npz(source, name: str = "input") -> dict[str, np.ndarray]:
    """Images, masks and (when present) labels and split of a segmentation npz (path or bytes).

    Raises:
        InvalidInputError: not an npz, pickled arrays, missing ``images``/``masks``, shapes that differ,
            masks that are not 0/1, too many images.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{source}'. Pass an .npz with 'images' and 'masks'.")
        name, source = path.name, path.read_bytes()
    try:
        with np.load(io.BytesIO(source), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise InvalidInputError(
            f"'{name}' could not be read as an .npz without pickled objects ({str(err)[:120]}). Save it with "
            "numpy.savez(images=..., masks=...)."
        ) from None
    if "images" not in arrays or "masks" not in arrays:
        raise InvalidInputError(f"'{name}' needs 'images' and 'masks' arrays; it has {sorted(arrays)[:10]}.")
    images, masks = arrays["images"], arrays["masks"]
    if images.ndim not in (3, 4) or masks.ndim != 3 or images.shape[:3] != masks.shape:
        raise InvalidInputError(
            f"'{name}': images {images.shape} and masks {masks.shape} must be (N, H, W[, 3]) and (N, H, W) of one size."
        )
    if len(images) == 0 or len(images) > MAX_IMAGES:
        raise InvalidInputError(f"'{name}' holds {len(images)} images; 1 to {MAX_IMAGES:,} are accepted.")
    if images.dtype != np.uint8:
        raise InvalidInputError(f"'{name}': images must be uint8 (0-255); got {images.dtype}.")
    if not np.isin(masks, (0, 1)).all():
        raise InvalidInputError(f"'{name}': masks must hold only 0 (background) and 1 (lesion).")
    return arrays


def to_grey(image: np.ndarray) -> np.ndarray:
    """A uint8 (H, W) grey image from uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).

    Raises:
        InvalidInputError: any other shape or type.
    """
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise InvalidInputError(f"Expected a uint8 image; got {array.dtype}. Decode the file first.")
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        array = array[..., 0] if array.shape[2] == 1 else array[..., :3].mean(axis=2).round().astype(np.uint8)
    if array.ndim != 2 or min(array.shape) < 8:
        raise InvalidInputError(f"Expected an image of at least 8 x 8 pixels; got shape {np.asarray(image).shape}.")
    return array


def resize(image: np.ndarray, side: int, nearest: bool = False) -> np.ndarray:
    """A (side, side) copy of a 2-D array (bilinear, or nearest for masks)."""
    from PIL import Image

    mode = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image).resize((side, side), mode))
    return np.asarray(Image.fromarray(image.astype(np.float32)).resize((side, side), mode))


def image_features(image: np.ndarray) -> np.ndarray:
    """Intensity statistics of an image (``FEATURES``): what a B-mode ultrasound frame looks like."""
    array = np.asarray(image)
    colour = 0.0
    if array.ndim == 3 and array.shape[2] >= 3:
        rgb = array[..., :3].astype(np.float32)
        colour = float((rgb.max(axis=2) - rgb.min(axis=2)).mean() / 255)
    grey = resize(to_grey(array), 128).astype(np.float32) / 255
    lap = np.abs(4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:])
    p10, p50, p90 = np.percentile(grey, [10, 50, 90])
    return np.array(
        [grey.mean(), grey.std(), p10, p50, p90, (grey < 0.05).mean(), lap.mean() / (grey.std() + 1e-3), colour]
    )
