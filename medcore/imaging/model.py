"""Image models: calibrated probabilities, the operating-threshold decision, the domain check and Grad-CAM.

``ImageModel`` wraps a bundle's ``model.keras`` (float32 (N, S, S, C) in [0, 255] -> logits)
with the card's preprocessing, temperature and threshold. ``analyse`` (what pages, the CLI and
the service call) first asks whether each image is of the model's kind: a DICOM of another
Modality, an image the ``image-modality`` model recognises as another kind (or as no medical
image), or one whose features lie beyond the model's domain threshold (``domain.npz``) is
out of domain and gets no probabilities and no decision, only a message saying why and which
model fits. ``predict_proba`` stays the raw numeric API. The model is stateless after
loading, so one instance is shared by every Streamlit session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medcore.core.calibration import calibrate
from medcore.core.cards import percent
from medcore.core.errors import InvalidInputError, MedcoreError
from medcore.imaging.decode import (
    DecodedImage,
    PreparedImage,
    as_image_list,
    decode_image,
    framing_of,
    to_model_input,
)
from medcore.imaging.domain import FeatureDistance
from medcore.imaging.numpy_cnn import CnnEnsemble
from medcore.imaging.recipes import SMALL_INPUT

__all__ = [
    "MODALITY_MODEL",
    "ImageModel",
    "ImageResult",
    "answering_card",
    "decision_text",
    "load_image_model",
    "operating_point_text",
    "percent",
    "results_frame",
]

_BATCH = 256


MODALITY_MODEL = "image-modality"


@dataclass
class ImageResult:
    """What one file gave: probabilities and decision; or why it is out of domain; or the error that stopped it.

    ``out_of_domain`` True means no answer: ``probabilities`` is empty, ``predicted`` and
    ``decision`` are None, and the first warning says what the image looks like and which
    model fits (``suggested_model``).
    """

    name: str
    probabilities: dict[str, float] = field(default_factory=dict)
    predicted: str | None = None
    decision: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    out_of_domain: bool = False
    detected: str | None = None  # the kind of image the modality model saw, e.g. "chest X-ray"
    suggested_model: str | None = None
    domain_distance: float | None = None  # distance to the training images / the threshold (> 1: outside)
    prepared: PreparedImage | None = None
    threshold: float | None = None  # the operating threshold of the network that answered
    answered_by: str = ""  # which network answered, e.g. "128 px network"

    def plain(self) -> dict:
        """The contract's fields as a JSON-ready dict: name, probabilities, predicted, decision,
        out_of_domain, warnings, error (the CLI and the model service print these)."""
        keys = ("name", "probabilities", "predicted", "decision", "out_of_domain", "warnings", "error")
        return {key: getattr(self, key) for key in keys}


class ImageModel:
    """A shipped image classifier (see the card for its data, metrics and limits)."""

    kind = "image"

    def __init__(
        self, network: CnnEnsemble, card: dict, domain: FeatureDistance | None = None, small: ImageModel | None = None
    ):
        self.card = card
        self.name: str = card["name"]
        self.labels: list[str] = list(card["labels"])
        self.side: int = int(card["input"]["shape"][0])
        self.channels: int = int(card["input"]["shape"][2])
        self.calibration: dict = card["calibration"]  # ``calibrate``'s temperature, or class-wise scale and bias
        self.tta_flip: bool = bool(card["preprocessing"].get("test_time_flip", False))
        self.threshold: float | None = card.get("operating_point", {}).get("threshold")
        self.positive_label: str | None = card.get("operating_point", {}).get("positive_label")
        self.modality: str = card["input"].get("modality", "")
        self.domain = domain
        self.small = small  # answers uploads whose shorter side is under SMALL_INPUT px (card "small_input")
        self._framing = framing_of(card)
        self._network = network  # NumPy inference of model.keras (medcore.imaging.numpy_cnn): no TensorFlow

    # -- preprocessing ---------------------------------------------------------------------
    def prepare(self, inputs, names: list[str] | None = None) -> list[PreparedImage]:
        """Decode and preprocess inputs (see ``medcore.imaging.decode.as_image_list``).

        Raises:
            InvalidInputError: any input cannot be used.
        """
        return [self._prepare_one(image) for image in as_image_list(inputs, names)]

    def _prepare_one(self, image: DecodedImage) -> PreparedImage:
        card_input = self.card.get("input", {})
        # A DICOM of another Modality is refused by the domain check in ``analyse``, not warned about here.
        return to_model_input(image, self.side, self.channels, card_input.get("training_intensity"), **self._framing)

    def _is_small(self, image: DecodedImage) -> bool:
        """True when the small network answers this image (its shorter side is under ``SMALL_INPUT`` px)."""
        return self.small is not None and min(image.pixels.shape[:2]) < SMALL_INPUT

    def _small_note(self, image: DecodedImage) -> str:
        height, width = image.pixels.shape[:2]
        return (
            f"'{image.name}' is {width}x{height} px, under {SMALL_INPUT} px: it was read by the "
            f"{self.small.side} px network (trained on {self.small.card['training']['dataset']}), not the "
            f"{self.side} px one; its figures are in the card's 'small_input' section."
        )

    # -- prediction --------------------------------------------------------------------------
    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits (N, K) of float32 model inputs (N, S, S, C), flip-averaged if the card says so."""
        return self._logits_and_features(batch)[0]

    def _logits_and_features(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logits (N, K) as ``logits`` and the pooled features (N, F) of the unflipped images."""
        outputs, features = [], []
        for start in range(0, len(batch), _BATCH):
            chunk = np.ascontiguousarray(batch[start : start + _BATCH], dtype=np.float32)
            logits, pooled = self._network.forward(chunk)
            if self.tta_flip:
                logits = (logits + self._network.forward(chunk[:, :, ::-1])[0]) / 2
            outputs.append(logits)
            features.append(pooled)
        return np.concatenate(outputs).astype(np.float64), np.concatenate(features).astype(np.float64)

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
        return self._probabilities(as_image_list(inputs))

    def _probabilities(self, images: list[DecodedImage]) -> np.ndarray:
        """``predict_proba`` of decoded images: each read by the network for its size."""
        small = np.array([self._is_small(image) for image in images], dtype=bool)
        probabilities = np.zeros((len(images), len(self.labels)))
        if (~small).any():
            batch = np.stack([self._prepare_one(image).model_input for image, s in zip(images, small) if not s])
            probabilities[~small] = calibrate(self.logits(batch), self.calibration)
        if small.any():
            probabilities[small] = self.small._probabilities([image for image, s in zip(images, small) if s])
        return probabilities

    def for_inputs(self, inputs) -> ImageModel:
        """The network that answers all of ``inputs`` (an evaluation scores one network at its own threshold).

        Raises:
            InvalidInputError: some inputs are under ``SMALL_INPUT`` px and some are not.
        """
        if self.small is None:
            return self
        small = [
            min(item.shape[:2] if isinstance(item, np.ndarray) else decode_image(bytes(item)).pixels.shape[:2])
            < SMALL_INPUT
            for item in inputs  # a sequence of images: arrays (an N-image array counts) or file bytes
        ]
        if all(small):
            return self.small
        if any(small):
            raise InvalidInputError(
                f"{sum(small)} of {len(small)} images are under {SMALL_INPUT} px and the others are not: they are read "
                f"by different networks ({self.small.side} px and {self.side} px) at different thresholds. Evaluate "
                "them as two files."
            )
        return self

    def decide(self, probabilities: np.ndarray) -> str:
        """The label chosen for one probability row: the operating threshold for binary models."""
        if self.threshold is not None and self.positive_label is not None:
            positive = self.labels.index(self.positive_label)
            negative = 1 - positive
            return self.labels[positive] if probabilities[positive] >= self.threshold else self.labels[negative]
        return self.labels[int(np.argmax(probabilities))]

    def analyse(self, files: list[tuple[str, bytes]], detections: list[dict | None] | None = None) -> list[ImageResult]:
        """Predict for several uploaded files; a bad file gets an error, the others still run.

        Args:
            files: ``(name, bytes)`` pairs.
            detections: the ``image-modality`` model's ``detect`` result per file, when the caller
                already has it (the image page does, to preselect the model); else it is run here.

        Returns:
            One ``ImageResult`` per file, in order.
        """
        results: list[ImageResult] = []
        good: list[ImageResult] = []
        decoded_images: list[DecodedImage] = []
        known: list[dict | None] = []  # the caller's detections of the decodable files
        small: dict[int, DecodedImage] = {}  # files the small network answers
        for index, (name, data) in enumerate(files):
            result = ImageResult(name=name)
            try:
                decoded: DecodedImage = decode_image(data, name)
                if self._is_small(decoded):
                    small[index] = decoded
                    results.append(result)
                    continue
                result.prepared = self._prepare_one(decoded)
                result.warnings = result.prepared.warnings
                good.append(result)
                decoded_images.append(decoded)
                known.append(detections[index] if detections is not None else None)
            except MedcoreError as err:
                result.error = str(err)
            results.append(result)
        if good:
            batch = np.stack([r.prepared.model_input for r in good])
            logits, features = self._logits_and_features(batch)
            probabilities = calibrate(logits, self.calibration)
            distances = self.domain.distance(features) / self.domain.threshold if self.domain else [None] * len(good)
            seen = known if detections is not None else _detect_modality(decoded_images)
            self._judge_domain(good, decoded_images, seen, distances)
            for result, row in zip(good, probabilities):
                if result.out_of_domain:
                    continue
                result.probabilities = {label: float(p) for label, p in zip(self.labels, row)}
                result.predicted = self.labels[int(np.argmax(row))]
                result.decision = self.decide(row)
                result.threshold, result.answered_by = self.threshold, f"{self.side} px network"
        if small:
            answers = self.small.analyse(
                [files[i] for i in small], [detections[i] for i in small] if detections is not None else None
            )
            for (index, decoded), answer in zip(small.items(), answers):
                answer.warnings.insert(1 if answer.out_of_domain else 0, self._small_note(decoded))
                results[index] = answer
        return results

    # -- what the model does not know ----------------------------------------------------------
    def _judge_domain(
        self, results: list[ImageResult], decoded: list[DecodedImage], detections: list[dict | None], distances
    ) -> None:
        """Mark results out of domain: another DICOM Modality, another kind of image, or unlike the training images."""
        modalities = self.card["input"].get("dicom_modalities") or []
        for result, image, detection, distance in zip(results, decoded, detections, distances):
            result.domain_distance = None if distance is None else float(distance)
            reasons = []
            if detection is not None:
                result.detected, result.suggested_model = detection["modality"], detection.get("model")
            if image.modality and modalities and image.modality.upper() not in modalities:
                reasons.append(
                    f"it is a DICOM of modality {image.modality}, and this model reads only {'/'.join(modalities)} images"
                )
            if (
                detection is not None
                and self.modality
                and detection["modality"] != self.modality
                and detection["probability"] >= 0.5
            ):
                what = (
                    "no medical image this dashboard reads"
                    if detection["modality"] == "other"
                    else f"a {detection['modality']}"
                )
                reasons.append(f"it looks like {what} ({detection['probability']:.0%} sure), not a {self.modality}")
            if distance is not None and distance > 1.0:
                reasons.append(
                    f"it is unlike the images this model was trained on (distance {distance:.1f} x the threshold)"
                )
            if reasons:
                result.out_of_domain = True
                fits = (
                    f" Choose the {result.detected} model ('{result.suggested_model}') for it."
                    if result.suggested_model and result.suggested_model != self.name
                    else ""
                )
                result.warnings.insert(
                    0, f"Not analysed: '{result.name}' is outside what '{self.name}' knows: {'; '.join(reasons)}.{fits}"
                )

    # -- explanation -------------------------------------------------------------------------
    def explain(self, one_input, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heatmap of one image for ``class_index`` (default: the decided class).

        Args:
            one_input: one image in any accepted form, or a ``PreparedImage``.
            class_index: the class to explain.

        Returns:
            float array (H, W) in [0, 1], the size of the input image; zero outside the
            centre square the model saw (a squashing model saw the whole frame).
        """
        from PIL import Image

        if isinstance(one_input, PreparedImage):
            prepared = one_input
            if self.small is not None and prepared.model_input.shape[0] != self.side:  # the small network's input
                return self.small.explain(prepared, class_index)
        else:
            (image,) = as_image_list([one_input])
            if self._is_small(image):
                return self.small.explain(image, class_index)
            prepared = self._prepare_one(image)
        batch = prepared.model_input[None]
        maps = self._network.maps(batch)  # once, for the decision and the map
        if class_index is None:
            logits = self.logits(batch) if self.tta_flip else self._network.forward(batch, maps)[0]
            proba = calibrate(logits.astype(np.float64), self.calibration)[0]
            class_index = self.labels.index(self.decide(proba))
        if not 0 <= class_index < len(self.labels):
            raise InvalidInputError(
                f"class_index {class_index} is out of range; this model has classes 0-{len(self.labels) - 1}."
            )
        cam = self._network.cam(batch, class_index, maps)
        if self.tta_flip:
            cam = cam + self._network.cam(batch[:, :, ::-1], class_index)[:, ::-1]
            cam = cam / cam.max() if cam.max() > 0 else cam
        top, left, size = prepared.crop
        height, width = prepared.original.shape[:2]
        cam_image = Image.fromarray(cam.astype(np.float32))
        if prepared.framing == "squash":  # the whole frame was squashed: stretch the map back over it
            return np.clip(np.asarray(cam_image.resize((width, height), Image.Resampling.BILINEAR)), 0.0, 1.0).astype(
                np.float64
            )
        square = np.asarray(cam_image.resize((size, size), Image.Resampling.BILINEAR))
        heatmap = np.zeros((height, width), dtype=np.float64)
        heatmap[top : top + size, left : left + size] = np.clip(square, 0.0, 1.0)
        return heatmap


def answering_card(card: dict, answered_by: str) -> dict:
    """The card of the network that answered (``ImageResult.answered_by``): the bundle's or its ``small_input``."""
    small = card.get("small_input")
    return small if small and answered_by == f"{small['input']['shape'][0]} px network" else card


def operating_point_text(card: dict, answered_by: str = "") -> str | None:
    """What the answering network's threshold does on held-out images, in one sentence with n and the
    intervals: "Read by the 128 px network. On held-out images, each decided by a threshold chosen the
    same way on other images (n=869; ...): sensitivity 0.950 (95 % CI ...), specificity ...". A card
    whose threshold was chosen on the same images it reports (no ``cross_fitted`` figures) ends with
    "Optimistic: these images also chose the threshold." None without a threshold. Works with a local
    model's card or a remote one's."""
    answering = answering_card(card, answered_by)
    figures = answering["metrics"]["validation"]
    if "threshold" not in answering.get("operating_point", {}) or "sensitivity" not in figures:
        return None
    cross_fitted = "cross_fitted" in answering["operating_point"]

    def with_interval(key: str) -> str:
        low, high = figures[f"{key}_ci95"]
        return f"{key} {figures[key]:.3f} (95 % CI {low:.3f}-{high:.3f})"

    how = (
        "On held-out images, each decided by a threshold chosen the same way on other images"
        if cross_fitted
        else "At this threshold on held-out images"
    )
    split = figures.get("split", "").replace(" (", ", ").replace(")", "")
    return (
        f"Read by the {answered_by or 'network'}. {how} (n={figures['n']}; {split}): "
        f"{with_interval('sensitivity')}, {with_interval('specificity')}."
        + ("" if cross_fitted else " Optimistic: these images also chose the threshold.")
    )


def decision_text(card: dict, result: ImageResult) -> str:
    """The decision and why, in one sentence: "pneumonia: P(pneumonia) 46.2 %, at or above the 29.0 % operating
    threshold (chosen to keep sensitivity >= 0.95)"; the class and its probability for models without a threshold."""
    point = answering_card(card, result.answered_by).get("operating_point", {})
    positive = point.get("positive_label")
    if result.threshold is None or positive is None:
        return f"{result.decision}: P {percent(result.probabilities[result.decision])}"
    target = point.get("target")
    why = (
        f"chosen to keep sensitivity >= {target['sensitivity']:.2f}"
        if isinstance(target, dict)
        else "chosen for the best sensitivity + specificity (Youden's J)"
    )
    p = result.probabilities[positive]
    side = "at or above" if p >= result.threshold else "below"
    return (
        f"{result.decision}: P({positive}) {percent(p)}, {side} the {percent(result.threshold)} "
        f"operating threshold ({why})"
    )


def _detect_modality(decoded: list[DecodedImage]) -> list[dict | None]:
    """What the ``image-modality`` model sees in each image; None each when that model is missing or
    refused (a damaged bundle): the model's own feature distance still judges the images then."""
    from medcore.core.registry import load_model

    try:
        router = load_model(MODALITY_MODEL)
    except MedcoreError:
        return [None] * len(decoded)
    return router.detect(decoded)


def load_image_model(path: Path, card: dict) -> ImageModel:
    """Load a verified image bundle: the weights of ``model.keras`` read as arrays (nothing executed,
    no TensorFlow: ``medcore.imaging.numpy_cnn``) and ``domain.npz`` when the card lists it."""
    network = CnnEnsemble.read(path / "model.keras")
    domain = FeatureDistance.load(path / "domain.npz") if "domain.npz" in card.get("files", {}) else None
    small = None
    if "small_input" in card:  # the network for uploads under SMALL_INPUT px, in the same (verified) bundle
        small = ImageModel(
            CnnEnsemble.read(path / "small.keras"), card["small_input"], FeatureDistance.load(path / "small_domain.npz")
        )
    return ImageModel(network, card, domain, small)


def results_frame(results: list[ImageResult], labels: list[str], models: list[str] | None = None):
    """A table of batch results: one row per file, probabilities as columns (pandas DataFrame).

    ``models`` (one name per result) adds a "model" column, for a mixed batch read by several models;
    ``labels`` is then the union of their labels.
    """
    import pandas as pd

    rows = []
    for i, result in enumerate(results):
        status = (
            "error" if result.error else "not analysed: outside the model's domain" if result.out_of_domain else "ok"
        )
        row = {"file": result.name} | ({"model": models[i]} if models else {})
        row |= {"decision": result.decision or "", "status": status}
        row.update({f"P({label})": result.probabilities.get(label, float("nan")) for label in labels})  # "–", not None
        row["warnings"] = " | ".join(result.warnings) if not result.error else result.error
        rows.append(row)
    return pd.DataFrame(rows)
