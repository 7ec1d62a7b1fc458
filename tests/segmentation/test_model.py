"""The segmentation model's contract on a U-Net trained here on synthetic frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medcore.core.errors import InvalidInputError
from medcore.segmentation.measure import dice
from tests.segmentation.conftest import synthetic_frames

pytestmark = pytest.mark.slow


def test_a_mask_of_the_inputs_size_for_grey_and_rgb_of_any_size(tiny_segmentation_model):
    images, _, _ = synthetic_frames(4, side=128, seed=3)
    from PIL import Image

    odd = np.asarray(Image.fromarray(images[1]).resize((173, 141)))
    for image in (images[1], odd, np.repeat(odd[..., None], 3, axis=2)):
        mask = tiny_segmentation_model.segment(image)
        assert mask.shape == image.shape[:2] and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}


def test_the_lesion_is_found_where_it_is(tiny_segmentation_model):
    images, masks, _ = synthetic_frames(12, seed=11)
    scores = [dice(m, tiny_segmentation_model.segment(i)) for i, m in zip(images, masks) if m.any()]
    assert np.mean(scores) > 0.5  # dark discs on speckle: a trained U-Net finds them


def test_the_cards_threshold_decides_the_mask(tiny_segmentation_model, monkeypatch):
    images, masks, _ = synthetic_frames(4, seed=5)
    assert tiny_segmentation_model.segment(images[1]).any()
    monkeypatch.setattr(tiny_segmentation_model, "threshold", 1.01)
    assert not tiny_segmentation_model.segment(images[1]).any()


def test_the_cards_presence_threshold_leaves_a_frame_empty(tiny_segmentation_model, monkeypatch):
    """The presence head's score is below the card's cut-off -> no outline at all, and analyse says why."""
    images, _, _ = synthetic_frames(4, seed=5)
    mask, presence = tiny_segmentation_model.outline(images[1])
    assert mask.any() and 0 <= presence <= 1
    assert tiny_segmentation_model._network.output["present"] is not None  # the shipped head, trained here too
    monkeypatch.setattr(tiny_segmentation_model, "presence_threshold", presence + 1e-6)
    (result,) = tiny_segmentation_model.analyse([images[1]])
    assert not result["mask"].any() and not result["measures"]["lesion_found"]
    assert result["presence"] == pytest.approx(presence)
    monkeypatch.setattr(tiny_segmentation_model, "presence_threshold", presence - 1e-6)
    assert tiny_segmentation_model.segment(images[1]).any()


def test_small_blobs_are_removed(tiny_segmentation_model, monkeypatch):
    monkeypatch.setattr(tiny_segmentation_model, "min_area", 0.0)
    binary = np.zeros((128, 128), bool)
    binary[10:12, 10:12] = True
    binary[50:80, 50:80] = True
    assert tiny_segmentation_model._clean(binary).sum() == binary.sum()
    monkeypatch.setattr(tiny_segmentation_model, "min_area", 1.0)  # 1 % of the image: the 2 x 2 blob goes
    assert tiny_segmentation_model._clean(binary).sum() == 900


def test_a_colour_image_gets_no_outline_and_bad_arrays_are_refused(tiny_segmentation_model):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    (result,) = tiny_segmentation_model.analyse([photo])
    assert result["out_of_domain"] and result["mask"] is None and "colour" in result["reason"]
    with pytest.raises(InvalidInputError, match="uint8"):
        tiny_segmentation_model.segment(np.zeros((64, 64), np.float32))
    with pytest.raises(InvalidInputError, match="8 x 8"):
        tiny_segmentation_model.segment(np.zeros((4, 64), np.uint8))


def test_the_card_records_dice_false_area_and_the_choices(tiny_segmentation_bundle):
    card = json.loads((tiny_segmentation_bundle / "card.json").read_text())
    v = card["metrics"]["validation"]
    assert v["n"] == 16 and v["n_lesion_images"] == 12 and v["n_normal_images"] == 4
    for key in ("dice", "iou", "normal_false_area"):
        low, high = v[f"{key}_ci95"]
        assert low <= v[key] <= high
    point = card["operating_point"]
    assert point["threshold"] in (0.3, 0.4, 0.5, 0.6, 0.7) and "val images" in card["training"]["chosen_on"]
    assert point["presence_threshold"] in (0.0, 0.2, 0.35, 0.5, 0.65) and "optimistic" in card["training"]["chosen_on"]


def test_evaluation_on_a_labelled_npz(tiny_segmentation_model):
    import io

    from medcore.segmentation.evaluate import evaluate_upload

    images, masks, labels = synthetic_frames(12, seed=21)
    buffer = io.BytesIO()
    np.savez(buffer, images=images, masks=masks, labels=labels)
    result = evaluate_upload(tiny_segmentation_model, "mine.npz", buffer.getvalue())
    assert result["n"] + result["out_of_domain"] == 12 and result["n_lesion_images"] >= 7
    assert len(result["dice_values"]) == result["n_lesion_images"]
    with pytest.raises(InvalidInputError, match="'images' and 'masks'"):
        buffer = io.BytesIO()
        np.savez(buffer, pictures=images)
        evaluate_upload(tiny_segmentation_model, "bad.npz", buffer.getvalue())
