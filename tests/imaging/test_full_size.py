"""Images at the size clinicians upload: the chest X-ray model's framing, its threshold, its small-input path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import medcore
from medcore.core.errors import InvalidInputError
from medcore.core.metrics import binary_operating_point, sensitivity_threshold, youden_threshold
from medcore.imaging.data import patient_of
from medcore.imaging.decode import DecodedImage, to_model_input
from medcore.imaging.recipes import SMALL_INPUT
from tests.conftest import genuine_small, png_bytes, validation_xrays


def test_patients_are_read_from_both_kinds_of_file_name():
    assert patient_of("pneumonia/person1017_bacteria_2948.jpeg") == "person1017"
    assert patient_of("normal/IM-0115-0001.jpeg") == "IM-0115"
    assert patient_of("normal/NORMAL2-IM-1345-0001.jpeg") == "NORMAL2-IM-1345"
    with pytest.raises(InvalidInputError, match="names no patient"):
        patient_of("normal/scan.jpeg")


def test_the_threshold_keeps_the_sensitivity_target_at_the_best_specificity(rng):
    truth = rng.integers(0, 2, 400).astype(bool)
    score = np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0, 1)
    threshold = sensitivity_threshold(truth, score, 0.95)
    assert binary_operating_point(truth, score, threshold)["sensitivity"] >= 0.95
    # the next higher score among the positives would lose the target: no better specificity keeps it
    higher = np.min(score[truth & (score > threshold)])
    assert binary_operating_point(truth, score, higher)["sensitivity"] < 0.95
    assert threshold < youden_threshold(truth, score)  # a sensitivity target is not Youden's J here


def test_squash_framing_keeps_the_whole_frame_and_matches_the_training_files():
    wide = np.zeros((300, 600), np.uint8)
    wide[:, :100] = 255  # a bright band at the left edge: outside the centre square
    image = DecodedImage("wide.png", wide, "array")
    cropped = to_model_input(image, 128, 1)
    squashed = to_model_input(image, 128, 1, framing="squash", source=(224, "lanczos"))
    assert cropped.model_input[:, :10].mean() < 5 and squashed.model_input[:, :10].mean() > 250
    assert squashed.crop == (0, 0, 0) and squashed.framing == "squash"
    # the upload is made a 224 px training file first (Lanczos), then resized as the training files were
    as_file = Image.fromarray(wide).resize((224, 224), Image.Resampling.LANCZOS)
    expected = np.asarray(as_file.resize((128, 128), Image.Resampling.BICUBIC), np.float32)
    np.testing.assert_array_equal(squashed.model_input[..., 0], expected)
    with pytest.raises(ValueError, match="framing"):
        to_model_input(image, 128, 1, framing="letterbox")


def test_the_shipped_card_states_its_framing_and_its_threshold_meets_its_target():
    from medcore.core.registry import read_evaluation

    name = "pneumonia-cxr"
    model = medcore.load_model(name)
    card = model.card
    assert card["preprocessing"]["framing"] == "squash" and model.side >= 128
    stored = read_evaluation(name)["validation_predictions"]
    truth = np.array(stored["y_true"]) == model.labels.index(model.positive_label)
    score = np.array(stored["proba"])[:, model.labels.index(model.positive_label)]
    target = card["operating_point"]["target"]["sensitivity"]
    validation = card["metrics"]["validation"]
    assert model.threshold == pytest.approx(sensitivity_threshold(truth, score, target), abs=1e-5)
    assert validation["sensitivity"] >= target
    for key in ("sensitivity", "specificity"):
        low, high = validation[f"{key}_ci95"]
        assert low <= validation[key] <= high
    full = validation["full_size"]
    assert full["n"] > 200 and full["auc_ci95"][0] <= full["auc"] <= full["auc_ci95"][1]
    assert card["small_input"]["input"]["shape"][0] == 28


def test_small_uploads_are_read_by_the_small_network_and_say_so(rng):
    model = medcore.load_model("pneumonia-cxr")
    tiny = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    large = np.asarray(Image.fromarray(tiny).resize((300, 240), Image.Resampling.BICUBIC))
    tiny_result, large_result = model.analyse([("tiny.png", png_bytes(tiny)), ("large.png", png_bytes(large))])
    assert tiny_result.answered_by == "28 px network" or tiny_result.out_of_domain
    assert any(f"under {SMALL_INPUT} px" in note for note in tiny_result.warnings)
    assert not any(f"under {SMALL_INPUT} px" in note for note in large_result.warnings)
    np.testing.assert_allclose(model.predict_proba(tiny), model.small.predict_proba(tiny))
    many = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)  # an array of more images than a file batch holds
    np.testing.assert_allclose(model.predict_proba(many), model.small.predict_proba(many))
    assert model.explain(tiny).shape == (28, 28)


@pytest.mark.data
def test_medmnist_images_are_answered_by_the_28px_network(data_dir):
    model = medcore.load_model("pneumonia-cxr")
    images = genuine_small(data_dir)["pneumonia-cxr"][:40]
    results = model.analyse([(f"{i}.png", png_bytes(image)) for i, image in enumerate(images)])
    read = [r for r in results if not r.out_of_domain]
    assert len(read) >= 36 and all(r.answered_by == "28 px network" for r in read)
    assert all(r.threshold == model.small.threshold for r in read)


@pytest.mark.data
def test_full_size_xrays_are_read_as_the_training_files_were(data_dir):
    """A validation X-ray restored to its original size gets (nearly) the answer of its 224 px file."""
    model = medcore.load_model("pneumonia-cxr")
    images, labels, rows = validation_xrays(data_dir, 8)
    originals = [np.asarray(Image.fromarray(image).resize((1800, 1400), Image.Resampling.LANCZOS)) for image in images]
    files = model.predict_proba(list(images))
    uploads = model.predict_proba(originals)
    assert np.abs(files - uploads).max() < 0.1
    results = model.analyse([(f"{i}.png", png_bytes(image)) for i, image in enumerate(originals)])
    assert all(r.answered_by == "128 px network" and not r.out_of_domain for r in results)
    prepared = model.prepare([originals[0]])[0]
    heatmap = model.explain(prepared)
    assert heatmap.shape == (1400, 1800)  # drawn on the upload, over the whole frame the model saw
    cam = model._network.cam(prepared.model_input[None], model.labels.index(results[0].decision))
    stretched = np.asarray(Image.fromarray(cam.astype(np.float32)).resize((1800, 1400), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(heatmap, np.clip(stretched, 0, 1), atol=1e-6)
    assert cam.shape[0] >= 7 and heatmap[:, :300].max() > 0  # the map reaches the frame's edges


@pytest.mark.data
def test_no_patient_is_on_both_sides_of_the_validation_split(data_dir):
    import csv

    from medcore.imaging.train import patient_split

    with open(data_dir / "chest_xray" / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    patients = np.array([patient_of(row["file"]) for row in rows])
    labels = np.array([row["label"] == "pneumonia" for row in rows]).astype(int)
    fit, held = patient_split(labels, patients, seed=0)
    assert not set(patients[fit]) & set(patients[held])
    assert len(held) > 0.12 * len(rows) and 0.2 < labels[held].mean() < 0.85
    assert medcore.load_model("pneumonia-cxr").card["metrics"]["validation"]["n"] == len(held)  # the card's split


def test_upload_artefacts_draw_borders_and_markers_deterministically():
    import tensorflow as tf

    from medcore.imaging.train import _upload_artefacts

    batch = tf.fill((200, 64, 64, 1), 100.0)
    first = _upload_artefacts(5, 64)(batch).numpy()
    again = _upload_artefacts(5, 64)(batch).numpy()
    np.testing.assert_array_equal(first, again)
    changed = (first != 100.0).reshape(200, -1).any(axis=1)
    assert 0.3 < changed.mean() < 0.9  # some images get a border or a marker, not all
    edges = np.concatenate([first[:, 0, :, 0], first[:, -1, :, 0], first[:, :, 0, 0], first[:, :, -1, 0]], axis=1)
    assert ((edges == 0) | (edges == 255)).any(axis=1).mean() > 0.05


def test_an_evaluation_scores_one_network_at_its_own_threshold(rng):
    from medcore.core.evaluate import evaluate

    model = medcore.load_model("pneumonia-cxr")
    small = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    large = [rng.integers(0, 256, (200, 240), dtype=np.uint8) for _ in range(6)]
    assert model.for_inputs(small) is model.small and model.for_inputs(large) is model
    assert model.for_inputs([png_bytes(image) for image in small]) is model.small
    with pytest.raises(InvalidInputError, match="two files"):
        model.for_inputs([small[0], large[0]])
    labels = np.array([0, 1] * 3)
    assert evaluate(model, small, labels)["operating_point"]["threshold"] == model.small.threshold
    assert evaluate(model, large, labels)["operating_point"]["threshold"] == model.threshold


def test_the_decision_and_its_reason_read_as_one_sentence():
    from medcore.imaging.model import ImageResult, decision_text, percent

    card = medcore.load_model("pneumonia-cxr").card
    probabilities = {"normal": 0.538, "pneumonia": 0.462}
    result = ImageResult("x.png", probabilities, decision="pneumonia", threshold=0.17, answered_by="128 px network")
    assert decision_text(card, result) == (
        "pneumonia: P(pneumonia) 46.2 %, at or above the 17.0 % operating threshold "
        "(chosen to keep sensitivity >= 0.95)"
    )
    result.answered_by, result.threshold, result.decision = "28 px network", 0.5, "normal"
    assert decision_text(card, result).endswith(
        "below the 50.0 % operating threshold (chosen for the best sensitivity + specificity (Youden's J))"
    )
    assert percent(0.0004) == "< 0.1 %" and percent(0.9996) == "> 99.9 %" and percent(0.25) == "25.0 %"


@pytest.mark.data
def test_a_breast_ultrasound_upload_is_reduced_as_breastmnist_reduced_it(data_dir):
    """BUSI frames at their original size (restored from the 256 px copies) become, within a grey level, the
    BreastMNIST images the network was trained on: centre square with rounded offsets, bilinear to 28 px."""
    model = medcore.load_model("breast-ultrasound")
    busi = np.load(data_dir / "busi_segmentation" / "busi_seg_trainval.npz", allow_pickle=False)
    small = np.load(data_dir / "medmnist" / "breastmnist_trainval.npz", allow_pickle=False)
    differences = []
    for k in range(0, 600, 20):
        height, width = (int(v) for v in busi["original_sizes"][k])
        upload = np.asarray(Image.fromarray(busi["images"][k]).resize((width, height), Image.Resampling.LANCZOS))
        prepared = model.prepare([upload])[0].model_input[..., 0]
        expected = small[f"{busi['breastmnist_split'][k]}_images"][busi["breastmnist_index"][k]]
        differences.append(np.abs(prepared - expected.astype(np.float32)).mean())
    # measured: 0.09 grey levels; the square cut with floored offsets gives 0.24, bicubic resizing 1.7
    assert np.mean(differences) < 0.15
