"""Which kind of image is this? Chest X-ray, breast ultrasound, fundus photograph, or none of them.

The ``image-modality`` bundle is a small CNN over every upload (28x28 RGB; gray images are
copied to three channels). The image page preselects the model that fits what it sees, and
``ImageModel.analyse`` refuses an image of another kind. "other" was trained on noise, flat
and gradient images, checkerboards, photographs and CT slices (``medcore.imaging.negatives``);
its card reports how often kinds it never saw are caught.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medcore.core.calibration import apply_temperature
from medcore.imaging.decode import as_image_list, to_model_input
from medcore.imaging.numpy_cnn import CnnEnsemble

__all__ = ["ModalityModel", "load_modality_model", "detect_uploads", "route_models", "suggested_model"]


class ModalityModel:
    """The image-kind router (see its card). Stateless after loading: one instance serves every session."""

    kind = "modality"

    def __init__(self, network: CnnEnsemble, card: dict):
        self.card = card
        self.name: str = card["name"]
        self.labels: list[str] = list(card["labels"])
        self.side: int = int(card["input"]["shape"][0])
        self.temperature: float = float(card["calibration"]["temperature"])
        self.models_by_kind: dict[str, str] = dict(card.get("models_by_kind", {}))
        self._network = network  # NumPy inference of model.keras (medcore.imaging.numpy_cnn): no TensorFlow

    def _batch(self, inputs) -> np.ndarray:
        """float32 (N, 28, 28, 3) inputs of images in any accepted form (``DecodedImage`` included)."""
        return np.stack([to_model_input(image, self.side, 3).model_input for image in as_image_list(inputs)])

    def predict_proba(self, inputs) -> np.ndarray:
        """Calibrated probabilities (N, 4) over ``labels`` for images in any accepted form; rows sum to 1.

        Raises:
            InvalidInputError: an input cannot be used.
        """
        batch = self._batch(inputs)
        logits = np.concatenate([self._network.forward(batch[i : i + 256])[0] for i in range(0, len(batch), 256)])
        return apply_temperature(logits.astype(np.float64), self.temperature)

    def detect(self, inputs) -> list[dict]:
        """Per image: ``{"modality", "probability", "probabilities", "model"}``.

        ``modality`` is the most likely kind ("other": none this dashboard reads); ``model`` the
        shipped model for that kind, or None.
        """
        detections = []
        for row in self.predict_proba(inputs):
            top = int(np.argmax(row))
            detections.append(
                {
                    "modality": self.labels[top],
                    "probability": float(row[top]),
                    "probabilities": {label: float(p) for label, p in zip(self.labels, row)},
                    "model": self.models_by_kind.get(self.labels[top]),
                }
            )
        return detections


def load_modality_model(path: Path, card: dict) -> ModalityModel:
    """Load a verified ``image-modality`` bundle: ``model.keras``'s weights read as arrays (no TensorFlow)."""
    return ModalityModel(CnnEnsemble.read(path / "model.keras"), card)


def detect_uploads(router: ModalityModel | None, files: list[tuple[str, bytes]]) -> list[dict | None]:
    """``router.detect`` per uploaded file; None for a file that cannot be decoded (its error is shown later)
    or when no router is installed."""
    from medcore.core.errors import MedcoreError
    from medcore.imaging.decode import decode_image

    detections: list[dict | None] = []
    for name, data in files:
        try:
            detections.append(router.detect([decode_image(data, name)])[0] if router else None)
        except MedcoreError:
            detections.append(None)
    return detections


def route_models(detections: list[dict | None], chosen: str, available: list[str]) -> list[str]:
    """The model that reads each upload.

    In a batch of one recognised kind, every file goes to ``chosen`` (the clinician's choice is
    kept; a file of another kind is then refused by that model's domain check). In a mixed batch
    (two or more recognised kinds), each recognised file goes to the model for its kind and the
    rest to ``chosen``.
    """
    recognised = [
        d["model"] if d and d.get("model") in available and d["probability"] >= 0.5 else None for d in detections
    ]
    if len({model for model in recognised if model}) < 2:
        return [chosen] * len(detections)
    return [model or chosen for model in recognised]


def suggested_model(detections: list[dict | None], available: list[str]) -> str | None:
    """The shipped model most uploads are for (ties: the first upload's), if it is available."""
    votes = [d["model"] for d in detections if d and d.get("model") in available and d["probability"] >= 0.5]
    if not votes:
        return None
    return max(dict.fromkeys(votes), key=votes.count)
