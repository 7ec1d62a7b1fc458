"""Synthetic IWPC-style patients (doses from the published pharmacogenetic formula with noise) and a
warfarin-dose bundle trained on them in seconds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medcore.dosing import data as iwpc
from medcore.dosing.data import factors
from medcore.dosing.iwpc import PHARMACOGENETIC, iwpc_dose


def synthetic_patients(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Patients with IWPC column names; the dose follows the IWPC pharmacogenetic algorithm with noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            iwpc.AGE: rng.choice(iwpc.AGE_BINS[2:8], n),
            iwpc.HEIGHT: np.round(rng.normal(168, 10, n).clip(140, 200), 1),
            iwpc.WEIGHT: np.round(rng.normal(78, 15, n).clip(40, 150), 1),
            iwpc.GENDER: rng.choice(["male", "female"], n),
            iwpc.RACE: rng.choice(iwpc.RACES, n, p=[0.55, 0.28, 0.09, 0.08]),
            iwpc.CYP2C9: rng.choice(["*1/*1", "*1/*2", "*1/*3", "*2/*3", "*3/*3"], n, p=[0.7, 0.13, 0.1, 0.04, 0.03]),
            iwpc.VKORC1: rng.choice(["G/G", "A/G", "A/A"], n),
            iwpc.AMIODARONE: rng.choice([0, 1], n, p=[0.9, 0.1]),
            iwpc.INDUCERS[0]: rng.choice([0, 1], n, p=[0.95, 0.05]),
            iwpc.INDICATION: rng.choice(["1", "3", "4", "3; 8"], n),
        }
    )
    frame.loc[::15, iwpc.HEIGHT] = np.nan  # some unknown heights, as in the data
    medians = {"age_decades": 6.0, "height_cm": 168.0, "weight_kg": 78.0, "target_inr": 2.5}
    dose = iwpc_dose(factors(iwpc.read_frame(frame), medians), PHARMACOGENETIC) * np.exp(rng.normal(0, 0.12, n))
    frame[iwpc.DOSE] = np.round(dose, 2)
    return frame


@pytest.fixture(scope="session")
def tiny_dose_bundle(tmp_path_factory):
    from medcore.dosing.train import train_dose_model

    folder = tmp_path_factory.mktemp("dosing-data") / "pharmacogenomics"
    folder.mkdir()
    synthetic_patients().to_csv(folder / "warfarin_train.csv", index=False)
    out = tmp_path_factory.mktemp("dosing-model") / "warfarin-dose"
    return train_dose_model("warfarin-dose", folder.parent, epochs=30, seed=0, out_dir=out)


@pytest.fixture(scope="session")
def tiny_dose_model(tiny_dose_bundle):
    from medcore.core.registry import verify_bundle
    from medcore.dosing.model import load_dose_model

    return load_dose_model(tiny_dose_bundle, verify_bundle(tiny_dose_bundle))
