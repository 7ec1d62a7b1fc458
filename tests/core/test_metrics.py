"""Metrics and calibration against independent scikit-learn computations on tiny data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, confusion_matrix, f1_score, roc_auc_score

from medcore.core.calibration import apply_temperature, fit_temperature
from medcore.core.metrics import (
    auc_ovr,
    binary_operating_point,
    brier_score,
    classification_summary,
    expected_calibration_error,
    softmax,
    youden_threshold,
)


@pytest.fixture
def three_class(rng):
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[y]
    return y, softmax(logits)


def test_softmax_rows_sum_to_one(rng):
    proba = softmax(rng.normal(size=(10, 4)) * 50)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_auc_matches_sklearn_binary_and_multiclass(rng, three_class):
    y = rng.integers(0, 2, 200)
    score = rng.random(200) + 0.3 * y
    proba = np.stack([1 - score / score.max(), score / score.max()], axis=1)
    assert auc_ovr(y, proba) == pytest.approx(roc_auc_score(y, proba[:, 1]))
    y3, p3 = three_class
    assert auc_ovr(y3, p3) == pytest.approx(roc_auc_score(y3, p3, multi_class="ovr", average="macro"))


def test_summary_matches_sklearn(three_class):
    y, proba = three_class
    summary = classification_summary(y, proba, ["a", "b", "c"])
    assert summary["confusion_matrix"] == confusion_matrix(y, proba.argmax(1)).tolist()
    assert summary["macro_f1"] == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
    assert summary["accuracy"] == pytest.approx(np.mean(proba.argmax(1) == y))
    assert len(summary["roc"]) == 3 and summary["n"] == 300


def test_brier_matches_sklearn_for_binary(rng):
    y = rng.integers(0, 2, 100)
    p = rng.random(100)
    proba = np.stack([1 - p, p], axis=1)
    # the multi-class Brier sums over both columns: twice sklearn's binary score
    assert brier_score(y, proba) == pytest.approx(2 * brier_score_loss(y, p))


def test_ece_is_zero_for_perfectly_calibrated_bins():
    proba = np.array([[0.25, 0.75]] * 4 + [[0.5, 0.5]] * 2)
    y = np.array([1, 1, 1, 0, 0, 1])
    assert expected_calibration_error(y, proba) == pytest.approx(0.0)


def test_operating_point_counts():
    y = np.array([1, 1, 0, 0, 1])
    score = np.array([0.9, 0.4, 0.6, 0.1, 0.8])
    point = binary_operating_point(y, score, 0.5)
    assert point["sensitivity"] == pytest.approx(2 / 3) and point["specificity"] == pytest.approx(1 / 2)


def test_youden_threshold_separates_separable_data():
    y = np.array([0, 0, 0, 1, 1, 1])
    score = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    threshold = youden_threshold(y, score)
    assert 0.3 < threshold <= 0.7


def test_temperature_recovers_the_true_temperature(rng):
    true_logits = rng.normal(size=(4000, 3)) * 2
    y = np.array([rng.choice(3, p=row) for row in softmax(true_logits)])
    fitted = fit_temperature(true_logits * 3.0, y)  # over-confident by a factor of 3
    assert fitted == pytest.approx(3.0, rel=0.15)
    calibrated = apply_temperature(true_logits * 3.0, fitted)
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, softmax(true_logits * 3.0))


def test_macro_f1_ignores_classes_absent_from_labels_and_predictions(three_class):
    """A file holding two of a model's five classes is scored as scikit-learn scores it."""
    y, proba = three_class
    padded = np.hstack([proba, np.zeros((len(y), 2))])  # two classes nobody has or is predicted
    summary = classification_summary(y, padded, ["a", "b", "c", "d", "e"])
    assert summary["macro_f1"] == pytest.approx(f1_score(y, padded.argmax(1), average="macro"))


def test_binary_curves_are_drawn_for_the_named_positive_class(rng):
    y = rng.integers(0, 2, 120)
    score = np.clip(rng.random(120) * 0.7 + 0.3 * (y == 0), 0, 1)  # class 0 is the one the score finds
    proba = np.stack([score, 1 - score], axis=1)
    default = classification_summary(y, proba, ["malignant", "benign"])
    chosen = classification_summary(y, proba, ["malignant", "benign"], positive=0)
    assert default["roc"][0]["label"] == "benign" and chosen["roc"][0]["label"] == "malignant"
    assert chosen["roc"][0]["auc"] == pytest.approx(roc_auc_score(y == 0, proba[:, 0]))
    assert chosen["pr"][0]["average_precision"] != pytest.approx(default["pr"][0]["average_precision"])


# -- 95 % intervals -----------------------------------------------------------------------------------
def test_bootstrap_interval_covers_the_truth_and_narrows_with_n():
    from medcore.core.uncertainty import bootstrap_intervals

    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1600):
        flags = rng.random(n) < 0.7  # a rate of 0.7
        low, high = bootstrap_intervals(lambda rows, flags=flags: {"rate": flags[rows].mean()}, n, seed=1)["rate"]
        assert low < 0.7 < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3  # about 1/sqrt(16) as wide with 16 times the rows


def test_grouped_bootstrap_is_wider_than_pretending_rows_are_independent():
    """Twenty draws of one pattern are one observation, not twenty: resampling groups says so."""
    from medcore.core.uncertainty import bootstrap_intervals

    rng = np.random.default_rng(0)
    group_value = rng.random(30) < 0.5
    values = np.repeat(group_value, 20).astype(float)  # 30 groups, 20 identical rows each
    groups = np.repeat(np.arange(30), 20)

    def rate(rows):
        return {"rate": values[rows].mean()}

    rows_low, rows_high = bootstrap_intervals(rate, len(values), seed=2)["rate"]
    group_low, group_high = bootstrap_intervals(rate, len(values), groups=groups, seed=2)["rate"]
    assert (group_high - group_low) > 3 * (rows_high - rows_low)


def test_intervals_are_seeded_and_written_beside_each_figure():
    from medcore.core.uncertainty import classification_intervals, with_intervals

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    proba = softmax(rng.normal(size=(200, 2)) + 1.5 * np.eye(2)[y])
    first = classification_intervals(y, proba, positive=1, threshold=0.3, seed=4)
    assert first == classification_intervals(y, proba, positive=1, threshold=0.3, seed=4)
    assert {"accuracy", "auc", "macro_f1", "ece", "brier", "sensitivity", "specificity", "decision_accuracy"} <= set(
        first
    )
    merged = with_intervals({"n": 200, "auc": 0.8}, {"auc": first["auc"]})
    assert list(merged) == ["n", "auc", "auc_ci95"] and len(merged["auc_ci95"]) == 2
    with pytest.raises(KeyError, match="no figures of those names"):
        with_intervals({"auc": 0.8}, {"accuracy": [0.1, 0.2]})


def test_calibration_is_kept_only_where_it_helps_out_of_fold():
    from medcore.core.calibration import calibration_method, choose_calibration

    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 600)
    honest = rng.normal(size=(600, 3)) + 1.5 * np.eye(3)[y]
    # Labels drawn from the softmax of the logits themselves: already calibrated, T = 1 is right.
    y_honest = np.array([rng.choice(3, p=row) for row in softmax(honest)])
    kept = choose_calibration(honest, y_honest, seed=0)
    assert kept["chosen"] == "none" and kept["temperature"] == 1.0
    # Five times over-confident: temperature scaling must be chosen, near T = 5.
    scaled = choose_calibration(5 * honest, y_honest, seed=0)
    assert scaled["chosen"] == "temperature" and 3.5 < scaled["temperature"] < 7.0
    cv = scaled["cross_validated"]
    assert cv["temperature"]["brier"] < cv["none"]["brier"] and cv["temperature"]["ece"] < cv["none"]["ece"]
    assert "temperature scaling: chosen by 5-fold" in calibration_method(scaled, "val")
    assert calibration_method(kept, "val").startswith("none (temperature scaling did not help)")


def _balanced_training_logits(rng, n=1500):
    """Logits of a two-class model trained with balanced class weights on a 20 % minority: its
    log-odds are right up to a prior shift of log(4) towards the minority and a 1.5x over-confidence."""
    y_true_logit = rng.normal(size=n) * 2.0 - 1.6  # the true log-odds of class 0, about 20 % prevalence
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-y_true_logit)), 0, 1)
    shown = 1.5 * (y_true_logit + np.log(4.0))  # shifted towards the minority, then over-confident
    return np.stack([shown / 2, -shown / 2], axis=1), y


def test_class_wise_calibration_undoes_a_balanced_training_prior_shift_out_of_fold(rng):
    """Issue 30 (calibration): temperature alone cannot move the prior that class-balanced training
    shifted; class-wise scaling (beta calibration for two classes) can. It must win out of fold, undo
    the shift and keep the ranking, and ``calibrate`` must apply exactly what was fitted."""
    from medcore.core.calibration import calibrate, calibration_method, choose_calibration, cross_fitted_calibration
    from medcore.core.metrics import auc_ovr

    logits, y = _balanced_training_logits(rng)
    choice = choose_calibration(logits, y, seed=0, class_wise=True)
    cv = choice["cross_validated"]
    assert choice["chosen"] == "class-wise"
    assert cv["class-wise"]["brier"] < min(cv["none"]["brier"], cv["temperature"]["brier"])
    assert cv["class-wise"]["brier"] < 0.9 * cv["temperature"]["brier"]
    prevalence = np.mean(y == 0)
    # Out of fold, the temperature leaves the prior shifted; class-wise scaling puts it back.
    assert cross_fitted_calibration(logits, y, "temperature", seed=0)[:, 0].mean() > prevalence + 0.1
    assert cross_fitted_calibration(logits, y, "class-wise", seed=0)[:, 0].mean() == pytest.approx(prevalence, abs=0.02)
    proba = calibrate(logits, choice)
    assert proba[:, 0].mean() == pytest.approx(prevalence, abs=0.01)
    assert softmax(logits)[:, 0].mean() > prevalence + 0.1  # it was shifted
    assert auc_ovr(y, proba) == pytest.approx(auc_ovr(y, softmax(logits)), abs=1e-9)  # ranking kept
    assert choice["temperature"] == 1.0 and len(choice["scale"]) == len(choice["bias"]) == 2
    assert calibration_method(choice, "out-of-fold").startswith("class-wise scaling")
    # Without the opt-in it is never tried (a model that cannot apply it never gets it).
    plain = choose_calibration(logits, y, seed=0)
    assert set(plain["cross_validated"]) == {"none", "temperature"} and plain["scale"] is None


def test_class_wise_calibration_is_not_kept_on_calibrated_scores_and_cross_fits_honestly(rng):
    from medcore.core.calibration import choose_calibration, cross_fitted_calibration, fit_class_wise

    y = rng.integers(0, 3, 900)
    logits = rng.normal(size=(900, 3)) + 1.5 * np.eye(3)[y]
    y = np.array([rng.choice(3, p=row) for row in softmax(logits)])  # calibrated by construction
    choice = choose_calibration(logits, y, seed=0, class_wise=True)
    assert choice["chosen"] != "class-wise" and choice["scale"] is None
    # It did score the lowest Brier here, by noise: the one-standard-error rule is what refused it.
    cv, gain = choice["cross_validated"], choice["class_wise_gain"]
    assert cv["class-wise"]["brier"] < cv[choice["chosen"]]["brier"] and 0 < gain["brier"] < gain["se"]
    # On noise, a fit on the same rows flatters; the cross-fitted one does not.
    noise, labels = rng.normal(size=(120, 3)), rng.integers(0, 3, 120)
    scale, bias = fit_class_wise(noise, labels)
    from medcore.core.calibration import apply_class_wise
    from medcore.core.metrics import brier_score

    same_rows = brier_score(labels, apply_class_wise(noise, scale, bias))
    crossed = brier_score(labels, cross_fitted_calibration(noise, labels, "class-wise", seed=0))
    assert same_rows < crossed


def test_the_decision_matrix_agrees_with_sensitivity_and_specificity_at_the_threshold(rng):
    from medcore.core.metrics import decision_confusion

    y = rng.integers(0, 2, 300)
    proba = softmax(rng.normal(size=(300, 2)) + 1.2 * np.eye(2)[y])
    point = binary_operating_point(y == 0, proba[:, 0], 0.3)  # positive class 0, a low threshold
    matrix = np.array(decision_confusion(y, proba, 0, 0.3))
    assert matrix.sum() == 300
    assert matrix[0, 0] / matrix[0].sum() == pytest.approx(point["sensitivity"])
    assert matrix[1, 1] / matrix[1].sum() == pytest.approx(point["specificity"])
    assert matrix.tolist() != confusion_matrix(y, proba.argmax(1)).tolist()  # not the argmax's matrix


def test_stratified_bootstrap_keeps_every_stratum_in_every_resample():
    from medcore.core.uncertainty import bootstrap_intervals

    strata = np.repeat(np.arange(5), 4)
    seen = []
    bootstrap_intervals(
        lambda rows: seen.append(set(strata[rows])) or {"n": len(rows)}, 20, strata=strata, resamples=50
    )
    assert all(classes == set(range(5)) for classes in seen)
    with pytest.raises(ValueError, match="groups or strata"):
        bootstrap_intervals(lambda rows: {}, 20, groups=strata, strata=strata)


def test_ece_is_reported_bias_corrected_with_an_interval_that_holds_it(rng):
    """Issue 29 item 12: the plug-in ECE of well-calibrated predictions lies below nearly every
    resample, so a percentile interval excludes it. The bias-corrected point and its basic interval
    must hold each other, and sit below the plug-in value."""
    from medcore.core.metrics import expected_calibration_error
    from medcore.core.uncertainty import DebiasedInterval, calibration_intervals, with_intervals

    excluded = 0
    for seed in range(6):
        generator = np.random.default_rng(seed)
        p = generator.uniform(0.5, 1.0, 400)
        y = (generator.random(400) >= p).astype(int)  # class 0 is right with probability p: calibrated
        proba = np.stack([p, 1 - p], axis=1)
        plugin = expected_calibration_error(y, proba)
        interval = calibration_intervals(y, proba, seed=seed)["ece"]
        assert isinstance(interval, DebiasedInterval) and interval.plugin == pytest.approx(plugin)
        figures = with_intervals({"ece": plugin}, {"ece": interval})
        low, high = figures["ece_ci95"]
        assert low <= figures["ece"] <= high
        assert figures["ece"] < plugin  # the correction removes the upward bias of the plug-in value
        assert "plug-in" in figures["ece_method"]
        # The percentile interval of the same resamples is the one that failed (issue 29 item 12).
        excluded += not (2 * plugin - high <= plugin <= 2 * plugin - low)
    assert excluded > 0  # the case the fix is for occurs in this design
    with pytest.raises(ValueError, match="same rows"):
        with_intervals({"ece": plugin + 0.05}, {"ece": interval})


def test_every_shipped_card_holds_its_ece_inside_the_interval():
    """No card exempted: each ECE figure with an interval lies within it (issue 29 item 12)."""
    import json
    from pathlib import Path

    def figures(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("ece") and f"{key}_ci95" in node and node[f"{key}_ci95"][0] is not None:
                    yield key, value, node[f"{key}_ci95"]
                yield from figures(value)

    checked = 0
    for card in sorted(Path(__file__).resolve().parents[2].joinpath("models").glob("*/card.json")):
        for key, value, (low, high) in figures(json.loads(card.read_text())):
            assert low <= value <= high, f"{card.parent.name}: {key} {value} outside [{low}, {high}]"
            checked += 1
    assert checked >= 10


def test_a_cross_fitted_threshold_is_never_chosen_on_its_own_row_or_patient(rng):
    """Issue 29 item 9: with a stand-in 'choose' returning the mean score of the rows it sees, each row's
    threshold must be the mean of exactly the rows outside its fold; a patient's rows share a fold."""
    from medcore.core.metrics import cross_fitted_thresholds

    def mean_of_seen(y, score):
        return score.mean()

    y = np.array([True, False] * 20)
    score = rng.random(40)
    thresholds = cross_fitted_thresholds(y, score, mean_of_seen, folds=5, seed=0)
    assert len(np.unique(thresholds)) == 5  # one choice per fold
    for row in range(40):
        assert thresholds[row] == pytest.approx(score[thresholds != thresholds[row]].mean())
    patients = np.repeat(np.arange(10), 4)
    grouped = cross_fitted_thresholds(y, score, mean_of_seen, patients, folds=5, seed=0)
    for patient in range(10):
        assert len(np.unique(grouped[patients == patient])) == 1
    # Too few positives for two folds: the all-rows choice for everyone, not an error.
    single = cross_fitted_thresholds(np.arange(10) == 3, score[:10], mean_of_seen)
    assert np.allclose(single, score[:10].mean())


def test_cross_fitted_decisions_are_honest_where_same_row_ones_flatter():
    """A threshold chosen on pure noise looks better than chance on its own rows; cross-fitted it does not."""
    from medcore.core.metrics import cross_fitted_thresholds

    same_rows, honest = [], []
    for draw in range(20):
        noise = np.random.default_rng(draw)
        y, score = noise.random(60) < 0.5, noise.random(60)
        same_rows.append(binary_operating_point(y, score, youden_threshold(y, score))["balanced_accuracy"])
        decided = score >= cross_fitted_thresholds(y, score, youden_threshold, seed=draw)
        honest.append(binary_operating_point(y, decided, 0.5)["balanced_accuracy"])
    assert np.mean(same_rows) > 0.56 and abs(np.mean(honest) - 0.5) < 0.04
