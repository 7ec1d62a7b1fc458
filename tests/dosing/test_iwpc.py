"""The IWPC equations as published (NEJM 2009; 360:753-64, appendix), checked term by term through the
columns a clinician fills in: each factor changed alone must move sqrt(dose) by its published
coefficient (issue 29 item 6: every coefficient, so a flipped sign fails)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from medcore.dosing import data as iwpc
from medcore.dosing.data import factors, read_frame
from medcore.dosing.iwpc import baseline_doses

# Transcribed from the appendix (its words, its signs), not from medcore's table.
PUBLISHED = {
    "IWPC pharmacogenetic": """
        5.6044 - 0.2614 x age in decades + 0.0087 x height in cm + 0.0128 x weight in kg
        - 0.8677 x VKORC1 A/G - 1.6974 x VKORC1 A/A - 0.4854 x VKORC1 genotype unknown
        - 0.5211 x CYP2C9 *1/*2 - 0.9357 x CYP2C9 *1/*3 - 1.0616 x CYP2C9 *2/*2 - 1.9206 x CYP2C9 *2/*3
        - 2.3312 x CYP2C9 *3/*3 - 0.2188 x CYP2C9 genotype unknown - 0.1092 x Asian race
        - 0.2760 x Black or African American - 0.1032 x missing or mixed race
        + 1.1816 x enzyme inducer status - 0.5503 x amiodarone status""",
    "IWPC clinical": """
        4.0376 - 0.2546 x age in decades + 0.0118 x height in cm + 0.0134 x weight in kg
        - 0.6752 x Asian race + 0.4060 x Black or African American + 0.0443 x missing or mixed race
        + 1.2799 x enzyme inducer status - 0.5695 x amiodarone status""",
}
REFERENCE = {  # the equation's reference levels, every column filled
    iwpc.AGE: "60 - 69",
    iwpc.HEIGHT: 170,
    iwpc.WEIGHT: 80,
    iwpc.RACE: "White",
    iwpc.VKORC1: "G/G",
    iwpc.CYP2C9: "*1/*1",
    iwpc.AMIODARONE: 0,
    **{column: 0 for column in iwpc.INDUCERS},
}
# Each published term -> the change to the reference patient that switches it on (or adds one unit).
CHANGE = {
    "age in decades": {iwpc.AGE: "70 - 79"},
    "height in cm": {iwpc.HEIGHT: 171},
    "weight in kg": {iwpc.WEIGHT: 81},
    "VKORC1 A/G": {iwpc.VKORC1: "A/G"},
    "VKORC1 A/A": {iwpc.VKORC1: "A/A"},
    "VKORC1 genotype unknown": {iwpc.VKORC1: None},
    "CYP2C9 *1/*2": {iwpc.CYP2C9: "*1/*2"},
    "CYP2C9 *1/*3": {iwpc.CYP2C9: "*1/*3"},
    "CYP2C9 *2/*2": {iwpc.CYP2C9: "*2/*2"},
    "CYP2C9 *2/*3": {iwpc.CYP2C9: "*2/*3"},
    "CYP2C9 *3/*3": {iwpc.CYP2C9: "*3/*3"},
    "CYP2C9 genotype unknown": {iwpc.CYP2C9: None},
    "Asian race": {iwpc.RACE: "Asian"},
    "Black or African American": {iwpc.RACE: "Black or African American"},
    "missing or mixed race": {iwpc.RACE: "Unknown"},
    "enzyme inducer status": {iwpc.INDUCERS[0]: 1},
    "amiodarone status": {iwpc.AMIODARONE: 1},
}


def _terms(equation: str) -> tuple[float, dict[str, float]]:
    text = " ".join(equation.split())
    intercept = float(text.split()[0])
    terms = {
        name: float(sign + value)
        for sign, value, name in re.findall(r"([+-]) (\d+\.\d+) x ([^+-]+?)(?= [+-] |$)", text)
    }
    return intercept, terms


def _root(rows: list[dict], algorithm: str) -> np.ndarray:
    frame = read_frame(pd.DataFrame(rows))
    medians = {"age_decades": 6.0, "height_cm": 170.0, "weight_kg": 80.0, "target_inr": 2.5}  # unused by IWPC
    return np.sqrt(baseline_doses(factors(frame, medians))[algorithm])


@pytest.mark.parametrize("algorithm", sorted(PUBLISHED))
def test_every_published_coefficient_moves_the_dose_by_its_own_amount(algorithm):
    intercept, terms = _terms(PUBLISHED[algorithm])
    assert len(terms) == {"IWPC pharmacogenetic": 17, "IWPC clinical": 8}[algorithm]  # the parse read every term
    names = list(terms)
    roots = _root([REFERENCE] + [{**REFERENCE, **CHANGE[name]} for name in names], algorithm)
    reference = intercept + terms["age in decades"] * 6 + terms["height in cm"] * 170 + terms["weight in kg"] * 80
    assert roots[0] == pytest.approx(reference, abs=1e-9)
    for name, root in zip(names, roots[1:]):
        assert root - roots[0] == pytest.approx(terms[name], abs=1e-9), name
