"""Measures of a lesion mask a clinician reads: area, longest diameter, circularity, margin irregularity.

Area in pixels and % of the image, in mm^2 when the pixel spacing is known (DICOM); the longest
diameter is the largest distance between two points of the lesion's convex hull; circularity is
4 pi area / perimeter^2 (1 for a disc; the perimeter counts pixel edges times pi/4, exact on average
for discs); margin irregularity is 1 - area / convex-hull area (0 for a convex lesion, higher for
lobulated or spiculated margins, a sign radiologists weigh for malignancy).
"""

from __future__ import annotations

import numpy as np

__all__ = ["measure", "dice", "iou"]


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
