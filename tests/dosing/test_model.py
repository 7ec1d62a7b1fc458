"""The dosing model's contract on a tiny bundle trained here on synthetic IWPC-style patients."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medcore.core.errors import InvalidInputError
from medcore.dosing import data as iwpc
from medcore.dosing.model import tablets_for, weekly_schedule
from tests.dosing.conftest import synthetic_patients

pytestmark = pytest.mark.slow

PATIENT = {
    iwpc.AGE: "60 - 69",
    iwpc.HEIGHT: 170,
    iwpc.WEIGHT: 80,
    iwpc.RACE: "White",
    iwpc.CYP2C9: "*1/*1",
    iwpc.VKORC1: "A/G",
}


def test_doses_intervals_and_baselines_have_one_value_per_patient(tiny_dose_model):
    frame = synthetic_patients(20, seed=5)
    dose = tiny_dose_model.predict_dose(frame)
    interval = tiny_dose_model.interval(frame)
    assert dose.shape == (20,) and interval.shape == (20, 2)
    assert np.all(interval[:, 0] <= dose) and np.all(dose <= interval[:, 1]) and np.all(dose > 0)
    assert set(tiny_dose_model.baselines(frame)) == {"IWPC pharmacogenetic", "IWPC clinical", "fixed 35 mg/week"}


def test_the_model_learns_the_genotype_effects(tiny_dose_model):
    doses = {vk: tiny_dose_model.predict_dose([{**PATIENT, iwpc.VKORC1: vk}])[0] for vk in ("G/G", "A/G", "A/A")}
    assert doses["G/G"] > doses["A/G"] > doses["A/A"]  # the synthetic doses follow the IWPC algorithm
    rows = tiny_dose_model.genotype_doses([PATIENT])
    assert len(rows) == 18 and {r["VKORC1"] for r in rows} == {"G/G", "A/G", "A/A"}


def test_the_effects_add_up_to_the_dose_minus_the_reference(tiny_dose_model):
    explanation = tiny_dose_model.explain([{**PATIENT, iwpc.AMIODARONE: 1, iwpc.VKORC1: "A/A"}])
    total = sum(e["mg_per_week"] for e in explanation["effects"])
    assert total == pytest.approx(explanation["dose"] - explanation["reference_dose"], abs=1e-6)
    effects = {e["factor"]: e["mg_per_week"] for e in explanation["effects"]}
    assert effects["VKORC1 genotype"] < 0 and effects["amiodarone"] < 0
    assert explanation["dose"] == pytest.approx(
        tiny_dose_model.predict_dose([{**PATIENT, iwpc.AMIODARONE: 1, iwpc.VKORC1: "A/A"}])[0]
    )


def test_outside_the_training_range_there_is_no_dose(tiny_dose_model):
    high = tiny_dose_model.card["domain_check"]["ranges"][iwpc.WEIGHT][1]
    (result,) = tiny_dose_model.analyse([{**PATIENT, iwpc.WEIGHT: high + 20}])
    assert result["out_of_domain"] and result["dose"] is None and "Weight" in result["reason"]
    (result,) = tiny_dose_model.analyse([{**PATIENT, iwpc.HEIGHT: None, iwpc.CYP2C9: None}])
    assert not result["out_of_domain"] and any("Height (cm) missing" in n for n in result["notes"])
    assert any("CYP2C9 not tested" in n for n in result["notes"])
    with pytest.raises(InvalidInputError, match="Age"):
        tiny_dose_model.predict_dose([{**PATIENT, iwpc.AGE: "300"}])


def test_a_weekly_schedule_sums_to_about_the_dose():
    for dose in (7.0, 12.2, 31.0, 52.5, 80.0):
        plan = weekly_schedule(dose)
        assert len(plan["days"]) == 7 and abs(plan["total"] - dose) <= 0.25
        assert max(plan["days"]) - min(plan["days"]) <= 0.5
    assert tablets_for(7.5) == [7.5] and tablets_for(3.5) == [2.5, 1.0] and tablets_for(0.5) == []
    assert "3 mg (3 mg tablets) on 7 days" in weekly_schedule(21.0)["text"]


def test_the_card_compares_every_candidate_with_the_iwpc_algorithms(tiny_dose_bundle):
    card = json.loads((tiny_dose_bundle / "card.json").read_text())
    evaluation = json.loads((tiny_dose_bundle / "evaluation.json").read_text())
    candidates = evaluation["candidates"]
    assert {"ridge", "trees", "network", "ensemble", "IWPC pharmacogenetic", "IWPC clinical"} <= set(candidates)
    chosen = card["architecture"]["predictor"]
    assert candidates[chosen]["mae"] == min(candidates[k]["mae"] for k in ("ridge", "trees", "network", "ensemble"))
    validation = card["metrics"]["validation"]
    low, high = validation["interval_coverage_ci95"]
    assert low <= validation["interval_coverage"] <= high and 0.85 < validation["interval_coverage"] < 0.99
    assert set(validation["subgroups"]["dose band"]) == {"<= 21 mg/week", "21-49 mg/week", ">= 49 mg/week"}


def test_evaluation_on_a_labelled_csv(tiny_dose_model):
    from medcore.dosing.evaluate import evaluate_upload

    data = synthetic_patients(80, seed=9).to_csv(index=False).encode()
    result = evaluate_upload(tiny_dose_model, "ward.csv", data)
    assert result["n"] == 80 and result["mae_ci95"][0] <= result["mae"] <= result["mae_ci95"][1]
    assert "IWPC pharmacogenetic mae" in result and len(result["predictions"]) == 80
    with pytest.raises(InvalidInputError, match="Therapeutic Dose"):
        evaluate_upload(tiny_dose_model, "ward.csv", b"Age\n50 - 59\n")
