"""Survival metrics against cases with known answers."""

from __future__ import annotations

import numpy as np

from medcore.survival.metrics import (
    calibration_gap,
    calibration_table,
    harrell_c,
    integrated_brier,
    kaplan_meier,
    km_at,
    td_auc,
)


def _exponential(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    risk = rng.normal(0, 1, n)
    event_time = rng.exponential(10 * np.exp(-risk))
    censor = rng.uniform(0, 30, n)
    return risk, np.minimum(event_time, censor), event_time <= censor


def test_harrell_c_is_one_for_a_perfect_ranking_zero_reversed_and_half_for_ties():
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([True, True, True, False])
    assert harrell_c(time, event, -time) == 1.0
    assert harrell_c(time, event, time) == 0.0
    assert harrell_c(time, event, np.zeros(4)) == 0.5


def test_kaplan_meier_matches_a_hand_computation():
    curve = kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0, 5.0]), np.array([1, 1, 0, 1, 0], bool))
    # S(1) = 4/5, S(2) = 4/5 * 3/4, S(3) = that * 1/2
    assert km_at(curve, 1.5)[0] == 0.8
    np.testing.assert_allclose(km_at(curve, 2.0)[0], 0.6)
    np.testing.assert_allclose(km_at(curve, 4.0)[0], 0.3)
    low, high = km_at(curve, 2.0)[1:]
    assert low < 0.6 < high


def test_the_true_model_beats_a_constant_one_on_every_score():
    risk, time, event = _exponential()
    grid = np.linspace(0, 30, 301)
    truth = np.exp(-(grid[None, :] / (10 * np.exp(-risk))[:, None]))
    km = kaplan_meier(time, event)
    constant = np.tile([km_at(km, t)[0] for t in grid], (len(time), 1))
    assert integrated_brier(time, event, grid, truth) < integrated_brier(time, event, grid, constant) - 0.02
    auc = td_auc(time, event, risk, [5.0, 10.0])
    assert auc[5.0] > 0.7 and auc[10.0] > 0.7
    assert abs(calibration_gap(time, event, truth[:, 100], 10.0)) < 0.03
    shifted = np.clip(truth[:, 100] + 0.2, 0, 1)  # the same ranking, too optimistic
    assert calibration_gap(time, event, shifted, 10.0) > 0.15
    assert calibration_gap(time, event, truth[:, 100], 40.0) != calibration_gap(time, event, truth[:, 100], 40.0)  # NaN
    deciles = calibration_table(time, event, truth[:, 100], 10.0)
    assert len(deciles) == 10 and sum(row["n"] for row in deciles) == len(time)
    assert sum(row["observed_low"] <= row["predicted"] <= row["observed_high"] for row in deciles) >= 8
    assert all(row["observed_low"] <= row["observed"] <= row["observed_high"] for row in deciles)
