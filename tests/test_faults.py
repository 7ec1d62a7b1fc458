"""A damaged models folder: a changed byte, a missing file, a missing bundle.

Each damaged model's page section shows what is wrong and what to do; every other model and
page keeps working. The folder is a copy (``MEDCORE_MODELS_DIR``), so the shipped bundles are
never touched.
"""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from medcore.cli import main
from tests.conftest import PROJECT

TIMEOUT = 60


@pytest.fixture
def damaged_models(tmp_path, monkeypatch):
    """pneumonia-cxr with one flipped byte, abstract-topic without its model file, no care-recommender."""
    folder = tmp_path / "models"
    folder.mkdir()
    for bundle in sorted((PROJECT / "models").iterdir()):
        if bundle.name in ("pneumonia-cxr", "abstract-topic"):
            shutil.copytree(bundle, folder / bundle.name)
        elif bundle.name != "care-recommender" and bundle.is_dir():
            (folder / bundle.name).symlink_to(bundle, target_is_directory=True)
    model_file = folder / "pneumonia-cxr" / "model.keras"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    (folder / "abstract-topic" / "model.keras").unlink()
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(folder))
    return folder


def _page(path: str) -> AppTest:
    return AppTest.from_file(str(PROJECT / path), default_timeout=TIMEOUT).run()


def _errors(app: AppTest) -> str:
    return " ".join(error.value for error in app.error)


def test_home_page_still_lists_the_models_it_can_read(damaged_models):
    app = _page("app.py")
    assert not app.exception
    names = set(app.table[0].value.index)
    assert "care-recommender" not in names and {"breast-ultrasound", "symptom-checklist"} <= names


def test_image_page_refuses_the_changed_bundle_and_serves_the_others(damaged_models):
    app = _page("pages/Image_Diagnosis.py")
    app.selectbox[0].set_value("pneumonia-cxr").run()
    assert not app.exception
    assert "'model.keras' does not match the sha256 in its card" in _errors(app)
    assert not any("Intended use" in md.value for md in app.markdown)
    app.selectbox[0].set_value("breast-ultrasound").run()
    assert not app.exception and not app.error
    assert any("Intended use" in md.value for md in app.markdown)  # a sound model is served


def test_record_page_names_its_incomplete_model_and_the_assessment_page_still_works(damaged_models):
    app = _page("pages/Record_Classification.py")
    assert not app.exception
    assert "'abstract-topic' is incomplete: 'model.keras' is missing" in _errors(app)
    app = _page("pages/Symptom_Assessment.py")
    app.text_area[0].input("fever and a sore throat for 2 days")
    app.button[0].click().run()
    assert not app.exception and app.get("plotly_chart")


def test_service_page_explains_a_missing_bundle(damaged_models):
    app = _page("pages/Service_Recommendation.py")
    assert not app.exception
    assert "No model named 'care-recommender'" in _errors(app)


def test_evaluation_page_refuses_the_changed_bundle_only(damaged_models):
    app = _page("pages/Model_Evaluation.py")
    app.selectbox[0].set_value("pneumonia-cxr").run()
    assert not app.exception and "does not match the sha256" in _errors(app)
    app.selectbox[0].set_value("symptom-checklist").run()
    assert not app.exception and not app.error and app.get("plotly_chart")


def test_cli_refuses_the_changed_bundle_without_a_traceback(damaged_models, capsys):
    assert main(["predict", "pneumonia-cxr", "whatever.png"]) == 2
    err = capsys.readouterr().err
    assert "does not match the sha256" in err and "Traceback" not in err
