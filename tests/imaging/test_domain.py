"""Know what it does not know: image models refuse inputs of another kind, and say which model fits.

The unit tests build their data in code; the tests with real images read MEDCORE_DATA_DIR.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import medcore
from medcore.imaging.domain import FeatureDistance, domain_figures
from medcore.imaging.modality import suggested_model
from medcore.imaging.negatives import HELD_OUT_FAMILIES, TRAIN_FAMILIES, negative_images
from tests.conftest import IMAGE_MODELS, PROJECT, png_bytes

KIND = {"pneumonia-cxr": "chest X-ray", "breast-ultrasound": "breast ultrasound", "retina-dr": "fundus photograph"}


# -- the pieces -----------------------------------------------------------------------------------
def test_feature_distance_flags_what_lies_beyond_its_threshold(tmp_path, rng):
    training = rng.normal(0, 1, (500, 6))
    check = FeatureDistance.fit(training, threshold=30.0)
    near, far = rng.normal(0, 1, (50, 6)), rng.normal(8, 1, (50, 6))
    assert check.outside(near).mean() < 0.05 and check.outside(far).all()
    assert np.all(check.distance(far) > check.distance(near).max())
    check.save(tmp_path / "domain.npz")
    again = FeatureDistance.load(tmp_path / "domain.npz")
    np.testing.assert_allclose(again.distance(far), check.distance(far))
    assert again.threshold == 30.0
    assert not FeatureDistance.fit(training, threshold=np.inf).outside(far).any()  # no limit, no refusal


def test_domain_figures_count_rates_with_intervals():
    figures = domain_figures(np.array([True] + [False] * 99), {"noise": np.ones(40, bool), "flat": np.zeros(10, bool)})
    assert figures["genuine_rejected"] == pytest.approx(0.01) and figures["n_genuine"] == 100
    assert figures["negatives_caught"] == pytest.approx(0.8) and figures["n_negatives"] == 50
    assert figures["families"]["noise"]["caught"] == 1.0 and figures["families"]["flat"]["caught"] == 0.0
    low, high = figures["genuine_rejected_ci95"]
    assert 0.0 <= low <= 0.01 <= high <= 0.05


def test_negative_families_are_seeded_and_held_out_ones_kept_apart():
    assert not set(TRAIN_FAMILIES) & set(HELD_OUT_FAMILIES)
    first = negative_images(("flat", "random shapes"), 3, seed=5)
    again = negative_images(("flat", "random shapes"), 3, seed=5)
    other = negative_images(("flat", "random shapes"), 3, seed=6)
    assert all(np.array_equal(a, b) for a, b in zip(first["random shapes"], again["random shapes"]))
    assert not all(np.array_equal(a, b) for a, b in zip(first["random shapes"], other["random shapes"]))
    assert all(image.dtype == np.uint8 and min(image.shape[:2]) >= 8 for image in first["flat"])
    with pytest.raises(KeyError, match="unknown negative families"):
        negative_images(("sunsets",), 1)


def test_the_suggested_model_is_what_most_confident_uploads_are():
    def seen(model, probability):
        return {"modality": "x", "probability": probability, "model": model}

    available = ["breast-ultrasound", "pneumonia-cxr", "retina-dr"]
    assert (
        suggested_model([seen("pneumonia-cxr", 0.9), seen("retina-dr", 0.8), seen("pneumonia-cxr", 0.7)], available)
        == "pneumonia-cxr"
    )
    assert suggested_model([seen("retina-dr", 0.4), None], available) is None  # unsure or undecodable: no guess
    assert suggested_model([seen(None, 0.99)], available) is None  # "other"
    assert suggested_model([seen("pneumonia-cxr", 0.9)], ["retina-dr"]) is None  # not installed


# -- the shipped models -----------------------------------------------------------------------------
@pytest.fixture(scope="module", params=IMAGE_MODELS)
def model(request):
    return medcore.load_model(request.param)


def test_every_image_bundle_carries_a_measured_domain_check(model):
    card = json.loads((PROJECT / "models" / model.name / "card.json").read_text())
    check = card["domain_check"]
    assert "domain.npz" in card["files"] and model.domain is not None
    assert model.domain.threshold == pytest.approx(check["threshold"])
    figures = check["validation"]
    assert figures["genuine_rejected"] <= 0.03 and figures["n_genuine"] >= 100
    assert set(figures["families"]) >= set(TRAIN_FAMILIES + HELD_OUT_FAMILIES)


def _analysed(model, images):
    return model.analyse([(f"{i}.png", png_bytes(image)) for i, image in enumerate(images)])


def test_a_ct_slice_noise_and_a_photograph_get_no_answer(model, ct_small):
    from sklearn.datasets import load_sample_image

    photo = load_sample_image("china.jpg")[100:356, 200:456]
    noise = np.random.default_rng(3).integers(0, 256, (128, 128), dtype=np.uint8)
    results = model.analyse([("ct.dcm", ct_small), ("noise.png", png_bytes(noise)), ("photo.png", png_bytes(photo))])
    for result in results:
        assert result.error is None and result.out_of_domain, result.name
        assert result.decision is None and result.predicted is None and result.probabilities == {}
        assert result.warnings[0].startswith(f"Not analysed: '{result.name}' is outside what '{model.name}' knows")
    assert "modality CT" in results[0].warnings[0]


@pytest.mark.data
def test_each_modality_swapped_is_refused_with_the_model_that_fits(model, genuine):
    own = _analysed(model, genuine[model.name])
    assert np.mean([r.out_of_domain for r in own]) <= 0.1  # its own kind is read (20 images)
    assert all(r.decision in model.labels for r in own if not r.out_of_domain)
    for other, images in genuine.items():
        if other == model.name:
            continue
        results = _analysed(model, images)
        assert np.mean([r.out_of_domain for r in results]) >= 0.9, other
        suggested = [r.suggested_model for r in results if r.out_of_domain]
        assert suggested.count(other) >= 0.8 * len(suggested), (other, suggested)
        assert all(r.decision is None for r in results if r.out_of_domain)


@pytest.mark.data
def test_the_feature_distance_alone_refuses_noise_without_the_router(model, genuine, monkeypatch):
    """With no image-modality bundle installed, the model's own distance check still refuses noise."""
    from medcore.imaging import model as image_model

    monkeypatch.setattr(image_model, "_detect_modality", lambda decoded: [None] * len(decoded))
    noise = [
        np.random.default_rng(i).integers(0, 256, (64, 64, 3) if model.channels == 3 else (64, 64), dtype=np.uint8)
        for i in range(10)
    ]
    assert all(r.out_of_domain for r in _analysed(model, noise))
    assert np.mean([r.out_of_domain for r in _analysed(model, genuine[model.name])]) <= 0.1


@pytest.mark.data
def test_the_router_names_each_kind(genuine):
    router = medcore.load_model("image-modality")
    for name, images in genuine.items():
        found = [d["modality"] for d in router.detect(list(images))]
        assert found.count(KIND[name]) >= 19, (name, found)
        assert all(d["model"] == name for d in router.detect(list(images[:3])))
    noise = np.random.default_rng(0).integers(0, 256, (5, 64, 64), dtype=np.uint8)
    assert [d["modality"] for d in router.detect(noise)] == ["other"] * 5


def test_a_damaged_router_leaves_the_models_own_check_in_charge(model, monkeypatch):
    """A refused image-modality bundle must not stop analysis: the feature distance still refuses noise."""
    from medcore.core import registry

    real = registry.load_model

    def refuse_router(name):
        if name == "image-modality":
            raise medcore.BundleIntegrityError("Model 'image-modality' refused: test")
        return real(name)

    monkeypatch.setattr(registry, "load_model", refuse_router)
    noise = np.random.default_rng(9).integers(0, 256, (64, 64, 3) if model.channels == 3 else (64, 64), dtype=np.uint8)
    result = model.analyse([("noise.png", png_bytes(noise))])[0]
    assert result.error is None and result.out_of_domain and result.detected is None
