"""Dice, IoU and the lesion measures on shapes whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from medcore.segmentation.measure import dice, iou, measure
from tests.segmentation.conftest import disc


def test_dice_and_iou_of_shifted_squares():
    a = np.zeros((40, 40), np.uint8)
    b = np.zeros((40, 40), np.uint8)
    a[10:20, 10:20] = 1
    b[10:20, 15:25] = 1  # half of each square overlaps
    assert dice(a, b) == pytest.approx(0.5) and iou(a, b) == pytest.approx(1 / 3)
    assert dice(a, a) == 1.0 and dice(a, np.zeros_like(a)) == 0.0
    assert dice(np.zeros_like(a), np.zeros_like(a)) == 1.0  # both empty: a normal image read as normal


def test_a_disc_measures_as_a_disc():
    m = measure(disc(200, 100, 100, 40))
    assert m["lesion_found"] and m["components"] == 1
    assert m["area_pixels"] == pytest.approx(np.pi * 40**2, rel=0.02)
    assert m["area_percent"] == pytest.approx(100 * np.pi * 40**2 / 200**2, rel=0.02)
    assert m["longest_diameter_pixels"] == pytest.approx(81, abs=2)  # 2r + 1 pixel across
    assert m["circularity"] > 0.9 and m["margin_irregularity"] < 0.05
    assert m["area_mm2"] is None
    scaled = measure(disc(200, 100, 100, 40), pixel_spacing=(0.1, 0.1))
    assert scaled["area_mm2"] == pytest.approx(m["area_pixels"] * 0.01)
    assert scaled["longest_diameter_mm"] == pytest.approx(m["longest_diameter_pixels"] * 0.1, rel=1e-6)


def test_a_lobulated_lesion_is_less_circular_and_more_irregular():
    star = np.zeros((200, 200), np.uint8)
    yy, xx = np.mgrid[:200, :200]
    angle, radius = np.arctan2(yy - 100, xx - 100), np.hypot(yy - 100, xx - 100)
    star[radius <= 30 + 18 * np.cos(6 * angle)] = 1
    m, d = measure(star), measure(disc(200, 100, 100, 30))
    assert m["circularity"] < d["circularity"] - 0.2
    assert m["margin_irregularity"] > d["margin_irregularity"] + 0.1


def test_an_empty_mask_has_no_lesion_and_other_shapes_are_refused():
    m = measure(np.zeros((50, 60)))
    assert not m["lesion_found"] and m["area_pixels"] == 0 and m["circularity"] is None
    with pytest.raises(ValueError, match="2-D"):
        measure(np.zeros((5, 5, 3)))


def test_disagreement_between_classifier_and_outline_is_flagged():
    from medcore.segmentation.model import agreement

    empty, lesion = measure(np.zeros((64, 64))), measure(disc(64, 32, 32, 10))
    assert "Review" in agreement(empty, 0.8, 0.35)  # "malignant 80 %" with no lesion outlined
    assert agreement(empty, 0.1, 0.35) is None and agreement(lesion, 0.8, 0.35) is None
    tiny = measure(disc(200, 100, 100, 3))
    assert "tiny" in agreement(tiny, 0.9, 0.35)
    assert agreement(empty, None, None) is None
