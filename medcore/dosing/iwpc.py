"""The published IWPC dosing algorithms (NEJM 2009, appendix S1e/S1f) and the fixed 35 mg/week dose.

Both predict sqrt(weekly dose, mg) linearly from the patient factors of ``data.factors``; the dose
is the square. Reference levels: VKORC1 G/G, CYP2C9 *1/*1, White race.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PHARMACOGENETIC", "CLINICAL", "FIXED_DOSE", "iwpc_dose", "baseline_doses"]

PHARMACOGENETIC = {
    "intercept": 5.6044,
    "age_decades": -0.2614,
    "height_cm": 0.0087,
    "weight_kg": 0.0128,
    "vkorc1_AG": -0.8677,
    "vkorc1_AA": -1.6974,
    "vkorc1_unknown": -0.4854,
    "cyp2c9_12": -0.5211,
    "cyp2c9_13": -0.9357,
    "cyp2c9_22": -1.0616,
    "cyp2c9_23": -1.9206,
    "cyp2c9_33": -2.3312,
    "cyp2c9_unknown": -0.2188,
    "asian": -0.1092,
    "black": -0.2760,
    "race_unknown": -0.1032,
    "enzyme_inducer": 1.1816,
    "amiodarone": -0.5503,
}
CLINICAL = {
    "intercept": 4.0376,
    "age_decades": -0.2546,
    "height_cm": 0.0118,
    "weight_kg": 0.0134,
    "asian": -0.6752,
    "black": 0.4060,
    "race_unknown": 0.0443,
    "enzyme_inducer": 1.2799,
    "amiodarone": -0.5695,
}
FIXED_DOSE = 35.0  # mg/week (5 mg/day)


def iwpc_dose(factors: pd.DataFrame, coefficients: dict[str, float]) -> np.ndarray:
    """Weekly dose (mg) of an IWPC algorithm: (intercept + sum of coefficient x factor) squared."""
    root = np.full(len(factors), coefficients["intercept"])
    for name, beta in coefficients.items():
        if name != "intercept":
            root = root + beta * factors[name].to_numpy(dtype=float)
    return np.maximum(root, 0.0) ** 2


def baseline_doses(factors: pd.DataFrame) -> dict[str, np.ndarray]:
    """The IWPC pharmacogenetic and clinical doses and the fixed dose for each patient."""
    return {
        "IWPC pharmacogenetic": iwpc_dose(factors, PHARMACOGENETIC),
        "IWPC clinical": iwpc_dose(factors, CLINICAL),
        "fixed 35 mg/week": np.full(len(factors), FIXED_DOSE),
    }
