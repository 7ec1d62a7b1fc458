"""The shipped image models honour the API contract on in-code and real inputs."""

from __future__ import annotations

import numpy as np
import pytest

import medcore
from tests.conftest import IMAGE_MODELS, png_bytes


@pytest.fixture(scope="module", params=IMAGE_MODELS)
def model(request):
    return medcore.load_model(request.param)


def test_load_model_returns_one_shared_object():
    assert medcore.load_model("pneumonia-cxr") is medcore.load_model("pneumonia-cxr")


def test_predict_proba_shape_and_rows_sum_to_one(model, rng):
    shape = (6, 28, 28, 3) if model.channels == 3 else (6, 28, 28)
    proba = model.predict_proba(rng.integers(0, 256, shape, dtype=np.uint8))
    assert proba.shape == (6, len(model.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert np.all((proba >= 0) & (proba <= 1))


def test_any_size_and_bytes_give_the_same_answer_as_arrays(model, rng):
    shape = (100, 90, 3) if model.channels == 3 else (100, 90)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    from_array = model.predict_proba([image])
    from_bytes = model.predict_proba([png_bytes(image)])
    np.testing.assert_allclose(from_array, from_bytes, atol=1e-9)


def test_explain_returns_heatmap_of_the_input_size(model, rng):
    shape = (60, 80, 3) if model.channels == 3 else (60, 80)
    heatmap = model.explain(rng.integers(0, 256, shape, dtype=np.uint8))
    assert heatmap.shape == (60, 80)
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert np.all(heatmap[:, :10] == 0)  # outside the centre square the model never looked


def test_analyse_keeps_going_after_a_bad_file(model, rng, ct_small):
    noise = png_bytes(rng.integers(0, 256, (40, 40), dtype=np.uint8))
    results = model.analyse([("noise.png", noise), ("broken.png", b"\x89PNG\r\n\x1a\n broken"), ("ct.dcm", ct_small)])
    assert results[0].error is None and results[0].out_of_domain and results[0].decision is None
    assert "broken.png" in results[1].error and "corrupt" in results[1].error
    assert results[2].error is None and results[2].out_of_domain  # a CT is no X-ray, ultrasound or fundus


@pytest.mark.data
def test_analyse_gives_calibrated_probabilities_and_the_threshold_decision_for_genuine_images(model, genuine):
    from scipy.special import softmax

    images = genuine[model.name]
    results = model.analyse([(f"{i}.png", png_bytes(image)) for i, image in enumerate(images)])
    read = [(image, r) for image, r in zip(images, results) if not r.out_of_domain]
    assert len(read) >= 18
    batch = np.stack([model.prepare([image])[0].model_input for image, _ in read])
    # Recomputed apart from medcore's own calibration code, from the card's temperature.
    temperature = model.card["calibration"]["temperature"]
    if model.card["calibration"]["chosen"] == "temperature":  # else T = 1 by choice: nothing to tell apart
        assert abs(temperature - 1.0) > 0.01, "a temperature of 1 could not tell calibration on from off"
    else:
        assert temperature == 1.0
    calibrated = softmax(model.logits(batch) / temperature, axis=1)
    for (_, result), row in zip(read, calibrated):
        assert list(result.probabilities) == model.labels
        np.testing.assert_allclose(list(result.probabilities.values()), row, atol=1e-9)  # the temperature is applied
        assert result.decision == model.decide(row) and result.predicted == model.labels[int(row.argmax())]
    # predict_proba (what `medcore evaluate` and the evaluation page read) is calibrated the same way (issue 29 item 3)
    np.testing.assert_allclose(model.predict_proba(np.stack([image for image, _ in read])), calibrated, atol=1e-9)


def test_binary_decision_follows_the_operating_threshold():
    model = medcore.load_model("pneumonia-cxr")
    positive = model.labels.index(model.positive_label)
    row = np.zeros(2)
    row[positive] = model.threshold + 1e-6
    row[1 - positive] = 1 - row[positive]
    assert model.decide(row) == model.positive_label
    row[positive] = model.threshold - 1e-3
    row[1 - positive] = 1 - row[positive]
    assert model.decide(row) != model.positive_label


@pytest.mark.data
def test_card_figures_reproduce_from_the_data_and_the_stored_predictions(model, data_dir):
    """Every card figure is recomputed from evaluation.json's held-out predictions; where the held-out
    set is the val split (no cross-validation), the shipped weights reproduce those predictions."""
    from medcore.core.bundle import sha256_file
    from medcore.core.metrics import classification_summary
    from medcore.core.registry import read_evaluation
    from medcore.imaging.data import load_medmnist_npz

    path = data_dir / model.card["training"]["data_file"]
    assert sha256_file(path / "manifest.csv" if path.is_dir() else path) == model.card["training"]["data_sha256"]
    stored = read_evaluation(model.name)["validation_predictions"]
    expected = model.card["metrics"]["validation"]
    summary = classification_summary(np.array(stored["y_true"]), np.array(stored["proba"]), model.labels)
    assert summary["n"] == expected["n"]
    assert summary["auc"] == pytest.approx(expected["auc"], abs=1e-4)
    assert summary["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-4)
    low, high = expected["auc_ci95"]
    assert low < expected["auc"] < high and high - low < 0.2
    if expected["split"] == "val":
        images, labels = load_medmnist_npz(path, "val")
        np.testing.assert_allclose(model.predict_proba(images), np.array(stored["proba"]), atol=1e-5)
        assert labels.tolist() == stored["y_true"]
    elif path.is_dir():  # the chest X-ray folder: the validation patients of the grouped split
        from medcore.imaging.data import load_chest_xray
        from medcore.imaging.train import patient_split

        images, labels, patients, _ = load_chest_xray(path, model.labels)
        _, held = patient_split(labels, patients, model.card["training"]["seed"])
        assert labels[held].tolist() == stored["y_true"]
        check = held[:: max(1, len(held) // 120)]  # every 7th or so: the weights reproduce the stored predictions
        proba = model.predict_proba(list(images[check]))
        np.testing.assert_allclose(proba, np.array(stored["proba"])[:: max(1, len(held) // 120)], atol=1e-4)


@pytest.mark.data
def test_analyse_decides_at_the_cards_threshold_not_by_argmax(genuine, monkeypatch):
    """With the threshold moved to 0.999, images the argmax calls 'pneumonia' are decided 'normal'."""
    model = medcore.load_model("pneumonia-cxr")
    monkeypatch.setattr(model, "threshold", 0.999)
    results = model.analyse([(f"{i}.png", png_bytes(image)) for i, image in enumerate(genuine["pneumonia-cxr"])])
    read = [r for r in results if not r.out_of_domain]
    for result in read:
        expected = "pneumonia" if result.probabilities["pneumonia"] >= 0.999 else "normal"
        assert result.decision == expected
    assert any(r.predicted == "pneumonia" and r.decision == "normal" for r in read)  # argmax would differ here


def _card(sensitivity: float, cross_fitted: bool, side: int = 128) -> dict:
    point = {"threshold": 0.4, **({"cross_fitted": {"sensitivity": sensitivity}} if cross_fitted else {})}
    figures = {
        "split": "validation patients (grouped by patient)",
        "n": 869,
        "sensitivity": sensitivity,
        "sensitivity_ci95": [sensitivity - 0.02, sensitivity + 0.01],
        "specificity": 0.9,
        "specificity_ci95": [0.871, 0.932],
    }
    return {"input": {"shape": [side, side, 1]}, "operating_point": point, "metrics": {"validation": figures}}


def test_the_threshold_caption_says_how_its_figures_were_made_and_whose_they_are():
    """Issue 29 item 9: cross-fitted figures say so; figures the same images chose end 'Optimistic'; a
    small upload reads the figures of the network that answered it; no threshold, no caption."""
    from medcore.imaging.model import operating_point_text

    card = _card(0.95, cross_fitted=True) | {"small_input": _card(0.8, cross_fitted=False, side=28)}
    text = operating_point_text(card, "128 px network")
    assert text.startswith("Read by the 128 px network. On held-out images, each decided by a threshold chosen")
    assert "(n=869; validation patients, grouped by patient)" in text
    assert "sensitivity 0.950 (95 % CI 0.930-0.960)" in text and "specificity 0.900 (95 % CI 0.871-0.932)" in text
    assert "Optimistic" not in text
    small = operating_point_text(card, "28 px network")
    assert "sensitivity 0.800 (95 % CI 0.780-0.810)" in small
    assert small.endswith("Optimistic: these images also chose the threshold.") and "At this threshold" in small
    card["operating_point"].pop("threshold")
    assert operating_point_text(card, "128 px network") is None
