"""Page tests with Streamlit's AppTest (no browser): the home page and image diagnosis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import medcore
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
    headline = table.loc["pneumonia-cxr", "headline figure (held-out data)"]
    n = medcore.load_model("pneumonia-cxr").card["metrics"]["validation"]["n"]
    assert headline.startswith("AUC") and "95 % CI" in headline and f"n={n}" in headline


def test_image_page_asks_for_an_upload_first():
    app = _page("pages/Image_Diagnosis.py")
    assert not app.exception
    assert any("Upload an image" in info.value for info in app.info)


@pytest.mark.data
def test_image_page_preselects_the_model_and_shows_probabilities_heatmap_and_refusals(genuine, ct_small):
    xray = png_bytes(genuine["pneumonia-cxr"][0])
    app = _page("pages/Image_Diagnosis.py")
    app.file_uploader[0].set_value(
        [
            ("xray.png", xray, "image/png"),
            ("ct.dcm", ct_small, "application/dicom"),
            ("notes.png", b"this is a text file renamed to png", "image/png"),
            ("empty.png", b"", "image/png"),
        ]
    ).run()
    assert not app.exception
    assert app.selectbox[0].value == "pneumonia-cxr"  # chosen for what the uploads look like
    errors = [error.value for error in app.error]
    assert any("notes.png" in e and "text file" in e for e in errors)
    assert any("empty.png" in e and "empty" in e for e in errors)
    assert any(w.value.startswith("Not analysed: 'ct.dcm'") and "modality CT" in w.value for w in app.warning)
    table = app.dataframe[0].value
    assert list(table["file"]) == ["xray.png", "ct.dcm", "notes.png", "empty.png"]
    assert list(table["status"]) == ["ok", "not analysed: outside the model's domain", "error", "error"]
    assert table["decision"].iloc[1] == "" and pd.isna(table["P(pneumonia)"].iloc[1])  # no answer for the CT
    assert len(app.get("plotly_chart")) == 2  # probability bars and the Grad-CAM overlay of the X-ray
    # What the clinician reads is what the model says, at the card's threshold.
    result = medcore.load_model("pneumonia-cxr").analyse([("xray.png", xray)])[0]
    verdict = next(md.value for md in app.markdown if md.value.startswith("**Result:"))
    p = result.probabilities["pneumonia"]
    side = "at or above" if p >= result.threshold else "below"
    assert verdict.startswith(f"**Result: {result.decision}: P(pneumonia) {100 * p:.1f} %, {side} the ")
    assert "operating threshold (chosen to keep sensitivity >= 0.95)" in verdict  # the decision and why, as one
    assert table["decision"].iloc[0] == result.decision
    point = next(c.value for c in app.caption if c.value.startswith("Read by the 128 px network"))
    figures = medcore.load_model("pneumonia-cxr").card["metrics"]["validation"]
    low, high = figures["specificity_ci95"]
    assert f"specificity {figures['specificity']:.3f} (95 % CI {low:.3f}-{high:.3f})" in point
    assert f"n={figures['n']}" in point and "sensitivity 0." in point
    # its figures are cross-fitted (issue 29 item 9): each X-ray decided by a threshold other X-rays chose
    assert "each decided by a threshold chosen the same way on other images" in point and "Optimistic" not in point


@pytest.mark.data
def test_a_chest_xray_on_the_breast_model_gets_no_breast_result(genuine):
    app = _page("pages/Image_Diagnosis.py")
    app.file_uploader[0].set_value(("xray.png", png_bytes(genuine["pneumonia-cxr"][1]), "image/png")).run()
    app.selectbox[0].set_value("breast-ultrasound").run()
    assert not app.exception
    assert any("look like chest X-ray images" in w.value for w in app.warning)
    assert any(w.value.startswith("Not analysed: 'xray.png'") and "pneumonia-cxr" in w.value for w in app.warning)
    assert not app.get("plotly_chart") and not any("Result:" in md.value for md in app.markdown)


@pytest.mark.data
def test_a_mixed_batch_sends_each_image_to_the_model_for_its_kind(genuine):
    """Issue 28 item 12: an X-ray, an ultrasound and a fundus photograph uploaded together are each
    answered by their own model (they were all run through the first kind's and marked "not analysed")."""
    uploads = [
        ("xray.png", png_bytes(genuine["pneumonia-cxr"][0]), "image/png"),
        # landscape, so the breast model's centre crop leaves a note to show
        (
            "breast.png",
            png_bytes(np.pad(genuine["breast-ultrasound"][1], ((0, 0), (60, 60)), mode="edge")),
            "image/png",
        ),
        ("fundus.png", png_bytes(genuine["retina-dr"][0]), "image/png"),
    ]
    app = _page("pages/Image_Diagnosis.py")
    app.file_uploader[0].set_value(uploads).run()
    assert not app.exception
    assert any("each image is read by the model for its kind" in i.value for i in app.info)
    table = app.dataframe[0].value
    assert list(table["model"]) == ["pneumonia-cxr", "breast-ultrasound", "retina-dr"]
    for row, (file_name, data, _) in zip(table.itertuples(), uploads):
        (expected,) = medcore.load_model(row.model).analyse([(file_name, data)])
        assert row.decision == (expected.decision or "") and row.status == (
            "ok" if not expected.out_of_domain else "not analysed: outside the model's domain"
        )
    assert (table["status"] == "ok").sum() >= 2  # genuine images of each kind: at most one refused by its own check
    notes = next(e for e in app.expander if e.label.startswith("Notes on the files, in full"))
    shown = " ".join(md.value for md in notes.markdown)
    assert "'breast.png' is 376x256: only its central 256x256 square was used" in shown
    for file_name, data, _ in uploads:  # the table cell may cut a note; the list below it never does
        model = medcore.load_model(table.set_index("file").loc[file_name, "model"])
        for note in model.analyse([(file_name, data)])[0].warnings:
            assert note in shown


@pytest.mark.data
@pytest.mark.parametrize("opacity", [0.0, 1.0])
def test_opacity_slider_reaches_the_figure(genuine, opacity):
    app = _page("pages/Image_Diagnosis.py")
    app.file_uploader[0].set_value(("one.png", png_bytes(genuine["pneumonia-cxr"][2]), "image/png")).run()
    app.slider[0].set_value(opacity).run()
    assert not app.exception and len(app.get("plotly_chart")) == 2
    overlay = json.loads(app.get("plotly_chart")[1].proto.spec)
    heatmaps = [trace for trace in overlay["data"] if trace["type"] == "heatmap"]
    assert [trace["opacity"] for trace in heatmaps] == ([opacity] if opacity else [])


def _analyse(tab, text: str) -> None:
    """Type a note and press Analyse (form widgets commit together with the submit, in one run)."""
    tab.text_area[0].input(text)
    next(button for button in tab.button if button.label == "Analyse").click()


def test_free_text_masks_identifiers_and_explains():
    note = (
        "Call me on 555-123-4567 or jane.doe@example.org. Patients with acute myocardial infarction received early "
        "coronary angioplasty; ejection fraction was followed for a year."
    )
    app = _page("pages/Record_Classification.py")
    assert any("Symptom assessment" in info.value for info in app.info)  # symptoms go to the assessment page
    app.text_area[0].input(note).run()
    assert not app.get("plotly_chart")  # nothing is analysed before the button is pressed
    _analyse(app, note)
    app.run()
    assert not app.exception
    assert any("Masked before analysis" in info.value for info in app.info)
    # What the clinician reads: the identifiers are gone from the words shown...
    shown = " ".join(element.proto.body for element in app.get("html"))
    assert "angioplasty" in shown and "555-123-4567" not in shown and "jane.doe" not in shown
    # ...and the chart's top class is the model's top class for the masked note.
    model = medcore.load_model("abstract-topic")
    proba = model.predict_proba(
        [model.prepare(note.replace("555-123-4567", "[PHONE]").replace("jane.doe@example.org", "[EMAIL]"))[0]]
    )[0]
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["y"][-1] == model.labels[int(proba.argmax())]  # the highest bar is drawn last (on top)
    assert bars["x"][-1] == pytest.approx(proba.max(), abs=1e-6)


def test_a_paste_longer_than_the_limit_is_refused_in_the_apis_words(monkeypatch):
    """Issue 28 item 3: one limit everywhere; the page refuses what the API refuses, with the same message."""
    from medcore.core.settings import LIMITS
    from medcore.core.validate import check_text_length

    app = _page("pages/Record_Classification.py")
    long_text = "Patients with acute myocardial infarction received early angioplasty. " * (
        LIMITS["max_text_chars"] // 60
    )
    _analyse(app, long_text)
    app.run()
    assert not app.exception
    with pytest.raises(medcore.InvalidInputError) as refused:
        check_text_length(long_text)
    assert [e.value for e in app.error] == [str(refused.value)]
    assert f"at most {LIMITS['max_text_chars']:,} are accepted" in app.error[0].value
    assert not app.get("plotly_chart") and not app.warning  # no second, different notice
    _analyse(app, long_text[:6_000])  # over what the model reads (5,000): read in part, said once
    app.run()
    notes = [w.value for w in app.warning]
    assert len(notes) == 1 and "truncated from 6,000 to 5,000" in notes[0] and app.get("plotly_chart")


def _table(app, column: str):
    """The first table on the page with this column."""
    return next(table.value for table in app.table if column in table.value.columns)


def test_care_plan_page_for_an_existing_patient_and_a_built_history():
    app = _page("pages/Service_Recommendation.py")
    assert not app.exception
    assert [header.value for header in app.header] == ["What next", "How to live", "Where to go"]
    gaps = _table(app, "status")
    assert set(gaps["status"]) <= {"OVERDUE", "due", "done"} and gaps["source"].str.len().min() > 5
    suggestions = _table(app, "reason")
    assert 1 <= len(suggestions) <= 10 and suggestions["reason"].str.len().min() > 10
    places = _table(app, "km")  # the picked patient's home is known: nearest doctors
    assert len(places) == 5 and list(places["km"].astype(float)) == sorted(places["km"].astype(float))
    assert len(app.get("plotly_chart")) == 3  # the map, the timeline and the HR/NDCG curves
    app.radio[0].set_value("Build a history").run()
    app.multiselect[0].set_value(["condition:195967001"]).run()  # asthma
    assert not app.exception
    assert "Inhaled corticosteroid-containing controller (not reliever alone)" in set(_table(app, "status")["what"])
    app.text_input[0].set_value("99999").run()  # a bad location: the plan stands, Where to go says why
    assert not app.exception and any("Nearest known ZIP codes" in error.value for error in app.error)
    assert "Inhaled corticosteroid-containing controller (not reliever alone)" in set(_table(app, "status")["what"])
    app.number_input[3].set_value(180.0).run()  # height
    app.number_input[4].set_value(120.0).run()  # weight: BMI 37
    assert any("BMI is 37" in why for why in _table(app, "advice")["why"])


def test_care_plan_page_opened_for_an_emergency_shows_the_nearest_emergency_departments_first():
    app = AppTest.from_file(str(PROJECT / "pages/Service_Recommendation.py"), default_timeout=TIMEOUT)
    app.query_params["need"] = "emergency"
    app.run()
    assert not app.exception
    assert app.subheader[0].value == "Where to go now: nearest emergency departments"
    app.text_input(key="now-here").set_value("68510").run()  # where the patient is, not a demo patient's home
    first = app.table[0].value
    assert "km" in first.columns and set(first["emergency dept."]) == {"yes"} and len(first) == 5
    assert any("call 911" in error.value for error in app.error)


@pytest.mark.data
def test_adding_a_file_analyses_only_the_new_one(genuine, tmp_path, monkeypatch):
    """Each file is predicted (and audited) once per session, however the batch grows or the sliders move."""
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    first, second = (png_bytes(image) for image in genuine["pneumonia-cxr"][3:5])
    app = _page("pages/Image_Diagnosis.py")
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
    app = _page("pages/Model_Evaluation.py")
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


def test_the_threshold_slider_starts_at_each_models_own_threshold():
    app = _page("pages/Model_Evaluation.py")
    app.selectbox[0].set_value("pneumonia-cxr").run()
    next(s for s in app.slider if s.label.startswith("Threshold on")).set_value(0.9).run()
    app.selectbox[0].set_value("breast-ultrasound").run()
    assert not app.exception
    slider = next(s for s in app.slider if s.label.startswith("Threshold on"))
    breast = medcore.read_card("breast-ultrasound")["operating_point"]["threshold"]
    assert slider.value == pytest.approx(round(breast, 2))  # not the 0.9 carried over from pneumonia


def test_the_image_page_opens_without_loading_a_model(monkeypatch):
    """The uploader, the model choice and its intended use come from the cards; models load on upload."""
    from medcore import ui

    loaded = []
    monkeypatch.setattr(ui, "get_model", lambda name: loaded.append(name))
    app = _page("pages/Image_Diagnosis.py")
    assert not app.exception and loaded == []
    assert any("Intended use" in md.value for md in app.markdown)
    assert any("Upload an image" in info.value for info in app.info)


def test_no_number_box_blocks_a_value_silently_and_impossible_values_are_named():
    """Issue 28 items 1 and 17: a widget minimum or maximum makes the browser refuse a value with only a
    hover hint (the button then does nothing and the old result stays). No form has one; the model names
    the range instead."""
    pages = {
        "pages/Warfarin_Dosing.py": None,
        "pages/Symptom_Assessment.py": None,
        "pages/Service_Recommendation.py": "Build a history",
        "pages/Survival_Risk.py": None,
    }
    for path, mode in pages.items():
        app = _page(path)
        if mode:
            app.radio[0].set_value(mode).run()
        boxes = list(app.number_input)
        assert boxes, path
        limited = [box.label for box in boxes if box.proto.has_min or box.proto.has_max]
        assert not limited, (path, limited)
    warfarin = _page("pages/Warfarin_Dosing.py")
    next(box for box in warfarin.number_input if box.label == "Target INR").set_value(9.0)
    next(b for b in warfarin.button if b.label == "Recommend a dose").click().run()
    assert any("Target INR" in e.value and "from 1 to 5" in e.value for e in warfarin.error) and not warfarin.metric
    assessment = _page("pages/Symptom_Assessment.py")
    assessment.text_area[0].input("headache and fever")
    assessment.number_input[0].set_value(150.0)
    next(b for b in assessment.button if b.label == "Assess").click().run()
    assert any("150" in e.value and "0 to 120" in e.value for e in assessment.error)
    care = _page("pages/Service_Recommendation.py")
    care.radio[0].set_value("Build a history").run()
    next(box for box in care.number_input if box.label.startswith("Age")).set_value(150.0).run()
    assert not care.exception and any("age must be between" in e.value and "150" in e.value for e in care.error)
    assert not any(header.value == "What next" for header in care.header)  # no plan for the previous age
