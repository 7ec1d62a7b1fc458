"""The Survival and risk page and the survival parts of Model evaluation (AppTest, shipped bundles)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import medcore
from medcore.survival.metrics import GROUP_WORDS
from tests.conftest import PROJECT
from tests.survival.conftest import synthetic_cohort

TIMEOUT = 60


def _page(path: str) -> AppTest:
    return AppTest.from_file(str(PROJECT / path), default_timeout=TIMEOUT).run()


def _predict(app: AppTest) -> AppTest:
    return next(b for b in app.button if b.label == "Predict").click().run()


def test_the_form_starts_at_the_median_patient_and_shows_what_the_model_says():
    app = _page("pages/Survival_Risk.py")
    assert not app.exception
    assert any("press Predict" in info.value for info in app.info)
    model = medcore.load_model("survival-gbsg")
    assert app.number_input(key="survival-gbsg-age").value == model.reference_row["age"]
    # The model in words, with its mix (the shipped card is the Cox + trees blend), not a code name.
    weight = model.card["architecture"]["settings"]["weight_on_cox"]
    expected = (
        f"Model: {weight:.1f} x Cox regression + {1 - weight:.1f} x gradient-boosted Cox trees (on the log-hazard)"
    )
    assert any(c.value.startswith(expected + ", cross-validated on 1,546") for c in app.caption)
    app = _predict(app)
    assert not app.exception
    result = model.analyse([model.reference_row])[0]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Risk percentile"] == f"{result['risk_percentile']:.0f}th"
    # The labels name the model's endpoint (issue 28 item 6): GBSG predicts relapse-free survival.
    assert metrics["Relapse-free survival at 5y"] == f"{result['survival@5y']:.0%}"
    assert "Median relapse-free survival" in metrics and not any(label.startswith("Survival") for label in metrics)
    low, high = result["survival@5y_ci95"]
    assert any(m.label == "Relapse-free survival at 5y" and f"{low:.0%}-{high:.0%}" in str(m.delta) for m in app.metric)
    # Risk words are relative and explicit (item 9), never a bare "low risk".
    risk = next(m for m in app.metric if m.label == "Risk percentile")
    assert str(risk.delta) == f"higher risk than {result['risk_percentile']:.0f} % of the training cohort"
    assert len(app.get("plotly_chart")) == 3  # the curve, the cohort by risk group, the drivers
    assert any("times that of the cohort's median patient" in md.value for md in app.markdown)


def test_a_treatment_toggle_draws_both_curves_with_the_causal_notice():
    app = _predict(_page("pages/Survival_Risk.py"))
    toggle = app.toggle[0]
    assert "Hormonal therapy" in toggle.label
    app = toggle.set_value(True).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 4
    assert any("observational data" in info.value for info in app.info)
    assert list(app.table[0].value.index)[0] == "as recorded"


def test_a_patient_outside_the_training_cohort_gets_no_answer():
    app = _page("pages/Survival_Risk.py")
    app.number_input(key="survival-gbsg-age").set_value(20.0)
    app = _predict(app)
    assert not app.exception
    assert any("Age at surgery = 20 years is outside the range seen in training" in e.value for e in app.error)
    assert not app.metric and not app.get("plotly_chart")


def test_every_cohort_model_has_its_own_form():
    app = _page("pages/Survival_Risk.py")
    app.selectbox[0].set_value("survival-support").run()
    assert not app.exception
    labels = [s.label for s in app.selectbox]
    assert "Cancer status" in labels and "Race" in labels and not any("nominal" in label for label in labels)
    app = _predict(app)
    assert not app.exception and not app.toggle  # SUPPORT records no treatment
    labels = [m.label for m in app.metric]
    assert "Overall survival at 1y" in labels and "Median overall survival" in labels  # SUPPORT: death from any cause


def test_model_evaluation_draws_the_survival_evidence_and_scores_an_upload():
    app = _page("pages/Model_Evaluation.py")
    app.selectbox[0].set_value("survival-gbsg").run()
    assert not app.exception
    assert len(app.get("plotly_chart")) >= 2  # Kaplan-Meier by risk group, calibration
    frame = synthetic_cohort(200, seed=11)
    app.file_uploader[0].set_value(("ward.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert not app.exception
    shared = app.table[0].value
    assert "c_index" in shared.columns and shared.loc["your data", "n"] == 200
    app.file_uploader[0].set_value(("bad.csv", b"age,duration,event\n50,3,1\n", "text/csv")).run()
    assert any("lacks the column" in e.value for e in app.error)


def test_a_batch_csv_gives_a_downloadable_table_with_refusals_marked():
    app = _page("pages/Survival_Risk.py")
    frame = synthetic_cohort(4, seed=14).drop(columns=["duration", "event"])
    frame.loc[3, "age"] = 99  # plausible, older than anyone in the training cohort
    app.file_uploader[0].set_value(("ward.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert not app.exception
    table = app.dataframe[0].value
    model = medcore.load_model("survival-gbsg")
    expected = model.analyse(frame)
    words = [GROUP_WORDS.get(r.get("risk_group"), "not analysed") for r in expected]
    assert list(table["risk group (cohort third)"]) == words
    assert table["risk group (cohort third)"].iloc[3] == "not analysed"
    assert pd.isna(table["relapse-free survival at 5y"].iloc[3])
    assert table["relapse-free survival at 5y"].iloc[0] == pytest.approx(expected[0]["survival@5y"], abs=1e-3)
    assert "median relapse-free survival (months)" in table.columns
    assert any("1 outside the training cohort" in c.value for c in app.caption)
    app.file_uploader[0].set_value(("typo.csv", b"age,positive_nodes\n50,x\n", "text/csv")).run()
    assert any("lacks the column" in e.value for e in app.error)


def test_an_out_of_range_value_is_named_with_its_range_not_silently_blocked():
    """Issue 28 item 1: age 150 gets a message next to the form naming the plausible range, and no result."""
    app = _predict(_page("pages/Survival_Risk.py"))
    assert app.metric  # a result for the median patient
    app.number_input(key="survival-gbsg-age").set_value(150)
    app = _predict(app)
    assert not app.exception
    assert any("150 is outside the plausible range" in e.value and "years" in e.value for e in app.error)
    assert not app.metric  # the previous patient's result is not left beside the new inputs


def test_every_factor_is_listed_in_plain_words():
    """Issue 28 item 7: the chart and the list use plain names, every factor is in the list, no '(1)/(0)'."""
    app = _predict(_page("pages/Survival_Risk.py"))
    chart = json.loads(app.get("plotly_chart")[-1].proto.spec)["data"][0]
    assert "Number of positive lymph nodes" in chart["y"] and "positive_nodes" not in chart["y"]
    listed = next(md.value for md in app.markdown if md.value.startswith("- "))
    model = medcore.load_model("survival-gbsg")
    assert all(c["description"] in listed for c in model.covariates)
    assert "(1)" not in listed and "Post-menopausal: yes" in listed


def _upload(app: AppTest, name: str, frame: pd.DataFrame | bytes) -> AppTest:
    data = frame if isinstance(frame, bytes) else frame.to_csv(index=False).encode()
    return app.file_uploader[0].set_value((name, data, "text/csv")).run()


def _frames(app: AppTest) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """The batch tab's table of unreadable cells (None when there is none) and its results table."""
    tables = [d.value for d in app.dataframe]
    problems = next((t for t in tables if "problem" in t.columns), None)
    return problems, next(t for t in tables if "risk group (cohort third)" in t.columns)


def test_one_bad_row_is_listed_while_the_good_rows_are_answered_with_their_ids_kept():
    """Issue 28 item 10: "sixty" in one row no longer refuses the file; the ID column comes back unchanged."""
    frame = synthetic_cohort(4, seed=15).drop(columns=["duration", "event"]).astype(object)
    frame.insert(0, "patient_id", ["007", "008", "009", "010"])  # numbers to pandas, IDs to a clinic
    frame.loc[1, "age"] = "sixty"
    app = _upload(_page("pages/Survival_Risk.py"), "ward.csv", frame)
    assert not app.exception
    problems, table = _frames(app)
    assert problems.to_dict("records") == [
        {"row": 2, "column": "age", "value": "sixty", "problem": "is not a number",
         "allowed": "Age at surgery, years, 18-110"}
    ]  # fmt: skip
    assert any("1 of 4 rows could not be read" in e.value for e in app.error)
    assert list(table["patient_id"]) == ["007", "008", "009", "010"]  # as written, "007" not 7
    good = frame.drop(index=1).drop(columns="patient_id")
    expected = medcore.load_model("survival-gbsg").analyse(good)
    words = [GROUP_WORDS.get(r.get("risk_group"), "not analysed") for r in expected]
    assert list(table["risk group (cohort third)"]) == [words[0], "not analysed", *words[1:]]
    answered = [0, 2, 3]
    for row, result in zip(answered, expected):
        if not result["out_of_domain"]:
            assert table["risk percentile"].iloc[row] == pytest.approx(
                result["risk_percentile"], abs=0.05
            )  # shown to 1 decimal
    assert "'age' = 'sixty' is not a number" in table["note"].iloc[1]
    assert any("3 patients" in c.value for c in app.caption)


def test_unit_labelled_headers_give_the_same_answers_as_the_bare_names():
    """Issue 28 item 10: "age (years)" and the other template headers are read; old files still work."""
    frame = synthetic_cohort(3, seed=16).drop(columns=["duration", "event"])
    app = _upload(_page("pages/Survival_Risk.py"), "plain.csv", frame)
    _, plain = _frames(app)
    labelled = frame.rename(
        columns={
            "age": "age (years)",
            "progesterone_receptor": "progesterone_receptor (fmol/l)",
            "tumor_size_cat": "Tumour size group",
        }
    )
    app = _upload(app, "labelled.csv", labelled)
    assert not app.exception and not app.error
    problems, table = _frames(app)
    assert problems is None
    pd.testing.assert_frame_equal(table, plain)
    app = _upload(app, "months.csv", frame.rename(columns={"age": "age (months)"}))
    assert any("'months' is not its unit" in e.value and "years" in e.value for e in app.error)


def test_a_median_beyond_follow_up_says_not_reached():
    """Issue 28 item 10: a curve that stays above 50 % shows "not reached", never None or NaN."""
    model = medcore.load_model("survival-gbsg")
    low_risk = {**model.reference_row, "positive_nodes": 1, "tumor_size_cat": 0, "progesterone_receptor": 200,
                "hormone_therapy": 1}  # fmt: skip
    median, reached = (model.analyse([row])[0]["median_survival"] for row in (model.reference_row, low_risk))
    assert reached is None and median is not None
    app = _upload(_page("pages/Survival_Risk.py"), "two.csv", pd.DataFrame([model.reference_row, low_risk]))
    _, table = _frames(app)
    assert list(table["median relapse-free survival (months)"]) == [f"{median:.1f}", "not reached"]
    for covariate in ("positive_nodes", "tumor_size_cat", "progesterone_receptor", "hormone_therapy"):
        widget = app.number_input if covariate in ("positive_nodes", "progesterone_receptor") else app.selectbox
        widget(key=f"survival-gbsg-{covariate}").set_value(low_risk[covariate])
    app = _predict(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Median relapse-free survival"] == "not reached"


def test_the_template_is_offered_with_its_key_and_read_back_as_is():
    """Issue 28 item 10: the template (ID column, unit and code-key headers) is accepted unchanged."""
    from medcore.survival.inputs import template_csv

    app = _page("pages/Survival_Risk.py")
    assert any("Download a template" in str(b.proto.label) for b in app.get("download_button"))
    key = app.table[0].value
    assert "hormone_therapy (0 = no; 1 = yes)" in key.index and "postmenopausal (0 = no; 1 = yes)" in key.index
    model = medcore.load_model("survival-gbsg")
    app = _upload(app, "template.csv", template_csv(model).encode())
    assert not app.exception and not app.error
    problems, table = _frames(app)
    assert problems is None and list(table["patient_id"]) == ["example-1"]
    expected = model.analyse([model.reference_row])[0]
    assert table["risk percentile"].iloc[0] == pytest.approx(
        expected["risk_percentile"], abs=0.05
    )  # shown to 1 decimal


def test_metabric_answers_without_mrna_values_and_says_which_were_filled():
    """Issue 28 item 8: the genes are explained, may be left empty, and the page says what was filled."""
    app = _page("pages/Survival_Risk.py")
    app.selectbox[0].set_value("survival-metabric").run()
    assert any("log2 intensities" in c.value and "most clinics do not have them" in c.value for c in app.caption)
    assert any("Without gene-expression data, the GBSG model" in c.value for c in app.caption)
    assert app.number_input(key="survival-metabric-egfr_expr").value is None  # empty = not measured
    app = _predict(app)
    assert not app.exception and not app.error
    model = medcore.load_model("survival-metabric")
    result = model.analyse([model.reference_row])[0]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Risk percentile"] == f"{result['risk_percentile']:.0f}th"
    notice = next(w.value for w in app.warning if "Not measured" in w.value)
    for gene in ("EGFR", "PGR", "ERBB2 (HER2)", "MKI67 (Ki-67)"):
        assert f"{gene} mRNA expression = " in notice
    assert "rests on the clinical factors only" in notice and "5th and 95th percentiles" in notice
    app.number_input(key="survival-metabric-egfr_expr").set_value(7.0)
    app = _predict(app)
    notice = next(w.value for w in app.warning if "Not measured" in w.value)
    assert "EGFR" not in notice and "PGR mRNA expression = " in notice


def test_the_drawn_curve_carries_both_ends_of_its_band():
    """Issue 29 item 5: the survival band could vanish from the plot unnoticed."""
    app = _predict(_page("pages/Survival_Risk.py"))
    assert not app.exception
    model = medcore.load_model("survival-gbsg")
    result = model.analyse([model.reference_row], curves=True)[0]
    curve = json.loads(app.get("plotly_chart")[0].proto.spec)
    traces = curve["data"]
    band = next(t for t in traces if t.get("name") == "95 % band (bootstrap refits)")
    upper = traces[traces.index(band) - 1]  # the band fills down to it ("tonexty")
    assert band["fill"] == "tonexty"
    assert band["y"] == pytest.approx(list(result["low"])) and upper["y"] == pytest.approx(list(result["high"]))
    assert any(lo < hi for lo, hi in zip(result["low"], result["high"]))  # a band, not a line


def test_risk_groups_are_named_as_thirds_of_the_cohort_never_a_bare_low_risk():
    """Issue 28 item 9: SUPPORT's chart tagged a patient with 57 % one-year survival "low risk"."""
    app = _page("pages/Survival_Risk.py")
    app.selectbox[0].set_value("survival-support").run()
    app = _predict(app)
    assert not app.exception
    legend = [t.get("name", "") for c in app.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]]
    tagged = [name for name in legend if name.endswith("← this patient")]
    assert len(tagged) == 1 and "third of the cohort's risk" in tagged[0]
    assert not any(name.split(" (")[0] in ("low risk", "intermediate risk", "high risk") for name in legend)


def test_support_factors_read_as_a_clinician_says_them():
    """Issue 28 item 7 (new-user check): SUPPORT said 'Female (1) or male (0): male', 'Race (nominal)',
    '2 count', and the what-if legend 'hormone_therapy -> yes'."""
    app = _page("pages/Survival_Risk.py")
    app.selectbox[0].set_value("survival-support").run()
    app = _predict(app)
    assert not app.exception
    shown = " ".join([md.value for md in app.markdown] + [str(i.label) for i in app.selectbox])
    shown += " ".join(json.dumps(json.loads(c.proto.spec)["data"]) for c in app.get("plotly_chart"))
    for wrong in ("(1) or", "(nominal"):
        assert wrong not in shown, wrong
    listed = " ".join(md.value for md in app.markdown if md.value.startswith("- "))  # the factors, one a line
    assert "Sex: male" in listed and "sex_female" not in listed and "num_comorbidities" not in listed
    assert not re.search(r"\d count\b", shown)  # "2 count" comorbidities
    gbsg = _predict(_page("pages/Survival_Risk.py"))
    next(t for t in gbsg.toggle if "switch to" in t.label).set_value(True).run()
    what_if = next(frame.value.index.tolist() for frame in gbsg.table if "as recorded" in frame.value.index)
    assert what_if == ["as recorded", "Hormonal therapy given: yes"]  # not "hormone_therapy -> yes"
