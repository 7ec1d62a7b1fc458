"""Evaluating the segmentation model on a labelled npz (``images`` and 0/1 ``masks``, optional ``labels``)."""

from __future__ import annotations

from collections.abc import Callable

from medcore.segmentation.data import read_npz
from medcore.segmentation.measure import segmentation_figures
from medcore.segmentation.model import SegmentationModel

__all__ = ["ACCEPTED_UPLOADS", "evaluate_upload", "evaluate_segmentation"]

ACCEPTED_UPLOADS = {
    ".npz": "'images' (N, H, W) uint8 and 'masks' (N, H, W) 0/1, optional 'labels' (like busi_seg_trainval.npz)"
}


def evaluate_upload(
    model: SegmentationModel, name: str, data: bytes, progress: Callable[[float], None] | None = None
) -> dict:
    """``evaluate_segmentation`` on an uploaded npz, read in memory."""
    return evaluate_segmentation(model, data, name, progress)


def evaluate_segmentation(model: SegmentationModel, source, name: str = "input", progress=None) -> dict:
    """Dice / IoU on lesion images, false area on normal ones, per class, with 95 % intervals."""
    arrays = read_npz(source, name)
    images, masks = arrays["images"], arrays["masks"]
    labels = (
        [str(v) for v in arrays["labels"]] if "labels" in arrays else ["lesion" if m.any() else "normal" for m in masks]
    )
    predicted, refused = [], 0
    kept_masks, kept_labels = [], []
    for i, image in enumerate(images):
        if model.domain_reason(image):
            refused += 1
        else:
            predicted.append(model.segment(image))
            kept_masks.append(masks[i])
            kept_labels.append(labels[i])
        if progress:
            progress((i + 1) / len(images))
    if not predicted:
        from medcore.core.errors import InvalidInputError

        raise InvalidInputError(f"'{name}': every image was refused by the domain check; nothing to score.")
    figures = segmentation_figures(kept_masks, predicted, kept_labels)
    figures.update(
        model=model.name,
        out_of_domain=refused,
        notes=[f"{refused} image(s) refused by the domain check."] if refused else [],
    )
    figures["predictions"] = [{"image": i + 1, "label": lab} for i, lab in enumerate(kept_labels)]
    return figures
