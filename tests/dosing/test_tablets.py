"""Issue 28 item 5: the week of tablets uses only the strengths chosen, and the batch template is read back as it is."""

from __future__ import annotations

import io
import itertools
import re

import pandas as pd
import pytest

from medcore.core.errors import InvalidInputError
from medcore.dosing import data as iwpc
from medcore.dosing.model import tablets_for, weekly_schedule
from medcore.dosing.tablets import MAX_TABLETS_PER_DAY
from medcore.dosing.template import TEMPLATE_COLUMNS, batch_template, template_key


def _shown_strengths(text: str) -> set[float]:
    """The tablet strengths a plan's text names ("2 × 3 mg + 1 × 1 mg" -> {3, 1})."""
    return {float(mg) for mg in re.findall(r"\d+ × ([\d.]+) mg", text)}


def _nearest_any_week(dose: float, strengths: tuple[float, ...]) -> float:
    """Brute force: the smallest gap to ``dose`` of any 7 days of whole tablets (no evenness asked)."""
    daily = {
        sum(c) for n in range(1, MAX_TABLETS_PER_DAY + 1) for c in itertools.combinations_with_replacement(strengths, n)
    }
    return min(abs(sum(week) - dose) for week in itertools.combinations_with_replacement(sorted(daily), 7))


@pytest.mark.parametrize("dose", [7.0, 12.2, 20.0, 31.37, 45.6, 52.5, 80.0, 95.0])
def test_a_plan_from_1_and_3_mg_uses_only_them_and_makes_the_dose_or_says_how_near(dose):
    chosen = {1.0, 3.0}
    plan = weekly_schedule(dose, strengths=[3, 1])
    used = {t for d in plan["doses"] for t in d["tablets"]}
    assert used and used <= chosen, plan
    assert _shown_strengths(plan["text"]) and _shown_strengths(plan["text"]) <= chosen, plan["text"]
    for d in plan["doses"]:
        assert sum(d["tablets"]) == pytest.approx(d["mg"]) and len(d["tablets"]) <= MAX_TABLETS_PER_DAY
        assert tablets_for(d["mg"], strengths=[1, 3]) == d["tablets"]
    assert sorted(plan["days"]) == sorted(d["mg"] for d in plan["doses"] for _ in range(d["days"]))
    assert plan["total"] == pytest.approx(sum(plan["days"])) and f"({plan['total']:g} mg/week)" in plan["text"]
    # as near the dose as any week of these tablets can be, with two neighbouring daily doses
    assert abs(plan["total"] - dose) == pytest.approx(_nearest_any_week(dose, (1.0, 3.0)))
    assert max(plan["days"]) - min(plan["days"]) <= 2
    if abs(plan["total"] - dose) < 0.05:
        assert plan["note"] is None
    else:
        assert f"the nearest week totals {plan['total']:g} mg" in plan["note"]
        assert f"{abs(plan['total'] - dose):.1f} mg/week" in plan["note"]
        assert ("more" if plan["total"] > dose else "less") + " than the dose" in plan["note"]


def test_a_dose_the_strengths_cannot_reach_gets_the_nearest_week_and_the_gap():
    plan = weekly_schedule(10.0, strengths=[5])
    assert plan["days"] == [5.0] * 7 and plan["text"] == "5 mg (1 × 5 mg) on 7 days (35 mg/week)"
    assert plan["difference"] == pytest.approx(25.0)
    assert "nearest week totals 35 mg, 25.0 mg/week (250 %) more" in plan["note"]
    assert "smaller strength" in plan["note"]
    # the old call (no strengths: the API and CLI) is unchanged
    assert "×" not in weekly_schedule(21.0)["text"] and tablets_for(3.5) == [2.5, 1.0]


@pytest.mark.parametrize(
    ("strengths", "words"), [([], "No tablet strength chosen"), ([0], "Tablet strength 0"), (["abc"], "'abc'")]
)
def test_no_or_bad_strengths_are_refused_with_what_to_do(strengths, words):
    with pytest.raises(InvalidInputError, match=words) as err:
        weekly_schedule(30.0, strengths=strengths)
    assert "for example 1, 3 and 5" in str(err.value)


def test_the_batch_template_is_read_back_as_it_is_and_dosed(tiny_dose_model):
    data = batch_template()
    frame = pd.read_csv(io.BytesIO(data))
    assert list(frame.columns) == list(TEMPLATE_COLUMNS) and len(frame) == 1
    assert list(template_key()["column"]) == list(TEMPLATE_COLUMNS)
    assert not template_key().isna().any().any()
    read = {iwpc.AGE, iwpc.HEIGHT, iwpc.WEIGHT, iwpc.GENDER, iwpc.RACE, iwpc.TARGET_INR, iwpc.CYP2C9, iwpc.VKORC1}
    assert read | {iwpc.INDICATION, *iwpc.BINARY} <= set(TEMPLATE_COLUMNS)
    (result,) = tiny_dose_model.analyse(data)  # what the page's batch tab calls with the uploaded bytes
    assert not result["out_of_domain"] and result["dose"] > 0
    assert result["notes"] == [], "every value of the example row is read (no 'missing' or 'not tested')"
    patient = {
        iwpc.AGE: "60 - 69",
        iwpc.HEIGHT: 170.0,
        iwpc.WEIGHT: 75.0,
        iwpc.GENDER: "female",
        iwpc.RACE: "White",
        iwpc.TARGET_INR: 2.5,
        iwpc.CYP2C9: "*1/*1",
        iwpc.VKORC1: "A/G",
        iwpc.INDICATION: "3",
    }
    assert result["dose"] == pytest.approx(float(tiny_dose_model.predict_dose([patient])[0]))
