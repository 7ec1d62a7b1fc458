"""The Warfarin dosing page (AppTest, shipped bundle) and the dosing CLI."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import medcore
from medcore.cli import main
from medcore.dosing import data as iwpc
from medcore.dosing.tablets import week_of_tablets
from tests.conftest import PROJECT
from tests.dosing.conftest import synthetic_patients


def _page() -> AppTest:
    return AppTest.from_file(str(PROJECT / "pages/Warfarin_Dosing.py"), default_timeout=60).run()


def _submit(app: AppTest) -> None:
    next(b for b in app.button if b.label == "Recommend a dose").click()
    app.run()


def test_the_form_gives_the_models_dose_with_interval_baselines_and_effects():
    app = _page()
    assert not app.exception
    assert any("adjust the dose by INR" in w.value for w in app.warning)
    next(box for box in app.number_input if box.label.startswith("Height")).set_value(170.0)
    next(box for box in app.number_input if box.label.startswith("Weight")).set_value(75.0)
    next(box for box in app.selectbox if box.label == "CYP2C9 genotype").set_value("*1/*1")
    next(box for box in app.selectbox if box.label == "VKORC1 -1639 G>A genotype").set_value("A/G")
    _submit(app)
    assert not app.exception
    patient = {
        iwpc.AGE: "70 - 79",
        iwpc.HEIGHT: 170.0,
        iwpc.WEIGHT: 75.0,
        iwpc.GENDER: "male",
        iwpc.RACE: "White",
        iwpc.TARGET_INR: 2.5,
        iwpc.CYP2C9: "*1/*1",
        iwpc.VKORC1: "A/G",
        iwpc.AMIODARONE: 0,
        **{c: 0 for c in iwpc.INDUCERS},
        iwpc.INDICATION: "3",
    }
    expected = medcore.load_model("warfarin-dose").analyse([patient])[0]
    (metric,) = app.metric
    assert metric.value == f"{expected['dose']:.1f} mg/week"
    low, high = expected["interval"]
    assert f"{low:.1f}-{high:.1f}" in str(metric.delta)
    table = app.dataframe[0].value
    assert list(table["algorithm"]) == ["this model", "IWPC pharmacogenetic", "IWPC clinical", "fixed 35 mg/week"]
    assert table["dose"].iloc[1] == pytest.approx(round(expected["baselines"]["IWPC pharmacogenetic"], 1))
    kinds = [json.loads(c.proto.spec)["data"][0]["type"] for c in app.get("plotly_chart")]
    assert kinds == ["waterfall", "heatmap"]


def test_untested_genotypes_say_what_testing_could_change():
    app = _page()
    # Genotypes start as "not tested" (issue 28 item 4): none is invented for the patient.
    for label in ("CYP2C9 genotype", "VKORC1 -1639 G>A genotype"):
        assert next(box for box in app.selectbox if box.label == label).value == "not tested"
    _submit(app)
    assert not app.exception
    assert any("testing could move this patient's dose" in i.value for i in app.info)
    assert any("CYP2C9 not tested" in i.value for i in app.info)
    waterfall = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert "CYP2C9 not tested (average effect)" in waterfall["x"] and "CYP2C9 genotype" not in waterfall["x"]


def test_a_batch_csv_gives_a_table_and_bad_values_are_named():
    app = _page()
    data = synthetic_patients(5, seed=3).drop(columns=[iwpc.DOSE]).to_csv(index=False).encode()
    app.file_uploader[0].set_value(("patients.csv", data, "text/csv")).run()
    assert not app.exception and len(app.dataframe[-1].value) == 5
    app.file_uploader[0].set_value(("bad.csv", b"Age,Weight (kg)\n50 - 59,0\n", "text/csv")).run()
    assert not app.exception and any("Weight (kg)" in e.value and "row 1" in e.value for e in app.error)


def test_cli_predict_and_evaluate(tmp_path, capsys):
    path = tmp_path / "patients.csv"
    synthetic_patients(40, seed=4).to_csv(path, index=False)
    assert main(["predict", "warfarin-dose", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 40 and all(r["dose"] is None or r["interval"][0] <= r["dose"] <= r["interval"][1] for r in rows)
    assert main(["evaluate", "warfarin-dose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mae" in out and "IWPC pharmacogenetic mae" in out and "dose band <= 21 mg/week" in out
    assert "own training file" not in out  # new patients: no warning

    path.write_text("Age,CYP2C9 consensus\n50 - 59,*7/*7\n")
    assert main(["predict", "warfarin-dose", str(path)]) == 2
    assert "CYP2C9 consensus" in capsys.readouterr().err


@pytest.mark.data
def test_evaluating_on_the_training_file_says_it_is_in_sample(data_dir, capsys):
    """Issue 29 item 10: the training file's MAE (7.77) was printed as if it were new evidence."""
    assert main(["evaluate", "warfarin-dose", str(data_dir / "pharmacogenomics" / "warfarin_train.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert any("own training file" in note and "in-sample" in note for note in result["notes"])


def test_the_evaluation_page_shows_calibration_candidates_and_scores_an_upload():
    app = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("warfarin-dose").run()
    assert not app.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in app.get("plotly_chart")]
    assert any("Calibration" in t and "n=4427" in t for t in titles), titles
    data = synthetic_patients(60, seed=8).to_csv(index=False).encode()
    app.file_uploader[0].set_value(("ward.csv", data, "text/csv")).run()
    assert not app.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in app.get("plotly_chart")]
    assert any("n=60" in t for t in titles), titles


def test_an_impossible_value_is_named_and_no_stale_result_stays(tmp_path):
    """Issue 28 items 1 and 2: weight 500 kg gets a message naming the range, and the previous result goes."""
    app = _page()
    height = next(box for box in app.number_input if box.label.startswith("Height"))
    weight = next(box for box in app.number_input if box.label.startswith("Weight"))
    height.set_value(None)
    weight.set_value(None)
    _submit(app)
    assert any("Height (cm) missing" in i.value for i in app.info) and app.metric
    assert any("For the inputs last submitted" in c.value and "weight (kg) unknown" in c.value for c in app.caption)
    next(box for box in app.number_input if box.label.startswith("Height")).set_value(175.0)
    next(box for box in app.number_input if box.label.startswith("Weight")).set_value(500.0)
    _submit(app)
    assert not app.exception
    assert any("Weight (kg)" in e.value and "20 to 300" in e.value for e in app.error)
    assert not app.metric and not any("Height (cm) missing" in i.value for i in app.info)


def test_zero_weight_is_refused_in_the_form_as_in_a_batch_csv():
    """Issue 28 item 3: one rule everywhere: empty means unknown, 0 is refused with the same words as a CSV."""
    app = _page()
    next(box for box in app.number_input if box.label.startswith("Weight")).set_value(0.0)
    _submit(app)
    form_error = next(e.value for e in app.error if "Weight (kg)" in e.value)
    app = _page()
    app.file_uploader[0].set_value(("bad.csv", b"Age,Weight (kg)\n50 - 59,0\n", "text/csv")).run()
    csv_error = next(e.value for e in app.error if "Weight (kg)" in e.value)
    assert (
        "0.0 is not a number from 20 to 300" in form_error.replace("0 is", "0.0 is") or "from 20 to 300" in form_error
    )
    assert "from 20 to 300" in csv_error and not app.metric


def _pick_strengths(app: AppTest, strengths: list[float]) -> None:
    next(m for m in app.multiselect if m.label == "Tablet strengths stocked (mg)").set_value(strengths)
    app.run()


def _plan_text(app: AppTest) -> str | None:
    return next((m.value for m in app.markdown if m.value.startswith("**As a week of tablets:**")), None)


def test_the_week_of_tablets_uses_only_the_strengths_the_clinician_picks():
    """Issue 28 item 5: the plan is made of the strengths stocked, says how near it is, and none without any."""
    app = _page()
    assert next(m for m in app.multiselect if m.label.startswith("Tablet strengths")).value == [1.0, 3.0, 5.0]
    _submit(app)
    dose = medcore.load_model("warfarin-dose").analyse([app.session_state["dose-patient"]])[0]["dose"]
    for chosen in ([1.0, 3.0], [2.5, 5.0], [5.0]):
        _pick_strengths(app, chosen)
        assert not app.exception
        text, plan = _plan_text(app), week_of_tablets(dose, chosen)
        assert text and plan["text"] in text, (chosen, text)
        shown = {float(mg) for mg in re.findall(r"\d+ × ([\d.]+) mg", text)}
        assert shown and shown <= set(chosen), (chosen, text)
        assert any(c.value == f"Day by day: {plan['by_day']}." for c in app.caption)
        notes = [n.value for n in [*app.warning, *app.info] if "cannot be made exactly" in n.value]
        assert notes == ([plan["note"]] if plan["note"] else []), (chosen, notes)
    assert "nearest week totals 35 mg" in plan["note"]  # 5 mg tablets only: 7 x 5 mg, and the gap said
    _pick_strengths(app, [])
    assert not app.exception and _plan_text(app) is None
    assert any("No tablet strength chosen" in w.value for w in app.warning)


def test_the_batch_template_offered_on_the_page_is_read_back_by_its_batch_upload(monkeypatch):
    """Issue 28 item 5: the template's bytes, uploaded as they are, give a dose for the example patient."""
    offered = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):
        offered[filename] = data
        return keep(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    app = _page()
    labels = [b.label for b in app.get("download_button")]
    assert {"Download batch template (CSV)", "Download column key (CSV)"} <= set(labels)
    template = offered["warfarin-batch-template.csv"]
    header = list(pd.read_csv(io.BytesIO(template)).columns)
    key = pd.read_csv(io.BytesIO(offered["warfarin-batch-columns.csv"]))
    assert list(key["column"]) == header and {iwpc.HEIGHT, iwpc.WEIGHT, iwpc.CYP2C9, iwpc.VKORC1} <= set(header)
    assert "(cm)" in key.set_index("column").loc[iwpc.HEIGHT, "allowed values (units)"]
    app.file_uploader[0].set_value(("template.csv", template, "text/csv")).run()
    assert not app.exception and not app.error
    table = app.dataframe[-1].value
    expected = medcore.load_model("warfarin-dose").analyse(template)[0]
    assert len(table) == 1 and table["dose (mg/week)"].iloc[0] == pytest.approx(round(expected["dose"], 1))
    assert table["note"].iloc[0] == "", "every value of the example row is read"
    assert table["week of tablets"].iloc[0] == week_of_tablets(expected["dose"], [1.0, 3.0, 5.0])["text"]
