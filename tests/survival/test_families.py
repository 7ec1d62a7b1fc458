"""The model families: Breslow baseline, the exported trees and the DeepSurv loss, against references."""

from __future__ import annotations

import numpy as np
import pytest

from medcore.survival.data import COHORTS, design_matrix, read_labelled
from medcore.survival.families import breslow, fit_family
from medcore.survival.metrics import harrell_c
from tests.survival.conftest import synthetic_cohort


@pytest.fixture(scope="module")
def design():
    frame, time, event = read_labelled(synthetic_cohort(400, seed=1), COHORTS["survival-gbsg"])
    x = design_matrix(frame, COHORTS["survival-gbsg"].covariates).astype(np.float64)
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32), time, event


def test_breslow_matches_scikit_survival_cumulative_baseline_hazard(design):
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    x, time, event = design
    cox = CoxPHSurvivalAnalysis(ties="breslow").fit(x.astype(np.float64), Surv.from_arrays(event, time))
    grid = np.linspace(time[event].min(), time.max(), 50)  # scikit-survival's function starts at the first event
    ours = breslow(x.astype(np.float64) @ cox.coef_, time, event, grid)
    reference = cox.cum_baseline_hazard_(grid)
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-9)
    assert breslow(x[:, 0].astype(np.float64), time, event, np.array([0.0]))[0] == 0 and np.all(np.diff(ours) >= 0)


def test_breslow_is_invariant_to_shifting_the_log_hazard(design):
    x, time, event = design
    grid = np.linspace(0, time.max(), 20)
    f = x[:, 3].astype(np.float64)
    np.testing.assert_allclose(breslow(f + 30.0, time, event, grid) * np.exp(30.0), breslow(f, time, event, grid))


def test_exported_trees_reproduce_scikit_survival_and_find_the_truth(design):
    x, time, event = design
    risk, samples = fit_family("gbm", x, time, event, members=2, seed=0)
    assert len(samples) == 2 and np.array_equal(samples[0], np.arange(len(time)))
    values = risk.log_hazards(x)
    assert values.shape == (len(time), 2)
    assert harrell_c(time, event, values[:, 0]) > 0.7  # the synthetic truth is learnable


def test_cox_recovers_the_synthetic_coefficients_sign(design):
    x, time, event = design
    risk, _ = fit_family("cox", x, time, event)
    columns = ["hormone_therapy", "tumor_size_cat", "postmenopausal", "age", "positive_nodes"]
    beta = dict(zip(columns, risk.beta[0]))
    assert beta["age"] > 0.2 and beta["positive_nodes"] > 0.1 and beta["hormone_therapy"] < -0.2
    assert abs(beta["postmenopausal"]) < 0.15  # no true effect


@pytest.mark.slow
def test_the_deepsurv_network_learns_the_ranking(design):
    x, time, event = design
    risk, _ = fit_family("neural", x, time, event, members=1, seed=0, epochs=150)
    assert harrell_c(time, event, risk.log_hazards(x)[:, 0]) > 0.7


def test_the_blend_mixes_its_cox_and_boosted_members_and_survives_a_save(design, tmp_path):
    from medcore.survival.families import load_risk

    x, time, event = design
    blend, samples = fit_family("blend", x, time, event, members=2, seed=0, blend_weight=0.3)
    cox, cox_samples = fit_family("cox", x, time, event, members=2, seed=0)
    gbm, _ = fit_family("gbm", x, time, event, members=2, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(samples, cox_samples))  # member m of both parts: one resample
    expected = 0.3 * cox.log_hazards(x) + 0.7 * gbm.log_hazards(x)
    np.testing.assert_allclose(blend.log_hazards(x), expected, atol=1e-9)
    np.testing.assert_allclose(blend.log_hazards(x, first_only=True), expected[:, :1], atol=1e-9)
    blend.save(tmp_path)
    loaded = load_risk("blend", tmp_path)
    assert loaded.weight == 0.3
    np.testing.assert_allclose(loaded.log_hazards(x), expected, atol=1e-9)


def test_each_family_is_named_in_words():
    from medcore.survival.families import family_label

    assert family_label({"family": "gbm"}) == "gradient-boosted Cox trees"
    assert family_label({"family": "neural"}) == "DeepSurv network"
    blend = {"family": "blend", "settings": {"weight_on_cox": 0.3}}
    assert family_label(blend) == "0.3 x Cox regression + 0.7 x gradient-boosted Cox trees (on the log-hazard)"
