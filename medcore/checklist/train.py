"""Train the symptom-checklist bundle: a ticked-symptom naive Bayes over distinct symptom patterns.

Training.csv repeats a few distinct symptom patterns per disease (5-10 in the full file), so
rows are de-duplicated first and validation is held out by pattern (one per disease, seeded):
no pattern is on both sides. The model is used with a few ticked symptoms, so it is evaluated
that way: from each held-out pattern, seeded draws keep 2, 3 or 4 of its symptoms, and top-1/3/5
accuracy is reported beside a multinomial naive-Bayes baseline fitted on the same patterns.
The fit is closed-form (per-disease symptom frequencies); the background mix, the weight of
unticked symptoms and the temperature are chosen on an inner split of the training patterns (one
more pattern per disease held out, with its own draws), so the held-out patterns chose nothing and
their figures are honest. Nothing here looks at a test split.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from medcore.checklist.data import SymptomTable, find_symptom_data, read_knowledge, read_symptom_table
from medcore.checklist.model import MODEL_FORMAT, TRIAGE_RULES, ChecklistModel
from medcore.core.bundle import sha256_file, write_bundle
from medcore.core.calibration import apply_temperature, calibration_method, choose_calibration, fit_temperature
from medcore.core.errors import InvalidInputError
from medcore.core.metrics import brier_score, classification_summary, expected_calibration_error, reliability_curve
from medcore.core.uncertainty import (
    bootstrap_intervals,
    calibration_intervals,
    classification_scalars,
    with_intervals,
)

__all__ = [
    "KEPT",
    "hold_out_patterns",
    "partial_draws",
    "validation_draws",
    "fit_parameters",
    "top_k_accuracy",
    "baseline_proba",
    "train_checklist_model",
]

KEPT = (2, 3, 4)  # symptoms kept from each held-out pattern
DRAWS_PER_PATTERN = 20  # seeded draws per held-out pattern and number kept
ANSWER_NOISE = 0.05  # chance that a yes/no answer to a follow-up question is wrong
# Fitted temperatures are clipped to this range: with a few dozen validation patterns, and
# draws whose scores tie between diseases, the log-loss optimum can run to an extreme that
# only fits the validation draws (e.g. T -> 0.05 when every non-tied draw is right).
TEMPERATURE_RANGE = (0.5, 4.0)
INNER_SEED_OFFSET = 1000  # the inner split (choice of grid and temperature) is seeded apart from the outer one
PRESENCE_SMOOTHING = 1.0  # pseudo-patterns behind each disease's symptom-presence estimate
# Grid chosen on the inner split: (background mix of the tick profile, weight of unticked symptoms).
_NO_KNOWLEDGE: dict = {"descriptions": {}, "precautions": {}, "severity": {}}
GRID = tuple((mix, weight) for mix in (0.01, 0.05, 0.2) for weight in (0.0, 0.02, 0.05))


def hold_out_patterns(diseases: list[str], seed: int) -> np.ndarray:
    """Validation mask over distinct patterns: one pattern per disease with two or more.

    Args:
        diseases: disease of each distinct pattern (P,).
        seed: seeds ``np.random.default_rng``; diseases are visited in sorted order.

    Returns:
        bool array (P,), True for held-out patterns.
    """
    rng = np.random.default_rng(seed)
    names = np.asarray(diseases)
    mask = np.zeros(len(names), dtype=bool)
    for disease in sorted(set(diseases)):
        members = np.flatnonzero(names == disease)
        if len(members) >= 2:
            mask[members[rng.permutation(len(members))[0]]] = True
    return mask


def partial_draws(
    matrix: np.ndarray, y: np.ndarray, kept: int, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Partial symptom sets as a patient would tick them.

    Args:
        matrix: uint8 array (P, V) of held-out patterns.
        y: int array (P,) of their label indices.
        kept: symptoms kept per draw (all of them when a pattern has fewer).
        draws: draws per pattern.
        rng: the generator to draw with.

    Returns:
        ``(x, y)``: float array (P * draws, V) of 0/1 and int array (P * draws,).
    """
    rows, labels = [], []
    for pattern, label in zip(matrix, y):
        present = np.flatnonzero(pattern)
        for _ in range(draws):
            row = np.zeros(matrix.shape[1])
            row[rng.choice(present, min(kept, len(present)), replace=False)] = 1.0
            rows.append(row)
            labels.append(label)
    return np.array(rows), np.array(labels, dtype=int)


def validation_draws(
    patterns: SymptomTable, labels: list[str], seed: int
) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """The validation protocol: held-out patterns and their seeded partial-symptom draws.

    Args:
        patterns: distinct patterns (``SymptomTable.distinct()``).
        labels: the sorted disease labels.
        seed: seeds the hold-out (``seed``) and the draws (``seed + 1``).

    Returns:
        ``(y, validation, draws)``: label index per pattern (P,), the bool hold-out mask (P,),
        and kept count -> ``(x, y)`` from ``partial_draws`` for each of ``KEPT``.
    """
    y = np.array([labels.index(d) for d in patterns.diseases], dtype=int)
    validation = hold_out_patterns(patterns.diseases, seed)
    rng = np.random.default_rng(seed + 1)
    draws = {
        kept: partial_draws(patterns.matrix[validation], y[validation], kept, DRAWS_PER_PATTERN, rng) for kept in KEPT
    }
    return y, validation, draws


def fit_parameters(
    matrix: np.ndarray, y: np.ndarray, n_labels: int, background_mix: float, unticked_weight: float
) -> dict:
    """Closed-form fit of the checklist model on distinct patterns.

    ``tick_probability[d]``: the mean over disease d's patterns of each pattern's symptoms as a
    uniform distribution (a ticked symptom is a draw from the patient's symptoms), mixed with a
    background distribution (half overall symptom frequency, half uniform) so unseen
    combinations keep some probability. ``presence_probability[d, s]``: the share of d's
    patterns with symptom s, smoothed towards its overall share.

    Args:
        matrix: uint8 array (P, V) of distinct training patterns, each with at least one symptom.
        y: int array (P,) of label indices in [0, n_labels); every label needs a pattern.
        n_labels: K.
        background_mix: weight in [0, 1) of the background distribution.
        unticked_weight: weight of log P(unticked symptom absent | disease); 0 ignores them.

    Returns:
        dict of ``prior`` (K,), ``tick_probability`` (K, V) rows sum to 1,
        ``presence_probability`` (K, V) in (0, 1), ``unticked_weight``, ``background_mix``.
    """
    x = np.asarray(matrix, dtype=np.float64)
    counts = np.bincount(y, minlength=n_labels)
    if (counts == 0).any():
        raise InvalidInputError(f"No training pattern for label indices {np.flatnonzero(counts == 0).tolist()}.")
    per_pattern = x / x.sum(axis=1, keepdims=True)
    profile = np.stack([per_pattern[y == k].mean(axis=0) for k in range(n_labels)])
    background = 0.5 * x.sum(axis=0) / x.sum() + 0.5 / x.shape[1]
    tick = (1 - background_mix) * profile + background_mix * background
    share = x.mean(axis=0)
    presence = np.stack([x[y == k].sum(axis=0) for k in range(n_labels)]) + PRESENCE_SMOOTHING * share
    presence = np.clip(presence / (counts[:, None] + PRESENCE_SMOOTHING), 1e-3, 1 - 1e-3)
    return {
        "prior": np.full(n_labels, 1.0 / n_labels),
        "tick_probability": tick / tick.sum(axis=1, keepdims=True),
        "presence_probability": presence,
        "unticked_weight": float(unticked_weight),
        "background_mix": float(background_mix),
    }


def top_k_accuracy(y_true: np.ndarray, proba: np.ndarray, k: int) -> float:
    """Share of rows whose true class is among the k most probable (ties broken by index)."""
    ranked = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return float(np.mean((ranked == np.asarray(y_true)[:, None]).any(axis=1)))


def baseline_proba(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, n_labels: int) -> np.ndarray:
    """Multinomial naive Bayes (scikit-learn, alpha=1) on the same patterns: the usual recipe."""
    from sklearn.naive_bayes import MultinomialNB

    model = MultinomialNB(alpha=1.0).fit(train_x, train_y)
    proba = np.zeros((len(x), n_labels))
    proba[:, model.classes_] = model.predict_proba(x)
    return proba


def _table(y_by_kept: dict[int, np.ndarray], proba_by_kept: dict[int, np.ndarray]) -> dict[str, dict[str, float]]:
    return {
        str(kept): {f"top{k}": top_k_accuracy(y_by_kept[kept], proba_by_kept[kept], k) for k in (1, 3, 5)}
        for kept in y_by_kept
    }


def _thin(values: list, keep: np.ndarray) -> list:
    return [values[i] for i in keep]


def _thin_curves(summary: dict, max_points: int = 100) -> dict:
    """Keep at most ``max_points`` evenly spaced points (ends included) of each ROC and PR curve.

    Partial-symptom draws give thousands of distinct scores per class; the page draws the
    curves' shape, and each curve's AUC / average precision is kept exact.
    """
    for curves, keys in ((summary["roc"], ("fpr", "tpr")), (summary["pr"], ("recall", "precision"))):
        for curve in curves:
            length = len(curve[keys[0]])
            if length > max_points:
                keep = np.unique(np.linspace(0, length - 1, max_points).round().astype(int))
                for key in keys:
                    curve[key] = _thin(curve[key], keep)
    return summary


def _parameters_json(parameters: dict, labels: list[str], symptoms: list[str], temperature: float, knowledge: dict):
    return {
        "format": MODEL_FORMAT,
        "labels": labels,
        "symptoms": symptoms,
        "prior": parameters["prior"].tolist(),
        "tick_probability": parameters["tick_probability"].tolist(),
        "presence_probability": parameters["presence_probability"].tolist(),
        "unticked_weight": parameters["unticked_weight"],
        "background_mix": parameters["background_mix"],
        "temperature": float(temperature),
        "answer_noise": ANSWER_NOISE,
        "knowledge": {key: knowledge[key] for key in ("descriptions", "precautions", "severity")},
    }


def train_checklist_model(
    name: str,
    data_path: Path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    command: str = "",
) -> Path:
    """Fit, calibrate, evaluate on held-out patterns and write the symptom-checklist bundle.

    Args:
        name: the bundle's name (``symptom-checklist``).
        data_path: the data root holding ``disease_symptom/``, that folder, or a
            Training.csv-layout file (companion tables are read from its folder).
        epochs: not used (the fit is closed-form); must be None.
        seed: seeds the validation split and the partial-symptom draws.
        out_dir: bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.

    Returns:
        The bundle folder.

    Raises:
        InvalidInputError: no usable data, or ``epochs`` given.
    """
    from medcore.core.settings import models_dir

    if epochs is not None:
        raise InvalidInputError(
            f"The checklist model is fitted in closed form, so epochs do not apply; got epochs={epochs}. "
            "Leave --epochs out."
        )
    started = time.time()
    data_file = find_symptom_data(data_path)
    table: SymptomTable = read_symptom_table(data_file)
    patterns = table.distinct()
    if (patterns.matrix.sum(axis=1) == 0).any():
        raise InvalidInputError(f"'{data_file.name}' has rows with no symptom ticked; remove them.")
    labels = sorted(set(patterns.diseases))
    y, validation, draws = validation_draws(patterns, labels, seed)
    if not validation.any():
        raise InvalidInputError(f"'{data_file.name}': no disease has two distinct patterns, so none can be held out.")
    train_x, train_y = patterns.matrix[~validation], y[~validation]
    y_by_kept = {kept: draws[kept][1] for kept in KEPT}
    pooled_x = np.concatenate([draws[kept][0] for kept in KEPT])
    pooled_y = np.concatenate([draws[kept][1] for kept in KEPT])

    # Choose the background mix, unticked weight and temperature on an inner split of the training
    # patterns (log-loss after temperature scaling): the held-out patterns choose nothing.
    inner = SymptomTable(train_x, [d for d, held in zip(patterns.diseases, validation) if not held], patterns.symptoms)
    inner_y, inner_validation, inner_draws = validation_draws(inner, labels, seed + INNER_SEED_OFFSET)
    inner_x = np.concatenate([inner_draws[kept][0] for kept in KEPT])
    inner_pooled_y = np.concatenate([inner_draws[kept][1] for kept in KEPT])
    grid_results, inner_logits = [], {}
    for mix, weight in GRID:
        candidate = fit_parameters(train_x[~inner_validation], inner_y[~inner_validation], len(labels), mix, weight)
        model = ChecklistModel(
            _parameters_json(candidate, labels, patterns.symptoms, 1.0, _NO_KNOWLEDGE), {"name": name}
        )
        logits = inner_logits[mix, weight] = model.logits(inner_x)
        fitted = fit_temperature(logits, inner_pooled_y)
        temperature = float(np.clip(fitted, *TEMPERATURE_RANGE))
        proba = apply_temperature(logits, temperature)
        log_loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(inner_pooled_y)), inner_pooled_y], 1e-12, 1))))
        grid_results.append(
            {
                "background_mix": mix,
                "unticked_weight": weight,
                "temperature": temperature,
                "temperature_fitted": fitted,
                "log_loss": log_loss,
                "top1_3_kept": top_k_accuracy(
                    inner_draws[3][1], apply_temperature(model.logits(inner_draws[3][0]), 1.0), 1
                ),
            }
        )
    best = min(grid_results, key=lambda row: (round(row["log_loss"], 6), row["unticked_weight"], row["background_mix"]))
    # The grid's temperature (fitted on the inner draws) is kept only if it helps out of fold there.
    choice = choose_calibration(
        inner_logits[best["background_mix"], best["unticked_weight"]], inner_pooled_y, seed=seed
    )
    parameters = fit_parameters(train_x, train_y, len(labels), best["background_mix"], best["unticked_weight"])
    uncalibrated = ChecklistModel(
        _parameters_json(parameters, labels, patterns.symptoms, 1.0, _NO_KNOWLEDGE), {"name": name}
    )
    logits = uncalibrated.logits(pooled_x)
    temperature = best["temperature"] if choice["chosen"] == "temperature" else 1.0
    raw, calibrated = apply_temperature(logits, 1.0), apply_temperature(logits, temperature)
    by_kept = {kept: apply_temperature(uncalibrated.logits(draws[kept][0]), temperature) for kept in KEPT}
    baseline = {kept: baseline_proba(train_x, train_y, draws[kept][0], len(labels)) for kept in KEPT}
    summary = _thin_curves(classification_summary(pooled_y, calibrated, labels))
    headline = classification_summary(y_by_kept[3], by_kept[3], labels)
    top_k = _table(y_by_kept, by_kept)
    baseline_top_k = _table(y_by_kept, baseline)
    # 95 % intervals resample held-out patterns (a pattern's draws are not independent).
    n_patterns = len(y_by_kept[3]) // DRAWS_PER_PATTERN
    pattern_of_draw = np.repeat(np.arange(n_patterns), DRAWS_PER_PATTERN)
    pooled_patterns = np.tile(pattern_of_draw, len(KEPT))  # the pooled draws, kept count after kept count
    y3, p3 = y_by_kept[3], by_kept[3]
    intervals = bootstrap_intervals(
        lambda rows: {
            **classification_scalars(y3[rows], p3[rows]),
            "top3": top_k_accuracy(y3[rows], p3[rows], 3),
            "top5": top_k_accuracy(y3[rows], p3[rows], 5),
        },
        len(y3),
        groups=pattern_of_draw,
        seed=seed,
    )
    # Macro-F1 over 41 classes with one held-out pattern each: resampling patterns drops a third of the
    # classes and biases it, so its draws are resampled within each pattern instead (every class stays).
    intervals["macro_f1"] = bootstrap_intervals(
        lambda rows: {"macro_f1": classification_scalars(y3[rows], p3[rows])["macro_f1"]},
        len(y3),
        strata=pattern_of_draw,
        seed=seed,
    )["macro_f1"]

    knowledge = read_knowledge(data_file.parent, labels, patterns.symptoms)
    model_json = _parameters_json(parameters, labels, patterns.symptoms, temperature, knowledge)
    n_validation = int(validation.sum())
    protocol = (
        f"{n_validation} held-out distinct symptom patterns (one per disease, seed {seed}); from each, "
        f"{DRAWS_PER_PATTERN} seeded draws keep 2, 3 or 4 of its symptoms (all of them when it has fewer)"
    )
    card = {
        "name": name,
        "version": "1.1.0",
        "kind": "checklist",
        "task": f"Ticked symptoms -> differential diagnosis over {len(labels)} diseases",
        "description": "Naive Bayes over ticked symptoms (a ticked symptom is a draw from the disease's symptom "
        f"profile; unticked symptoms count as unknown) that ranks {len(labels)} diseases, explains each symptom's "
        "contribution and suggests the follow-up questions that would narrow the differential most.",
        "intended_use": "Teaching and decision-support prototype: a clinician ticks a patient's symptoms and "
        "reviews a ranked differential, the symptoms behind it and suggested follow-up questions.",
        "out_of_scope_use": "Diagnosis or triage without a clinician; patients entering symptoms alone; diseases "
        f"outside the {len(labels)} listed; any population or prevalence setting (the data treat them all as "
        "equally common).",
        "labels": labels,
        "input": {
            "shape": ["N", "list of symptom names"],
            "dtype": "str",
            "value_range": f"{len(patterns.symptoms)} symptom names (model.symptoms); at least one per patient",
            "channels": "n/a",
            "accepts": "list of lists of symptom names; case, spaces and repeated underscores are normalised",
        },
        "symptoms": patterns.symptoms,
        "preprocessing": {
            "steps": "names lower-cased, stripped, whitespace -> '_', runs of '_' collapsed; duplicates dropped; "
            "unknown names refused with close matches suggested",
            "merged_columns": "the two 'fluid_overload' columns of Training.csv are merged (logical OR)",
        },
        "architecture": "P(disease | ticked S) ∝ prior x prod over S of tick_probability[disease, s] x "
        "prod over unticked s of (1 - presence_probability[disease, s])^unticked_weight, then temperature; "
        "answers of 'no' multiply by P(no | disease). Plain JSON parameters (model.json).",
        "operating_point": {
            "rule": "ranked differential of the calibrated probabilities (no threshold); the top 3-5 are shown",
        },
        "calibration": {
            "method": calibration_method(choice, "inner-split draw (2, 3 and 4 kept symptoms pooled)")
            + f"; a kept temperature is clipped to [{TEMPERATURE_RANGE[0]}, {TEMPERATURE_RANGE[1]}]",
            "chosen": choice["chosen"],
            "choice": choice,
            "temperature": temperature,
            "temperature_fitted": best["temperature_fitted"],
            "validation_before": with_intervals(
                {"ece": expected_calibration_error(pooled_y, raw), "brier": brier_score(pooled_y, raw)},
                calibration_intervals(pooled_y, raw, groups=pooled_patterns, seed=seed),
            ),
            "validation_after": with_intervals(
                {"ece": summary["ece"], "brier": summary["brier"]},
                calibration_intervals(pooled_y, calibrated, groups=pooled_patterns, seed=seed),
            ),
            "note": "answers of 'no' to follow-up questions are not calibrated (no data with such answers)",
        },
        "training": {
            "dataset": "Disease Prediction Using Machine Learning (Kaggle, kaushil268) Training.csv, with the "
            "description, precaution and severity tables of Disease Symptom Prediction (Kaggle, itachi9604)",
            "data_file": data_file.name,
            "data_sha256": sha256_file(data_file),
            "split": f"{len(table.diseases)} rows -> {len(patterns.diseases)} distinct (symptoms, disease) patterns; "
            f"{int((~validation).sum())} patterns for fitting, {n_validation} held out by pattern (one per disease "
            f"with two or more, seed {seed}) for the metrics only. The grid, the temperature and whether to keep it "
            f"were chosen on an inner split of the fitting patterns ({int(inner_validation.sum())} more held out, "
            f"seed {seed + INNER_SEED_OFFSET}); the final fit uses all {int((~validation).sum())}. No test split used.",
            "seed": seed,
            "fit": "closed form (per-disease symptom frequencies over distinct patterns); no epochs",
            "refit_on_all_patterns": False,
            "grid": grid_results,
            "chosen": {"background_mix": best["background_mix"], "unticked_weight": best["unticked_weight"]},
            "answer_noise": ANSWER_NOISE,
            "knowledge_tables": "symptom_Description.csv, symptom_precaution.csv, Symptom-severity.csv "
            "(stored in model.json)",
            "knowledge_notes": knowledge["notes"],
            "triage_rule": {level: {"max_weight_at_least": m, "sum_at_least": s} for level, m, s in TRIAGE_RULES},
            "wall_time_s": time.time() - started,
            "command": command,
        },
        "metrics": {
            "validation": {
                "split": "val",
                "protocol": protocol,
                "n": headline["n"],
                "n_patterns": n_validation,
                **with_intervals(
                    {
                        "accuracy": top_k["3"]["top1"],
                        "top3": top_k["3"]["top3"],
                        "top5": top_k["3"]["top5"],
                        "auc": headline["auc"],
                        "macro_f1": headline["macro_f1"],
                        "ece": headline["ece"],
                        "brier": headline["brier"],
                    },
                    intervals,
                ),
                "intervals": f"95 % bootstrap over the {n_patterns} held-out patterns (their draws resampled "
                "together); macro-F1's resamples draws within each pattern (every disease has one pattern, so "
                "resampling patterns would drop classes), so its interval leaves out the spread between patterns",
                "headline": "top-1 accuracy with 3 kept symptoms",
                "top_k": top_k,
                "baseline_naive_bayes": {
                    "method": "scikit-learn MultinomialNB(alpha=1) on the same patterns",
                    "top_k": baseline_top_k,
                },
            },
        },
        "limitations": [
            f"The data set is small and highly regular: {len(labels)} diseases, each with a handful of symptom "
            f"patterns ({len(patterns.diseases)} distinct patterns in the training file, repeated to "
            f"{len(table.diseases)} rows). Real patients' symptoms are far more varied.",
            "All diseases are equally common in the data, so the prior is uniform: rare and common diseases "
            "get the same prior weight, unlike any real clinic.",
            f"Validation rests on {n_validation} held-out patterns; one pattern moves a top-1 figure by about "
            f"{100 / max(n_validation, 1):.1f} points. The grid choice and temperature were fitted on the same validation draws.",
            "Even a model that knew every pattern cannot separate diseases that share the kept symptoms: with 2 "
            "symptoms the differential is often genuinely ambiguous, so read the top 3-5, not the top 1.",
            "Severity weights, descriptions and precautions are the data set's own text, not clinical guidance.",
        ],
        "ethical_considerations": [
            "Decision support, not a diagnosis: a clinician reviews every result.",
            "The data carry no age, sex or population information; performance across groups is unknown.",
            "The triage output is a hint from severity weights, not a triage decision; emergencies need urgent care.",
        ],
        "data_licence": "Not stated by the Kaggle sources or their GitHub copies (kaushil268; itachi9604); "
        "treat as unknown until confirmed.",
    }
    evaluation = {
        "split": "val",
        "protocol": protocol + " (2, 3 and 4 kept pooled below)",
        **summary,
        "top_k": top_k,
        "baseline_top_k": baseline_top_k,
        "by_kept": {
            str(kept): {
                "n": int(len(y_by_kept[kept])),
                "accuracy": top_k[str(kept)]["top1"],
                "ece": expected_calibration_error(y_by_kept[kept], by_kept[kept]),
            }
            for kept in KEPT
        },
        "reliability_before": reliability_curve(pooled_y, raw),
        "ece_before": expected_calibration_error(pooled_y, raw),
        "history": [],
    }

    out_dir = Path(out_dir) if out_dir else models_dir() / name
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.json"
        model_file.write_text(json.dumps(model_json) + "\n", encoding="utf-8")
        return write_bundle(out_dir, card, evaluation, {"model.json": model_file})
