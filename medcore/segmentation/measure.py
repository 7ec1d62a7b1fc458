"""Measures of a lesion mask a clinician reads: area, longest diameter, circularity, margin irregularity.

Area in pixels and % of the image, in mm^2 when the pixel spacing is known (DICOM); the longest
diameter is the largest distance between two points of the lesion's convex hull; circularity is
4 pi area / perimeter^2 (1 for a disc; the perimeter counts pixel edges times pi/4, exact on average
for discs); margin irregularity is 1 - area / convex-hull area (0 for a convex lesion, higher for
lobulated or spiculated margins, a sign radiologists weigh for malignancy).
"""

from __future__ import annotations

import numpy as np

from medcore.core.uncertainty import bootstrap_intervals

__all__ = ["measure", "dice", "iou", "segmentation_figures"]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two binary masks (1.0 when both are empty)."""
    a, b = a.astype(bool), b.astype(bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * (a & b).sum() / total)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two binary masks (1.0 when both are empty)."""
    a, b = a.astype(bool), b.astype(bool)
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)


def measure(mask: np.ndarray, pixel_spacing: tuple[float, float] | None = None) -> dict:
    """Area, longest diameter, circularity and margin irregularity of a binary mask (all lesions together).

    Args:
        mask: (H, W) array, nonzero = lesion.
        pixel_spacing: (row, column) mm per pixel, e.g. DICOM PixelSpacing; None when unknown.

    Returns:
        ``{"lesion_found", "area_pixels", "area_percent", "area_mm2" (or None), "longest_diameter_pixels",
        "longest_diameter_mm" (or None), "circularity", "margin_irregularity", "components"}``.
    """
    from scipy import ndimage
    from scipy.spatial import ConvexHull, QhullError

    m = np.asarray(mask) > 0
    if m.ndim != 2:
        raise ValueError(f"measure takes a 2-D mask; got shape {m.shape}")
    area = int(m.sum())
    out = {
        "lesion_found": area > 0,
        "area_pixels": area,
        "area_percent": 100.0 * area / m.size,
        "area_mm2": None,
        "longest_diameter_pixels": 0.0,
        "longest_diameter_mm": None,
        "circularity": None,
        "margin_irregularity": None,
        "components": int(ndimage.label(m)[1]),
    }
    if area == 0:
        return out
    sy, sx = pixel_spacing if pixel_spacing else (1.0, 1.0)
    padded = np.pad(m, 1)
    edges = int((padded[1:, :] != padded[:-1, :]).sum() + (padded[:, 1:] != padded[:, :-1]).sum())
    perimeter = edges * np.pi / 4
    out["circularity"] = float(min(1.0, 4 * np.pi * area / perimeter**2))
    ys, xs = np.nonzero(m)
    corners = np.concatenate([np.stack([ys + dy, xs + dx], axis=1) for dy in (0, 1) for dx in (0, 1)]).astype(float)
    try:
        hull = ConvexHull(corners)
        points = corners[hull.vertices]
        hull_area = float(hull.volume)
    except QhullError:  # a line of pixels
        points, hull_area = corners, float(area)
    out["margin_irregularity"] = float(max(0.0, 1.0 - area / hull_area)) if hull_area > 0 else 0.0
    diff = points[:, None, :] - points[None, :, :]
    out["longest_diameter_pixels"] = float(np.sqrt((diff**2).sum(-1)).max())
    if pixel_spacing:
        out["area_mm2"] = float(area * sy * sx)
        scaled = points * np.array([sy, sx])
        d = scaled[:, None, :] - scaled[None, :, :]
        out["longest_diameter_mm"] = float(np.sqrt((d**2).sum(-1)).max())
    return out


def segmentation_figures(
    masks: list[np.ndarray], predicted: list[np.ndarray], labels: list[str], seed: int = 0
) -> dict:
    """Dice/IoU over images with a lesion and false area on normal images, with intervals, overall and per class."""
    lesion = np.array([m.any() for m in masks])
    dices = np.array([dice(m, p) for m, p in zip(masks, predicted)])
    ious = np.array([iou(m, p) for m, p in zip(masks, predicted)])
    false_area = np.array([p.mean() for p in predicted])
    labels = np.asarray(labels)

    def mean_ci(values: np.ndarray) -> tuple[float, list[float]]:
        ci = bootstrap_intervals(lambda r: {"m": values[r].mean()}, len(values), resamples=1000, seed=seed)["m"]
        return float(values.mean()), ci

    out: dict = {"n": int(len(masks)), "n_lesion_images": int(lesion.sum()), "n_normal_images": int((~lesion).sum())}
    for key, values in (("dice", dices[lesion]), ("iou", ious[lesion]), ("normal_false_area", false_area[~lesion])):
        if len(values):
            out[key], out[f"{key}_ci95"] = mean_ci(values)
    if (~lesion).any():
        empty = np.array([not p.any() for p in np.asarray(predicted, dtype=object)[~lesion]], dtype=float)
        out["normal_left_empty"], out["normal_left_empty_ci95"] = mean_ci(empty)
    per_class = {}
    for label in sorted(set(labels.tolist())):
        rows = (labels == label) & lesion
        if rows.sum() >= 3:
            d, d_ci = mean_ci(dices[rows])
            per_class[label] = {"n": int(rows.sum()), "dice": d, "dice_ci95": d_ci, "iou": float(ious[rows].mean())}
    out["per_class"] = per_class
    out["dice_values"] = [round(float(v), 4) for v in dices[lesion]]
    return out
