"""The segmentation model: a lesion mask of the input's size, its measures, and "no mask" outside its domain.

``segment(image)`` resizes to the U-Net's 128 px, averages the prediction with its left-right
mirror (test-time flip), leaves the frame empty when the presence head's probability is below the
card's ``presence_threshold``, else thresholds the map at the card's value, removes blobs smaller
than the card's minimum area, and resizes back (nearest). ``analyse(images)`` adds the domain check: intensity
statistics of the image against the training frames (Mahalanobis distance beyond the card's
threshold, or a colour image) -> ``out_of_domain`` with a message and no mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.segmentation.data import image_features, resize, to_grey
from medcore.segmentation.measure import measure
from medcore.segmentation.network import SIDE

__all__ = ["SegmentationModel", "load_segmentation_model", "agreement"]


def agreement(measures: dict, malignant_probability: float | None, threshold: float | None) -> str | None:
    """A flag for review when the classifier and the segmentation disagree, else None."""
    if malignant_probability is None or threshold is None:
        return None
    if not measures["lesion_found"] and malignant_probability >= threshold:
        return (
            f"Review: the classifier says malignant ({malignant_probability:.0%}) but no lesion was outlined. "
            "The lesion may be faint, small or outside the segmentation model's experience."
        )
    if measures["lesion_found"] and measures["area_percent"] < 0.5 and malignant_probability >= threshold:
        return "Review: the classifier says malignant but the outlined area is tiny (under 0.5 % of the image)."
    return None


class SegmentationModel:
    """A loaded breast-lesion segmentation bundle (stateless after loading)."""

    kind = "segmentation"
    labels = ("background", "lesion")

    def __init__(self, name: str, card: dict, network, domain: dict[str, np.ndarray]):
        self.name = name
        self.card = card
        self.tasks = ["lesion"]
        self._network = network
        import tensorflow as tf

        self._forward = tf.function(  # compiled once for any batch of 128 px frames (eager calls are slower)
            lambda batch: network(batch, training=False),
            input_signature=[tf.TensorSpec([None, SIDE, SIDE, 1], tf.float32)],
            autograph=False,
        )
        self.threshold = float(card["operating_point"]["threshold"])
        self.min_area = float(card["operating_point"]["min_blob_percent"])
        self.flip = bool(card["operating_point"]["test_time_flip"])
        self.presence_threshold = float(card["operating_point"]["presence_threshold"])
        self._mean, self._inverse = domain["mean"], domain["inverse_covariance"]
        self._limit = float(card["domain_check"]["threshold"])

    def _predict(self, grey: np.ndarray) -> tuple[np.ndarray, float]:
        """The 128 px lesion map and the probability that the frame holds a lesion."""
        import tensorflow as tf

        x = resize(grey, SIDE).astype(np.float32)[None, :, :, None] / 255
        batch = np.concatenate([x, x[:, :, ::-1]]) if self.flip else x
        out = self._forward(tf.constant(batch))
        p = out["lesion"].numpy()[..., 0]
        present = out["present"].numpy()[:, 0].mean()
        return ((p[0] + p[1][:, ::-1]) / 2 if self.flip else p[0]), float(present)

    def _clean(self, binary: np.ndarray) -> np.ndarray:
        from scipy import ndimage

        labelled, count = ndimage.label(binary)
        if count == 0:
            return binary
        sizes = ndimage.sum(binary, labelled, range(1, count + 1))
        keep = np.isin(labelled, 1 + np.nonzero(sizes >= self.min_area / 100 * binary.size)[0])
        return keep

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Lesion probability (H, W) in [0, 1] at the input's size."""
        grey = to_grey(image)
        p = self._predict(grey)[0]
        return np.clip(_to_size(p, grey.shape), 0, 1)

    def outline(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """The lesion mask (as ``segment``) and the presence score behind it."""
        grey = to_grey(image)
        p, present = self._predict(grey)
        if present < self.presence_threshold:
            return np.zeros(grey.shape, np.uint8), present
        small = self._clean(p >= self.threshold)
        return _to_size(small.astype(np.float32), grey.shape, nearest=True).astype(np.uint8), present

    def segment(self, image: np.ndarray) -> np.ndarray:
        """The lesion mask (H, W) uint8 in {0, 1} of the input's height and width.

        Raises:
            InvalidInputError: not a uint8 grey or RGB image of at least 8 x 8 pixels.
        """
        return self.outline(image)[0]

    def measure(self, mask: np.ndarray, pixel_spacing: tuple[float, float] | None = None) -> dict:
        """Area, longest diameter, circularity and margin irregularity of a mask (see ``measure.measure``)."""
        return measure(mask, pixel_spacing)

    def domain_reason(self, image: np.ndarray) -> str | None:
        """Why ``image`` does not look like the training ultrasound frames, or None."""
        features = image_features(image)
        if features[-1] > 0.08:
            return (
                "This is a colour image; breast ultrasound frames are grey. No lesion outline is given. Upload the "
                "B-mode frame without colour overlays."
            )
        delta = features[:-1] - self._mean
        distance = float(np.sqrt(delta @ self._inverse @ delta))
        if distance > self._limit:
            return (
                f"The image's brightness and texture are unlike the training ultrasound frames (distance "
                f"{distance:.1f} > {self._limit:.1f}), so no lesion outline is given."
            )
        return None

    def analyse(self, images: list[np.ndarray], pixel_spacing: tuple[float, float] | None = None) -> list[dict]:
        """Per image: ``mask``, ``measures``, ``presence`` (the lesion-presence score), ``out_of_domain``, ``reason``."""
        if not isinstance(images, (list, tuple)):
            raise InvalidInputError("Expected a list of images (uint8 arrays).")
        out = []
        for image in images:
            reason = self.domain_reason(image)
            if reason:
                out.append({"mask": None, "measures": None, "presence": None, "out_of_domain": True, "reason": reason})
                continue
            mask, presence = self.outline(image)
            out.append(
                {
                    "mask": mask,
                    "measures": measure(mask, pixel_spacing),
                    "presence": presence,
                    "out_of_domain": False,
                    "reason": None,
                }
            )
        return out


def _to_size(array: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    from PIL import Image

    mode = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(array.astype(np.float32)).resize((shape[1], shape[0]), mode))


def load_segmentation_model(path: Path, card: dict) -> SegmentationModel:
    """Build the model from a verified bundle folder."""
    import keras

    import medcore.segmentation.network  # noqa: F401 - the loss is not needed for inference

    folder = Path(path)
    network = keras.saving.load_model(folder / "model.keras", compile=False, safe_mode=True)
    with np.load(folder / "domain.npz", allow_pickle=False) as data:
        domain = {k: data[k] for k in data.files}
    return SegmentationModel(card["name"], card, network, domain)
