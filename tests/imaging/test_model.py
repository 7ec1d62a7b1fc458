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
    good = png_bytes(rng.integers(0, 256, (40, 40), dtype=np.uint8))
    results = model.analyse([("good.png", good), ("broken.png", b"\x89PNG\r\n\x1a\n broken"), ("ct.dcm", ct_small)])
    assert results[0].error is None and abs(sum(results[0].probabilities.values()) - 1) < 1e-9
    assert "broken.png" in results[1].error and "corrupt" in results[1].error
    assert results[2].error is None and results[2].decision in model.labels


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
def test_card_validation_metrics_reproduce_on_the_real_data(model, data_dir):
    """The figures in each card come from the shipped weights on the validation split."""
    from medcore.core.bundle import sha256_file
    from medcore.core.metrics import classification_summary
    from medcore.imaging.data import load_medmnist_npz

    path = data_dir / model.card["training"]["data_file"]
    assert sha256_file(path) == model.card["training"]["data_sha256"]
    images, labels = load_medmnist_npz(path, "val")
    summary = classification_summary(labels, model.predict_proba(images), model.labels)
    expected = model.card["metrics"]["validation"]
    assert summary["n"] == expected["n"]
    assert summary["auc"] == pytest.approx(expected["auc"], abs=1e-4)
    assert summary["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-4)
