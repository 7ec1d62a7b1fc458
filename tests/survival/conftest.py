"""A tiny survival bundle trained in seconds on a synthetic cohort with a known Cox model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# The synthetic truth: hazard x exp(0.06 (age - 55) + 0.2 (nodes - 4) - 1.0 hormone_therapy).
TRUE_EFFECTS = {"age": 0.06, "positive_nodes": 0.2, "hormone_therapy": -1.0}


def synthetic_cohort(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Rows with the survival-gbsg columns, exponential event times from ``TRUE_EFFECTS``, censoring at 84."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "hormone_therapy": rng.integers(0, 2, n),
            "tumor_size_cat": rng.integers(0, 3, n),
            "postmenopausal": rng.integers(0, 2, n),
            "age": rng.normal(55, 10, n).clip(25, 85).round(),
            "positive_nodes": rng.poisson(4, n).clip(1, 30),
            "progesterone_receptor": rng.lognormal(3.5, 1.5, n).clip(0, 3000).round(),
            "estrogen_receptor": rng.lognormal(3.8, 1.5, n).clip(0, 3000).round(),
        }
    )
    log_hazard = (
        TRUE_EFFECTS["age"] * (frame["age"] - 55)
        + TRUE_EFFECTS["positive_nodes"] * (frame["positive_nodes"] - 4)
        + TRUE_EFFECTS["hormone_therapy"] * frame["hormone_therapy"]
    )
    event_time = rng.exponential(60 * np.exp(-log_hazard))
    censor_time = np.minimum(rng.uniform(10, 120, n), 84.0)
    frame["duration"] = np.minimum(event_time, censor_time).round(2).clip(0.5, None)
    frame["event"] = (event_time <= censor_time).astype(int)
    return frame


@pytest.fixture(scope="session")
def cohort_csv(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("survival-data")
    path = folder / "rotterdam_gbsg_train.csv"
    synthetic_cohort().to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, cohort_csv):
    """A survival-gbsg bundle trained on the synthetic cohort: Cox, boosting and their blend, seconds."""
    from medcore.survival.train import train_survival_model

    out = tmp_path_factory.mktemp("survival-models") / "survival-gbsg"
    return train_survival_model(
        "survival-gbsg", cohort_csv, seed=0, out_dir=out, families=("cox", "gbm", "blend"), members=5
    )


@pytest.fixture(scope="session")
def tiny_model(tiny_bundle):
    from medcore.core.registry import verify_bundle
    from medcore.survival.model import load_survival_model

    return load_survival_model(tiny_bundle, verify_bundle(tiny_bundle))
