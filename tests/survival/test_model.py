"""The survival model's contract on a tiny bundle trained in the test session."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from medcore import InvalidInputError
from medcore.survival.metrics import harrell_c
from tests.survival.conftest import synthetic_cohort

pytestmark = pytest.mark.slow


def test_the_card_records_every_candidate_with_intervals_and_chose_the_best(tiny_bundle):
    card = json.loads((tiny_bundle / "card.json").read_text())
    validation = card["metrics"]["validation"]
    candidates = {k.split(" ")[0]: v for k, v in validation["baselines"].items()}
    assert card["architecture"]["family"] not in candidates and len(candidates) == 2
    for figures in [validation, *candidates.values()]:
        for key in ("c_index", "auc@1y", "auc@5y", "integrated_brier", "calibration_gap@5y"):
            low, high = figures[f"{key}_ci95"]
            assert low <= figures[key] + 0.05 and high >= figures[key] - 0.05, key
    assert all(validation["c_index"] >= f["c_index"] for f in candidates.values())
    assert validation["c_index"] > 0.68 and validation["n"] == 600
    domain = card["domain_check"]["validation"]
    assert domain["genuine_rejected"] < 0.05 and domain["n_genuine"] == 600


def test_risk_and_curves_have_the_contract_shapes_and_order(tiny_model):
    frame = synthetic_cohort(50, seed=3)
    risk = tiny_model.risk(frame)
    times, survival = tiny_model.predict_survival(frame)
    assert risk.shape == (50,) and survival.shape == (50, len(times))
    assert np.all((survival >= 0) & (survival <= 1)) and np.all(np.diff(survival, axis=1) <= 1e-12)
    assert survival[:, 0].min() == pytest.approx(1.0)
    assert harrell_c(frame["duration"], frame["event"].astype(bool), risk) > 0.65
    # Higher risk, lower curve: the two outputs agree.
    order = np.argsort(risk)
    assert survival[order[-1], -1] < survival[order[0], -1]


def test_the_band_surrounds_the_curve_and_has_width(tiny_model):
    frame = synthetic_cohort(5, seed=4)
    _, survival = tiny_model.predict_survival(frame)
    _, low, high = tiny_model.survival_band(frame)
    assert np.all(low <= high) and (high - low).max() > 0.01
    assert np.all((low <= survival) & (survival <= high))  # the prediction is always inside its band


def test_analyse_gives_percentile_group_horizons_with_intervals(tiny_model):
    result = tiny_model.analyse(synthetic_cohort(1, seed=5), curves=True)[0]
    assert not result["out_of_domain"] and 0 <= result["risk_percentile"] <= 100
    for label in ("1y", "3y", "5y"):
        low, high = result[f"survival@{label}_ci95"]
        assert 0 <= low <= high <= 1
    assert result["survival@1y"] >= result["survival@3y"] >= result["survival@5y"]
    assert len(result["survival"]) == len(result["times"]) == len(result["low"])


def test_percentiles_and_groups_follow_the_risk(tiny_model):
    frame = synthetic_cohort(200, seed=6)
    results = tiny_model.analyse(frame)
    kept = [r for r in results if not r["out_of_domain"]]
    order = np.argsort([r["risk"] for r in kept])
    percentiles = np.array([kept[i]["risk_percentile"] for i in order])
    assert np.all(np.diff(percentiles) >= 0)
    assert kept[order[0]]["risk_group"] == "low" and kept[order[-1]]["risk_group"] == "high"


def test_outside_the_training_range_there_is_no_answer(tiny_model):
    frame = synthetic_cohort(3, seed=7)
    frame.loc[1, "age"] = 100  # plausible, but older than anyone in the synthetic training cohort (<= 85)
    frame.loc[2, ["age", "positive_nodes", "estrogen_receptor"]] = [
        84,
        30,
        0,
    ]  # far from the cohort on several covariates at once
    results = tiny_model.analyse(frame)
    assert not results[0]["out_of_domain"]
    # The decision says the risk relative to the cohort in words (issue 28 item 9), never a bare "low risk".
    assert results[0]["decision"] == f"higher risk than {results[0]['risk_percentile']:.0f} % of the training cohort"
    assert results[1]["out_of_domain"] and results[1]["decision"] is None and "risk" not in results[1]
    assert "Age at surgery = 100 years is outside the range seen in training" in results[1]["warnings"][0]
    assert results[2]["out_of_domain"] and "unusual" in results[2]["warnings"][0]
    reasons = tiny_model.domain_reasons(frame)
    assert reasons[0] == [] and reasons[1][0].startswith("Age at surgery = 100 years")
    assert any("combination of values is unusual" in r for r in reasons[2])


def test_an_impossible_value_is_an_error_not_a_prediction(tiny_model):
    frame = synthetic_cohort(2)
    frame.loc[1, "age"] = 170
    with pytest.raises(InvalidInputError, match="column 'age', row 2"):
        tiny_model.analyse(frame)


def test_explanations_add_up_to_the_risk_difference_and_find_the_true_drivers(tiny_model):
    row = synthetic_cohort(1, seed=8).assign(age=80, positive_nodes=15, hormone_therapy=0)
    explanation = tiny_model.explain(row)
    total = sum(c["log_hazard"] for c in explanation["contributions"])
    reference = pd.DataFrame([tiny_model.reference_row])
    assert total == pytest.approx(float(tiny_model.risk(row)[0] - tiny_model.risk(reference)[0]), abs=1e-6)
    top = {c["covariate"] for c in explanation["contributions"][:2]}
    assert top == {"age", "positive_nodes"}
    nodes = next(c for c in explanation["contributions"] if c["covariate"] == "positive_nodes")
    assert nodes["hazard_ratio"] > 1 and "raises the hazard" in nodes["text"] and "cohort median" in nodes["text"]
    assert explanation["total_hazard_ratio"] == pytest.approx(np.exp(total))


def test_the_what_if_moves_the_curve_the_way_the_data_say_and_says_it_is_not_causal(tiny_model):
    row = synthetic_cohort(1, seed=9).assign(hormone_therapy=0)
    result = tiny_model.what_if(row, {"hormone_therapy": 1})
    current, changed = np.array(result["current"]), np.array(result["changed"])
    assert np.all(changed >= current - 1e-12) and (changed - current).max() > 0.02  # truth: x0.5 hazard
    assert result["hazard_ratio"] < 0.9
    assert "observational" in result["notice"] and "not proof" in result["notice"]
    assert result["survival_at"]["5y"][1] > result["survival_at"]["5y"][0]
    with pytest.raises(InvalidInputError, match="Unknown covariate"):
        tiny_model.what_if(row, {"chemo": 1})
    with pytest.raises(InvalidInputError, match="hormone_therapy"):
        tiny_model.what_if(row, {"hormone_therapy": 3})
    assert "not a treatment" in tiny_model.what_if(row, {"age": 60})["warnings"][-1]


def test_covariates_describe_every_input_column(tiny_model):
    names = [c["name"] for c in tiny_model.covariates]
    assert names == list(synthetic_cohort(1).columns[:7])
    for covariate in tiny_model.covariates:
        assert {"name", "type", "unit", "range", "description", "median", "training_range"} <= set(covariate)
        low, high = covariate["range"]
        assert low <= covariate["training_range"][0] <= covariate["median"] <= covariate["training_range"][1] <= high
    assert tiny_model.treatments == ["hormone_therapy"]


def test_evaluation_on_a_labelled_csv_reports_every_figure_with_intervals(tiny_model):
    from medcore.survival.evaluate import evaluate_upload

    data = synthetic_cohort(300, seed=10).to_csv(index=False).encode()
    result = evaluate_upload(tiny_model, "ward.csv", data)
    assert result["n"] == 300 and result["c_index"] > 0.65
    for key in ("c_index", "auc@1y", "integrated_brier", "calibration_gap@3y"):
        assert len(result[f"{key}_ci95"]) == 2
    assert set(result["calibration"]) == {"1y", "3y", "5y"} and len(result["calibration"]["3y"]) == 10
    assert set(result["risk_groups"]) <= {"low", "intermediate", "high"}
    assert len(result["predictions"]) == 300
    with pytest.raises(InvalidInputError, match="lacks the column"):
        evaluate_upload(tiny_model, "ward.csv", b"age,duration,event\n50,3,1\n")


def test_large_batches_are_analysed_in_chunks_with_the_same_results(tiny_model, monkeypatch):
    import medcore.survival.model as module

    frame = synthetic_cohort(7, seed=15)
    whole = tiny_model.analyse(frame)
    monkeypatch.setattr(module, "CHUNK_ROWS", 3)
    chunked = tiny_model.analyse(frame)
    assert [r["risk_group"] for r in chunked] == [r["risk_group"] for r in whole]
    for key in ("risk", "survival@5y", "risk_percentile"):
        assert [r[key] for r in chunked] == pytest.approx([r[key] for r in whole], rel=1e-6)


def test_explanations_are_exact_shapley_values_even_with_interactions(tiny_model):
    import copy

    class ThreeWay:  # log-hazard = hormone x age x nodes (standardised): a pure three-way interaction
        def log_hazards(self, design, first_only=False):
            return (design[:, 0] * design[:, 3] * design[:, 4]).astype(np.float64)[:, None]

    model = copy.copy(tiny_model)
    model._risk = ThreeWay()
    other = 1 - model.reference_row["hormone_therapy"]  # all three differ from the median patient
    row = synthetic_cohort(1, seed=16).assign(age=70, positive_nodes=10, hormone_therapy=other)
    contributions = {c["covariate"]: c["log_hazard"] for c in model.explain(row)["contributions"]}
    total = float(model.risk(row)[0] - model.risk(pd.DataFrame([model.reference_row]))[0])
    assert sum(contributions.values()) == pytest.approx(total, abs=1e-9)
    assert all(abs(contributions[name]) < 1e-12 for name in ("tumor_size_cat", "postmenopausal", "estrogen_receptor"))


def test_bad_arguments_are_invalid_input_not_crashes(tiny_model):
    row = synthetic_cohort(1, seed=17)
    with pytest.raises(InvalidInputError, match="pass a dict"):
        tiny_model.what_if(row, ["hormone_therapy"])
    doubled = pd.concat([row, row[["age"]]], axis=1)
    with pytest.raises(InvalidInputError, match="more than once"):
        tiny_model.analyse(doubled)
