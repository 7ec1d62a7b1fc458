"""Image models: calibrated probabilities, the operating-threshold decision and Grad-CAM.

``ImageModel`` wraps a bundle's ``model.keras`` (float32 (N, S, S, C) in [0, 255] -> logits)
with the card's preprocessing, temperature and threshold. It is stateless after loading, so
one instance is shared by every Streamlit session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medcore.core.calibration import apply_temperature
from medcore.core.errors import InvalidInputError, MedcoreError
from medcore.imaging.decode import DecodedImage, PreparedImage, as_image_list, decode_image, to_model_input

__all__ = ["ImageModel", "ImageResult", "load_image_model", "results_frame"]

_BATCH = 256


@dataclass
class ImageResult:
    """What one file gave: probabilities and decision, or the error that stopped it."""

    name: str
    probabilities: dict[str, float] = field(default_factory=dict)
    predicted: str | None = None
    decision: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    prepared: PreparedImage | None = None


class ImageModel:
    """A shipped image classifier (see the card for its data, metrics and limits)."""

    kind = "image"

    def __init__(self, keras_model, card: dict):
        import tensorflow as tf

        from medcore.imaging.cnn import gradcam_function

        self.card = card
        self.name: str = card["name"]
        self.labels: list[str] = list(card["labels"])
        self.side: int = int(card["input"]["shape"][0])
        self.channels: int = int(card["input"]["shape"][2])
        self.temperature: float = float(card["calibration"]["temperature"])
        self.tta_flip: bool = bool(card["preprocessing"].get("test_time_flip", False))
        self.threshold: float | None = card.get("operating_point", {}).get("threshold")
        self.positive_label: str | None = card.get("operating_point", {}).get("positive_label")
        self._keras = keras_model
        self._forward = tf.function(
            lambda batch: keras_model(batch, training=False), reduce_retracing=True, autograph=False
        )
        self._gradcam = gradcam_function(keras_model)

    # -- preprocessing ---------------------------------------------------------------------
    def prepare(self, inputs, names: list[str] | None = None) -> list[PreparedImage]:
        """Decode and preprocess inputs (see ``medcore.imaging.decode.as_image_list``).

        Raises:
            InvalidInputError: any input cannot be used.
        """
        return [self._prepare_one(image) for image in as_image_list(inputs, names)]

    def _prepare_one(self, image: DecodedImage) -> PreparedImage:
        card_input = self.card.get("input", {})
        return to_model_input(
            image, self.side, self.channels, card_input.get("training_intensity"), card_input.get("dicom_modalities")
        )

    # -- prediction --------------------------------------------------------------------------
    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits (N, K) of float32 model inputs (N, S, S, C), flip-averaged if the card says so."""
        outputs = []
        for start in range(0, len(batch), _BATCH):
            chunk = np.ascontiguousarray(batch[start : start + _BATCH], dtype=np.float32)
            logits = self._forward(chunk).numpy()
            if self.tta_flip:
                logits = (logits + self._forward(np.ascontiguousarray(chunk[:, :, ::-1])).numpy()) / 2
            outputs.append(logits)
        return np.concatenate(outputs).astype(np.float64)

    def predict_proba(self, inputs) -> np.ndarray:
        """Calibrated class probabilities.

        Args:
            inputs: uint8/float arrays (N, H, W) or (N, H, W, 3) of any size, PIL images,
                PNG/JPEG/DICOM bytes, or a list of those.

        Returns:
            float array (N, len(labels)) in MedMNIST label order; rows sum to 1.

        Raises:
            InvalidInputError: an input cannot be used.
        """
        prepared = self.prepare(inputs)
        batch = np.stack([p.model_input for p in prepared])
        return apply_temperature(self.logits(batch), self.temperature)

    def decide(self, probabilities: np.ndarray) -> str:
        """The label chosen for one probability row: the operating threshold for binary models."""
        if self.threshold is not None and self.positive_label is not None:
            positive = self.labels.index(self.positive_label)
            negative = 1 - positive
            return self.labels[positive] if probabilities[positive] >= self.threshold else self.labels[negative]
        return self.labels[int(np.argmax(probabilities))]

    def analyse(self, files: list[tuple[str, bytes]]) -> list[ImageResult]:
        """Predict for several uploaded files; a bad file gets an error, the others still run.

        Args:
            files: ``(name, bytes)`` pairs.

        Returns:
            One ``ImageResult`` per file, in order.
        """
        results: list[ImageResult] = []
        good: list[ImageResult] = []
        for name, data in files:
            result = ImageResult(name=name)
            try:
                decoded: DecodedImage = decode_image(data, name)
                result.prepared = self._prepare_one(decoded)
                result.warnings = result.prepared.warnings
                good.append(result)
            except MedcoreError as err:
                result.error = str(err)
            results.append(result)
        if good:
            batch = np.stack([r.prepared.model_input for r in good])
            probabilities = apply_temperature(self.logits(batch), self.temperature)
            for result, row in zip(good, probabilities):
                result.probabilities = {label: float(p) for label, p in zip(self.labels, row)}
                result.predicted = self.labels[int(np.argmax(row))]
                result.decision = self.decide(row)
        return results

    # -- explanation -------------------------------------------------------------------------
    def explain(self, one_input, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heatmap of one image for ``class_index`` (default: the decided class).

        Args:
            one_input: one image in any accepted form, or a ``PreparedImage``.
            class_index: the class to explain.

        Returns:
            float array (H, W) in [0, 1], the size of the input image; zero outside the
            centre square the model saw.
        """
        from PIL import Image

        prepared = one_input if isinstance(one_input, PreparedImage) else self.prepare([one_input])[0]
        batch = prepared.model_input[None]
        if class_index is None:
            proba = apply_temperature(self.logits(batch), self.temperature)[0]
            class_index = self.labels.index(self.decide(proba))
        if not 0 <= class_index < len(self.labels):
            raise InvalidInputError(
                f"class_index {class_index} is out of range; this model has classes 0-{len(self.labels) - 1}."
            )
        cam = self._gradcam(batch, class_index)
        if self.tta_flip:
            cam = cam + self._gradcam(np.ascontiguousarray(batch[:, :, ::-1]), class_index)[:, ::-1]
            cam = cam / cam.max() if cam.max() > 0 else cam
        top, left, size = prepared.crop
        height, width = prepared.original.shape[:2]
        square = np.asarray(Image.fromarray(cam.astype(np.float32)).resize((size, size), Image.Resampling.BILINEAR))
        heatmap = np.zeros((height, width), dtype=np.float64)
        heatmap[top : top + size, left : left + size] = np.clip(square, 0.0, 1.0)
        return heatmap


def load_image_model(path: Path, card: dict) -> ImageModel:
    """Load a verified image bundle (``model.keras`` with safe_mode on)."""
    import keras

    model = keras.saving.load_model(path / "model.keras", compile=False, safe_mode=True)
    image_model = ImageModel(model, card)
    # Trace the compiled prediction and Grad-CAM once now, so no user waits for it.
    image_model.explain(np.full((image_model.side, image_model.side, image_model.channels), 128, np.uint8).squeeze())
    return image_model


def results_frame(results: list[ImageResult], labels: list[str]):
    """A table of batch results: one row per file, probabilities as columns (pandas DataFrame)."""
    import pandas as pd

    rows = []
    for result in results:
        row = {"file": result.name, "decision": result.decision or "", "status": "error" if result.error else "ok"}
        row.update({f"P({label})": result.probabilities.get(label) for label in labels})
        row["warnings"] = " | ".join(result.warnings) if not result.error else result.error
        rows.append(row)
    return pd.DataFrame(rows)
