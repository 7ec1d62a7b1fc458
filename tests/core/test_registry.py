"""Bundles: every shipped card is complete and matches its files; tampering refuses to load."""

from __future__ import annotations

import json
import shutil

import pytest

import medcore
from medcore.core.bundle import REQUIRED_CARD_KEYS, sha256_file
from medcore.core.settings import PROJECT_ROOT
from tests.conftest import IMAGE_MODELS

SHIPPED = PROJECT_ROOT / "models"


def test_every_image_model_of_the_contract_is_shipped():
    names = {card["name"] for card in medcore.list_models()}
    assert set(IMAGE_MODELS) <= names


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_card_has_every_key_and_matching_sha256(name):
    card = json.loads((SHIPPED / name / "card.json").read_text())
    assert [key for key in REQUIRED_CARD_KEYS if key not in card] == []
    assert card["name"] == name
    for file_name, digest in card["files"].items():
        assert sha256_file(SHIPPED / name / file_name) == digest
    bundle_files = {p.name for p in (SHIPPED / name).iterdir()} - {"card.json"}
    assert bundle_files == set(card["files"])
    validation = card["metrics"]["validation"]
    assert validation["n"] > 0 and card["training"]["chosen_on"]


SHIPPED_NAMES = sorted(p.name for p in SHIPPED.iterdir() if (p / "card.json").is_file())


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_every_headline_figure_carries_its_interval_and_n(name):
    """Every scalar in a card's held-out metrics has a 95 % interval around it, or a stated reason why not."""
    validation = json.loads((SHIPPED / name / "card.json").read_text())["metrics"]["validation"]
    assert isinstance(validation["n"], int) and validation["n"] > 0
    reasons = validation.get("no_interval", {})
    figures = {
        key: value
        for key, value in validation.items()
        if isinstance(value, float) and not key.endswith("_ci95") and not key.startswith("n_")
    }
    assert figures, f"{name}: no figures"
    for key, value in figures.items():
        if key in reasons:
            assert len(reasons[key]) > 20  # a reason a reader can follow
            continue
        low, high = validation[f"{key}_ci95"]
        assert low <= high, (name, key)
        # the point estimate lies in its interval (to the rounding of the stored bounds)
        # (ECE is biased upward under resampling: its point may sit just below the percentile interval)
        assert low - 1e-6 <= value <= high + 1e-6 or key == "ece", (name, key, value, low, high)


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(medcore.ModelNotFoundError, match="pneumonia-cxr"):
        medcore.load_model("no-such-model")


@pytest.mark.parametrize("bad_name", ["", "../models", ".hidden", "a/b"])
def test_path_like_names_are_refused(bad_name):
    with pytest.raises(medcore.ModelNotFoundError):
        medcore.load_model(bad_name)


def test_a_changed_byte_refuses_to_load(tmp_path, monkeypatch):
    copy = tmp_path / "breast-ultrasound"
    shutil.copytree(SHIPPED / "breast-ultrasound", copy)
    data = bytearray((copy / "model.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.keras").write_bytes(bytes(data))
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    with pytest.raises(medcore.BundleIntegrityError, match="does not match the sha256"):
        medcore.load_model("breast-ultrasound")


@pytest.mark.parametrize(
    "path, value",
    [
        (("operating_point", "threshold"), 0.99),
        (("calibration", "temperature"), 5.0),
        (("domain_check", "threshold"), 1e9),
        (("labels",), ["pneumonia", "normal"]),
        (("preprocessing", "framing"), "crop"),
    ],
)
def test_an_edited_card_refuses_to_load(tmp_path, monkeypatch, path, value):
    """Issue 29 item 1: the card's decision fields are model parameters, signed like the weights."""
    from medcore.core.registry import verify_bundle

    copy = tmp_path / "pneumonia-cxr"
    shutil.copytree(SHIPPED / "pneumonia-cxr", copy)
    assert verify_bundle(copy)["card_sha256"]  # the shipped copy loads
    card = json.loads((copy / "card.json").read_text())
    node = card
    for key in path[:-1]:
        node = node[key]
    assert node[path[-1]] != value
    node[path[-1]] = value
    (copy / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    with pytest.raises(medcore.BundleIntegrityError, match="card.json was changed after training"):
        medcore.load_model("pneumonia-cxr")


def test_an_unsigned_card_refuses_to_load(tmp_path):
    from medcore.core.registry import verify_bundle

    copy = tmp_path / "symptom-checklist"
    shutil.copytree(SHIPPED / "symptom-checklist", copy)
    card = json.loads((copy / "card.json").read_text())
    del card["card_sha256"]
    (copy / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    with pytest.raises(medcore.BundleIntegrityError, match="carries no card_sha256"):
        verify_bundle(copy)


def test_a_missing_file_refuses_to_load(tmp_path, monkeypatch):
    copy = tmp_path / "breast-ultrasound"
    shutil.copytree(SHIPPED / "breast-ultrasound", copy)
    (copy / "evaluation.json").unlink()
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    with pytest.raises(medcore.BundleIntegrityError, match="missing"):
        medcore.load_model("breast-ultrasound")


def test_public_api_is_exactly_the_documented_one():
    assert set(medcore.__all__) == {
        "BundleIntegrityError",
        "InvalidInputError",
        "MedcoreError",
        "ModelNotFoundError",
        "list_models",
        "load_model",
        "read_card",
        "read_evaluation",
        "__version__",
    }
    assert issubclass(medcore.InvalidInputError, ValueError)


def test_warm_up_loads_every_sound_bundle_once_in_the_background(tmp_path, monkeypatch):
    from medcore.core import registry

    for name in ("symptom-checklist", "care-recommender"):
        (tmp_path / name).symlink_to(SHIPPED / name, target_is_directory=True)
    broken = tmp_path / "broken"
    shutil.copytree(SHIPPED / "symptom-checklist", broken)
    card = json.loads((broken / "card.json").read_text())
    (broken / "card.json").write_text(json.dumps({**card, "name": "broken"}))
    (broken / "model.json").write_text("{}")  # fails its sha256: skipped, not raised
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("MEDCORE_WARM_UP", "1")
    monkeypatch.setattr(registry, "_CACHE", {})
    monkeypatch.setattr(registry, "_WARM_UP", {})
    monkeypatch.setattr(registry, "_WARM_UP_DELAY_S", 0)
    thread = registry.warm_up()
    assert thread is not None and registry.warm_up() is None  # once per folder
    thread.join(timeout=120)
    assert sorted(name for _, name in registry._CACHE) == ["care-recommender", "symptom-checklist"]
    monkeypatch.setenv("MEDCORE_WARM_UP", "0")
    monkeypatch.setattr(registry, "_WARM_UP", {})
    assert registry.warm_up() is None


def test_a_dashboard_on_a_model_service_does_not_warm_up_the_kinds_the_service_runs(tmp_path, monkeypatch):
    from medcore.core import registry
    from medcore.ui.cache import REMOTE_KINDS, remote_kinds

    for name in ("symptom-checklist", "image-modality"):
        (tmp_path / name).symlink_to(SHIPPED / name, target_is_directory=True)
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("MEDCORE_WARM_UP", "1")
    monkeypatch.setattr(registry, "_CACHE", {})
    monkeypatch.setattr(registry, "_WARM_UP", {})
    monkeypatch.setattr(registry, "_WARM_UP_DELAY_S", 0)
    monkeypatch.delenv("MEDCORE_MODEL_SERVER", raising=False)
    assert remote_kinds() == ()
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", "http://127.0.0.1:9")
    assert remote_kinds() == REMOTE_KINDS and "modality" in REMOTE_KINDS
    from medcore.ui import login

    started = []
    monkeypatch.setattr(login, "warm_up", lambda *args: started.append(registry.warm_up(*args)))
    login.require_login()  # every page's first call; no users configured, so nothing is asked
    started[0].join(timeout=120)
    assert [name for _, name in registry._CACHE] == ["symptom-checklist"]


def test_a_figure_over_part_of_the_set_shows_its_own_n():
    from medcore.core.cards import format_figure

    metrics = {
        "n": 78,
        "n_lesion_images": 60,
        "dice": 0.73,
        "dice_ci95": [0.66, 0.80],
        "auc": 0.9,
        "auc_ci95": [0.8, 0.95],
    }
    assert format_figure(metrics, "dice", "Dice").endswith("n=60)")
    assert format_figure(metrics, "auc", "AUC").endswith("n=78)")


def test_the_warm_up_loads_in_the_pages_order_and_waits_while_a_page_waits(tmp_path, monkeypatch):
    import time

    from medcore.core import registry

    for name in ("symptom-checklist", "image-modality", "care-recommender"):
        (tmp_path / name).symlink_to(SHIPPED / name, target_is_directory=True)
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("MEDCORE_WARM_UP", "1")
    monkeypatch.setattr(registry, "_WARM_UP", {})
    monkeypatch.setattr(registry, "_WARM_UP_DELAY_S", 0)
    order = []
    monkeypatch.setattr(registry, "_load", order.append)
    monkeypatch.setattr(registry, "_WAITING", 1)  # a page is waiting for its model
    thread = registry.warm_up()
    time.sleep(0.5)
    assert order == [], "the warm-up loaded a model while a page was waiting"
    monkeypatch.setattr(registry, "_WAITING", 0)
    thread.join(timeout=60)
    assert order == ["image-modality", "symptom-checklist", "care-recommender"]  # the image router first
