"""The IWPC algorithms on hand-computed patients, VKORC1 imputation, refusals that name the field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medcore.core.errors import InvalidInputError
from medcore.dosing import data as iwpc
from medcore.dosing.data import factors, impute_vkorc1, read_frame
from medcore.dosing.iwpc import baseline_doses

MEDIANS = {"age_decades": 6.0, "height_cm": 168.0, "weight_kg": 75.0, "target_inr": 2.5}


def _doses(patient: dict) -> dict[str, float]:
    return {k: float(v[0]) for k, v in baseline_doses(factors(read_frame([patient]), MEDIANS)).items()}


def test_the_pharmacogenetic_algorithm_on_a_hand_computed_patient():
    patient = {
        iwpc.AGE: "60 - 69",
        iwpc.HEIGHT: 170,
        iwpc.WEIGHT: 80,
        iwpc.RACE: "White",
        iwpc.CYP2C9: "*1/*3",
        iwpc.VKORC1: "A/A",
        iwpc.AMIODARONE: 1,
    }
    # 5.6044 - 0.2614*6 + 0.0087*170 + 0.0128*80 - 1.6974 (A/A) - 0.9357 (*1/*3) - 0.5503 (amiodarone) = 3.3556
    assert _doses(patient)["IWPC pharmacogenetic"] == pytest.approx(3.3556**2, abs=1e-3)  # 11.26 mg/week
    # clinical: 4.0376 - 0.2546*6 + 0.0118*170 + 0.0134*80 - 0.5695 = 5.0185
    assert _doses(patient)["IWPC clinical"] == pytest.approx(5.0185**2, abs=1e-3)
    assert _doses(patient)["fixed 35 mg/week"] == 35.0


def test_the_clinical_algorithm_for_an_asian_patient_on_an_enzyme_inducer_with_unknown_genotypes():
    patient = {iwpc.AGE: "40 - 49", iwpc.HEIGHT: 160, iwpc.WEIGHT: 55, iwpc.RACE: "Asian", iwpc.INDUCERS[1]: 1}
    # age in decades is the first digit: 4 for 40-49
    # clinical: 4.0376 - 0.2546*4 + 0.0118*160 + 0.0134*55 - 0.6752 + 1.2799 = 6.2489
    assert _doses(patient)["IWPC clinical"] == pytest.approx(6.2489**2, abs=1e-3)
    # pharmacogenetic, VKORC1 and CYP2C9 unknown:
    # 5.6044 - 0.2614*4 + 0.0087*160 + 0.0128*55 - 0.4854 - 0.2188 - 0.1092 + 1.1816 = 7.0230
    assert _doses(patient)["IWPC pharmacogenetic"] == pytest.approx(7.0230**2, abs=1e-3)


def test_a_missing_vkorc1_is_imputed_by_the_iwpc_rules_depending_on_race():
    frame = pd.DataFrame(
        {
            iwpc.RACE: ["White", "Black or African American", "Black or African American", "Asian", "White"],
            iwpc.VKORC1: [np.nan, np.nan, np.nan, np.nan, "G/G"],
            "VKORC1 2255 consensus": ["T/T", "T/T", np.nan, np.nan, "T/T"],
            "VKORC1 1173 consensus": [np.nan, np.nan, "C/T", np.nan, np.nan],
            "VKORC1 1542 consensus": [np.nan, np.nan, np.nan, "C/G", np.nan],
        }
    )
    out = impute_vkorc1(frame)
    assert out[0] == "A/A" and pd.isna(out[1]) and out[2] == "A/G" and out[3] == "A/G" and out[4] == "G/G"


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        (iwpc.AGE, "300", "Age"),
        (iwpc.WEIGHT, 0, "Weight"),
        (iwpc.HEIGHT, "tall", "Height"),
        (iwpc.CYP2C9, "*9/*9", "CYP2C9"),
        (iwpc.VKORC1, "T/T", "VKORC1"),
        (iwpc.AMIODARONE, 2, "Amiodarone"),
        (iwpc.GENDER, "x", "Gender"),
    ],
)
def test_implausible_values_are_refused_naming_the_field(column, value, why):
    with pytest.raises(InvalidInputError, match=f"column '{why}.*row 1"):
        read_frame([{iwpc.AGE: "50 - 59", column: value}])


def test_tables_without_iwpc_columns_or_rows_are_refused():
    with pytest.raises(InvalidInputError, match="none of the IWPC columns"):
        read_frame(b"a,b\n1,2\n", "x.csv")
    with pytest.raises(InvalidInputError, match="no patients"):
        read_frame(pd.DataFrame(columns=[iwpc.AGE]))
    with pytest.raises(InvalidInputError, match="Expected a CSV"):
        read_frame(42)


def test_not_tested_means_the_same_in_a_csv_as_in_the_form():
    """Issue 28 item 3 (new-user check): the form offers 'not tested' but a CSV with those words was refused."""
    from medcore.dosing.data import read_frame

    words = read_frame(b"Age,CYP2C9 consensus,VKORC1 -1639 consensus\n60 - 69,Not tested,not tested\n", "w.csv")
    empty = read_frame(b"Age,CYP2C9 consensus,VKORC1 -1639 consensus\n60 - 69,,\n", "e.csv")
    assert words.isna().equals(empty.isna())
    with pytest.raises(InvalidInputError, match="CYP2C9 consensus"):
        read_frame(b"Age,CYP2C9 consensus\n60 - 69,untested\n", "u.csv")  # other words stay refused, named
