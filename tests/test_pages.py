"""Page tests with Streamlit's AppTest (no browser): the home page and image diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT, png_bytes

TIMEOUT = 60  # the first run imports TensorFlow, far beyond AppTest's 3 s default


def _page(path: str) -> AppTest:
    return AppTest.from_file(str(PROJECT / path), default_timeout=TIMEOUT).run()


def test_home_page_lists_every_model_with_the_notice():
    app = _page("app.py")
    assert not app.exception
    assert any("not a diagnosis" in warning.value for warning in app.warning)
    table = app.table[0].value
    assert {"pneumonia-cxr", "breast-ultrasound", "retina-dr", "symptom-checklist", "care-recommender"} <= set(
        table.index
    )
    assert table.loc["pneumonia-cxr", "headline metric"].startswith("AUC")


def test_image_page_asks_for_an_upload_first():
    app = _page("pages/image_diagnosis.py")
    assert not app.exception
    assert any("Upload an image" in info.value for info in app.info)


def test_image_page_shows_probabilities_heatmap_and_per_file_errors(rng, ct_small):
    app = _page("pages/image_diagnosis.py")
    app.selectbox[0].set_value(next(o for o in app.selectbox[0].options if "Chest X-ray" in o)).run()
    xray = png_bytes(rng.integers(0, 256, (120, 100), dtype=np.uint8))
    app.file_uploader[0].set_value(
        [
            ("xray.png", xray, "image/png"),
            ("ct.dcm", ct_small, "application/dicom"),
            ("notes.png", b"this is a text file renamed to png", "image/png"),
            ("empty.png", b"", "image/png"),
        ]
    ).run()
    assert not app.exception
    errors = [error.value for error in app.error]
    assert any("notes.png" in e and "text file" in e for e in errors)
    assert any("empty.png" in e and "empty" in e for e in errors)
    table = app.dataframe[0].value
    assert list(table["file"]) == ["xray.png", "ct.dcm", "notes.png", "empty.png"]
    assert list(table["status"]) == ["ok", "ok", "error", "error"]
    assert len(app.get("plotly_chart")) == 2  # probability bars and the Grad-CAM overlay
    assert any("Result:" in md.value for md in app.markdown)
    assert any("modality CT" in w.value for w in app.warning) is False  # xray.png is shown first
    app.selectbox[1].set_value(1).run()  # details of the DICOM
    assert not app.exception
    assert any("modality CT" in w.value for w in app.warning)


@pytest.mark.parametrize("opacity", [0.0, 1.0])
def test_opacity_slider_reruns_without_error(rng, opacity):
    app = _page("pages/image_diagnosis.py")
    app.file_uploader[0].set_value(
        ("one.png", png_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8)), "image/png")
    ).run()
    app.slider[0].set_value(opacity).run()
    assert not app.exception and len(app.get("plotly_chart")) == 2


def _checklist_tab(app: AppTest):
    return next(tab for tab in app.tabs if tab.label == "Symptom checklist")


def test_checklist_tab_differential_triage_and_next_questions():
    app = _page("pages/record_classification.py")
    assert not app.exception
    tab = _checklist_tab(app)
    assert any("Tick at least one symptom" in info.value for info in tab.info)
    tab.multiselect[0].set_value(["itching", "skin_rash"]).run()
    tab = _checklist_tab(app)
    assert not app.exception
    assert any("Fungal infection" in expander.label for expander in tab.expander)
    assert any("Triage hint" in warning.value for warning in tab.warning)
    yes_buttons = [button for button in tab.button if button.label == "Yes"]
    assert len(yes_buttons) == 3
    asked = yes_buttons[0].key.removeprefix("yes-")
    yes_buttons[0].click().run()
    assert asked in _checklist_tab(app).multiselect[0].value  # answering "yes" ticks it
    no_button = next(button for button in _checklist_tab(app).button if button.label == "No")
    denied = no_button.key.removeprefix("no-")
    no_button.click().run()
    assert f"no-{denied}" not in [button.key for button in _checklist_tab(app).button]  # not asked again
    assert not app.exception


def test_free_text_tab_masks_identifiers_and_explains():
    app = _page("pages/record_classification.py")
    tab = next(tab for tab in app.tabs if tab.label == "Free text")
    tab.selectbox[0].set_value(next(o for o in tab.selectbox[0].options if "symptom" in o.lower()))
    app.run()
    tab = next(tab for tab in app.tabs if tab.label == "Free text")
    tab.text_area[0].input(
        "Call me on 555-123-4567 or jane.doe@example.org. I have an itchy skin rash with scaly patches."
    ).run()
    assert not app.exception
    tab = next(tab for tab in app.tabs if tab.label == "Free text")
    assert any("Masked before analysis" in info.value for info in tab.info)
    assert len(tab.get("plotly_chart")) >= 1


def test_recommendation_page_for_an_existing_patient_and_a_built_history():
    app = _page("pages/service_recommendation.py")
    assert not app.exception
    table = app.dataframe[0].value
    assert 1 <= len(table) <= 10 and table["reason"].str.len().min() > 10
    assert len(app.get("plotly_chart")) == 2  # the timeline and the HR/NDCG curves
    app.radio[0].set_value("Build a history").run()
    assert any("not a personalised recommendation" in info.value for info in app.info)  # empty history
    app.multiselect[0].set_value(["condition:195967001"]).run()  # asthma
    assert not app.exception
    descriptions = " ".join(app.dataframe[0].value["description"]).lower()
    assert "asthma" in descriptions or "albuterol" in descriptions or "budesonide" in descriptions
    app.multiselect[1].set_value(["medication"]).run()
    assert set(app.dataframe[0].value["kind"]) == {"medication"}


def test_adding_a_file_analyses_only_the_new_one(rng, tmp_path, monkeypatch):
    """Each file is predicted (and audited) once per session, however the batch grows or the sliders move."""
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    first, second = (png_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8)) for _ in range(2))
    app = _page("pages/image_diagnosis.py")
    app.file_uploader[0].set_value([("a.png", first, "image/png")]).run()
    app.file_uploader[0].set_value([("a.png", first, "image/png"), ("b.png", second, "image/png")]).run()
    app.slider[0].set_value(0.7).run()
    assert not app.exception and len(app.dataframe[0].value) == 2
    assert len(log.read_text().splitlines()) == 2


@pytest.mark.parametrize("name, positive", [("pneumonia-cxr", "pneumonia"), ("breast-ultrasound", "malignant")])
def test_threshold_explorer_reproduces_the_card_and_trades_off(name, positive):
    import json

    card = json.loads((PROJECT / "models" / name / "card.json").read_text())
    shipped = card["operating_point"]["validation"]
    app = _page("pages/model_evaluation.py")
    app.selectbox[0].set_value(name).run()
    slider = next(s for s in app.slider if s.label == f"Threshold on P({positive})")
    slider.set_value(0.9).run()
    assert not app.exception
    table = next(frame.value for frame in app.dataframe if "sensitivity" in frame.value.columns)
    shipped_row, chosen_row = table.iloc[0], table.iloc[1]
    assert shipped_row["sensitivity"] == pytest.approx(shipped["sensitivity"], abs=1e-3)
    assert shipped_row["specificity"] == pytest.approx(shipped["specificity"], abs=1e-3)
    assert chosen_row["sensitivity"] <= shipped_row["sensitivity"]  # a higher threshold catches fewer cases
    assert chosen_row["specificity"] >= shipped_row["specificity"]
