"""The Cox + boosting blend's weight is cross-fitted: each fold is mixed by a weight the other folds chose."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from medcore.survival.families import BLEND_WEIGHTS, breslow
from medcore.survival.metrics import harrell_c
from medcore.survival.train import _best_weight, _blend_out_of_fold


def _noise(seed: int, n: int = 200):
    rng = np.random.default_rng(seed)
    time, event = rng.exponential(10, n), rng.random(n) < 0.6
    folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(n), event))
    log_hazard = {"cox": rng.normal(size=n), "gbm": rng.normal(size=n)}
    fits = [{family: rng.normal(size=len(fit)) for family in log_hazard} for fit, _ in folds]
    return time, event, folds, log_hazard, fits


def test_each_fold_is_mixed_with_the_weight_the_other_folds_choose():
    """Fold k's rows: mixed by the other folds' weight, their curves on the Breslow baseline of fold
    k's own fits mixed the same way (never of the held-out rows); the shipped weight is all rows'."""
    differing = 0
    for seed in range(4):
        time, event, folds, log_hazard, fits = _noise(seed)
        grid = np.linspace(0, time.max(), 20)
        mixed, curves, blend = _blend_out_of_fold(folds, fits, log_hazard, time, event, grid)
        cox, gbm = log_hazard["cox"], log_hazard["gbm"]
        for k, ((fit, held), w) in enumerate(zip(folds, blend["fold_weights"])):
            others = np.setdiff1d(np.arange(len(time)), held)
            assert w == _best_weight(time[others], event[others], cox[others], gbm[others])
            np.testing.assert_allclose(mixed[held], w * cox[held] + (1 - w) * gbm[held])
            baseline = breslow(w * fits[k]["cox"] + (1 - w) * fits[k]["gbm"], time[fit], event[fit], grid)
            expected = np.exp(-baseline[None, :] * np.exp(mixed[held])[:, None])
            np.testing.assert_allclose(curves[held], expected, rtol=1e-9)
        assert blend["weight"] == _best_weight(time, event, cox, gbm)
        differing += blend["weight"] != blend["fold_weights"][-1]
    assert differing  # some draw tells the shipped weight from a fold's


def test_on_noise_the_same_rows_flatter_the_blend_and_the_cross_fitted_weight_does_not():
    same_rows, cross_fitted = [], []
    for seed in range(30):
        time, event, folds, log_hazard, fits = _noise(seed, n=100)
        cox, gbm = log_hazard["cox"], log_hazard["gbm"]
        same_rows.append(max(harrell_c(time, event, w * cox + (1 - w) * gbm) for w in BLEND_WEIGHTS))
        mixed, _, _ = _blend_out_of_fold(folds, fits, log_hazard, time, event, np.linspace(0, 1, 3))
        cross_fitted.append(harrell_c(time, event, mixed))
    # The best of eleven weights looks like signal on pure noise (0.530); weights chosen on the other
    # folds do not (0.495). Mixing every fold with the all-rows weight would make the two equal.
    assert np.mean(same_rows) > 0.52 and np.mean(cross_fitted) < 0.51
    assert np.mean(same_rows) - np.mean(cross_fitted) > 0.025
