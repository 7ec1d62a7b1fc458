"""Train a survival model: choose the family by cross-validation, refit, bootstrap the band, write the bundle.

1. Read the cohort's training CSV (the DeepSurv train part; the test part is withheld).
2. Five-fold cross-validation stratified by event: every family (Cox, gradient boosting, DeepSurv)
   is fitted on four folds (standardisation and domain check too) and predicts the fifth. The
   pooled out-of-fold predictions give each family's C-index, time-dependent AUC, integrated
   Brier score and calibration at 1/3/5 years, with 95 % bootstrap intervals.
   The blend of Cox and boosting (``w * cox + (1 - w) * gbm``) reuses those fits: each fold is
   mixed by the weight that C on the other folds' out-of-fold rows chooses (cross-fitted, though
   not nested: those rows were predicted by models that had seen the fold); the shipped weight is
   the one all out-of-fold rows choose.
3. The family with the highest cross-validated C-index (its figures are those that chose it, so
   optimistic by the choice among the candidates) is refitted on every training row
   (member 0, the prediction) and on bootstrap resamples (the band).
4. The bundle records every candidate's figures, calibration tables, Kaplan-Meier curves of
   the cohort by out-of-fold risk tertile, subgroups and the domain check's measured refusal rates.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time as clock
from pathlib import Path

import numpy as np
import pandas as pd

from medcore.core.bundle import framework_versions, sha256_file, write_bundle
from medcore.core.errors import InvalidInputError
from medcore.core.settings import models_dir
from medcore.core.tables import find_data_file
from medcore.core.uncertainty import bootstrap_intervals, with_intervals
from medcore.survival.data import Cohort, cohort_of, design_columns, design_matrix, read_labelled
from medcore.survival.families import BLEND_WEIGHTS, FAMILIES, SETTINGS, breslow, fit_family
from medcore.survival.metrics import (
    SURVIVAL_RESAMPLES,
    calibration_table,
    harrell_c,
    horizon_label,
    kaplan_meier,
    survival_at,
    survival_intervals,
    survival_scalars,
)

__all__ = ["FOLDS", "BAND_MEMBERS", "DOMAIN_QUANTILE", "train_survival_model"]

FOLDS = 5
BAND_MEMBERS = {"cox": 20, "gbm": 20, "neural": 10, "blend": 20}  # member 0 + bootstrap refits
DOMAIN_QUANTILE = 0.995  # rows further out than 99.5 % of the training rows are refused
GRID_POINTS = 200


def _time_grid(time: np.ndarray, horizons: tuple[float, ...]) -> np.ndarray:
    grid = np.linspace(0.0, float(time.max()), GRID_POINTS)
    return np.unique(np.concatenate([grid, [h for h in horizons if h <= time.max()]]))


def _standardiser(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = design.mean(axis=0)
    scale = design.std(axis=0)
    return mean, np.where(scale > 1e-8, scale, 1.0)


def _domain(standardised: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre, precision (ridge-regularised) and threshold of the Mahalanobis domain check."""
    center = standardised.mean(axis=0)
    covariance = np.cov(standardised, rowvar=False) + 1e-3 * np.eye(standardised.shape[1])
    precision = np.linalg.inv(covariance)
    distance = _distance(standardised, center, precision)
    return center, precision, float(np.quantile(distance, DOMAIN_QUANTILE))


def _distance(standardised, center, precision) -> np.ndarray:
    centred = standardised - center
    return np.sqrt(np.einsum("ij,jk,ik->i", centred, precision, centred))


def _outside(frame: pd.DataFrame, reference: pd.DataFrame, cohort: Cohort) -> np.ndarray:
    """Rows of ``frame`` with a covariate outside ``reference``'s range or a code it never had."""
    outside = np.zeros(len(frame), dtype=bool)
    for covariate in cohort.covariates:
        values, seen = frame[covariate.name].to_numpy(), reference[covariate.name].to_numpy()
        outside |= (values < seen.min()) | (values > seen.max())
        if covariate.type == "categorical":
            outside |= ~np.isin(values, np.unique(seen))
    return outside


def _fold_predictions(cohort, covariates, design, time, event, grid, families, epochs, seed, progress):
    """Out-of-fold log-hazards and curves of every family, plus out-of-fold domain refusals.

    Returns ``(log_hazard, curves, refused, blend)``: ``blend`` is None, or the shipped weight on
    Cox and each fold's (see ``_blend_out_of_fold``) when ``"blend"`` is among ``families``.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(design, event))
    fitted = [f for f in families if f != "blend"]
    log_hazard = {family: np.zeros(len(time)) for family in fitted}
    curves = {family: np.zeros((len(time), len(grid))) for family in fitted}
    fit_log_hazards = [{} for _ in folds]  # each fold's in-sample log-hazards (the blend's baselines)
    refused = np.zeros(len(time), dtype=bool)
    for k, (fit_rows, held_out) in enumerate(folds):
        mean, scale = _standardiser(design[fit_rows])
        fit_x = ((design[fit_rows] - mean) / scale).astype(np.float32)
        held_x = ((design[held_out] - mean) / scale).astype(np.float32)
        center, precision, threshold = _domain(fit_x.astype(np.float64))
        refused[held_out] = (_distance(held_x.astype(np.float64), center, precision) > threshold) | _outside(
            covariates.iloc[held_out], covariates.iloc[fit_rows], cohort
        )
        for family in fitted:
            risk, _ = fit_family(family, fit_x, time[fit_rows], event[fit_rows], 1, seed + k, epochs)
            fit_log_hazards[k][family] = risk.log_hazards(fit_x)[:, 0]
            baseline = breslow(fit_log_hazards[k][family], time[fit_rows], event[fit_rows], grid)
            held = risk.log_hazards(held_x)[:, 0]
            log_hazard[family][held_out] = held
            curves[family][held_out] = _curves(baseline, held)
            progress.update(1)
    blend = None
    if "blend" in families:
        log_hazard["blend"], curves["blend"], blend = _blend_out_of_fold(
            folds, fit_log_hazards, log_hazard, time, event, grid
        )
    return log_hazard, curves, refused, blend


def _curves(baseline: np.ndarray, log_hazard: np.ndarray) -> np.ndarray:
    return np.exp(-baseline[None, :] * np.exp(np.clip(log_hazard, -50, 50))[:, None])


def _best_weight(time, event, cox, gbm) -> float:
    """The weight on Cox in ``BLEND_WEIGHTS`` with the highest Harrell's C (the first of equals)."""
    scores = [harrell_c(time, event, w * cox + (1 - w) * gbm) for w in BLEND_WEIGHTS]
    return BLEND_WEIGHTS[int(np.argmax(scores))]


def _blend_out_of_fold(folds, fit_log_hazards, log_hazard, time, event, grid):
    """The blend's out-of-fold log-hazards and curves, cross-fitted.

    Fold k's rows are mixed with the weight that the other folds' out-of-fold rows choose (fold k's
    labels do not choose it, though its rows trained the models that predicted those rows), its
    curves on the Breslow baseline of fold k's fits mixed the same way. Returns them with ``{"weight": the weight every out-of-fold row chooses
    (shipped), "fold_weights": [...]}``.
    """
    cox, gbm = log_hazard["cox"], log_hazard["gbm"]
    mixed, curves, weights = np.zeros(len(time)), np.zeros((len(time), len(grid))), []
    for k, (fit_rows, held_out) in enumerate(folds):
        others = np.setdiff1d(np.arange(len(time)), held_out)
        w = _best_weight(time[others], event[others], cox[others], gbm[others])
        fit_mixed = w * fit_log_hazards[k]["cox"] + (1 - w) * fit_log_hazards[k]["gbm"]
        mixed[held_out] = w * cox[held_out] + (1 - w) * gbm[held_out]
        curves[held_out] = _curves(breslow(fit_mixed, time[fit_rows], event[fit_rows], grid), mixed[held_out])
        weights.append(w)
    return mixed, curves, {"weight": _best_weight(time, event, cox, gbm), "fold_weights": weights}


def _figures(time, event, risk, grid, curves, cohort, seed) -> dict:
    scalars = survival_scalars(time, event, risk, grid, curves, cohort.horizons, cohort.time_unit)
    intervals = survival_intervals(time, event, risk, grid, curves, cohort.horizons, cohort.time_unit, seed=seed)
    return {"n": int(len(time)), "n_events": int(event.sum()), **with_intervals(scalars, intervals)}


def _risk_groups(time, event, risk) -> dict:
    """Kaplan-Meier curves of the cohort by out-of-fold risk tertile (what the page highlights)."""
    cuts = np.quantile(risk, [1 / 3, 2 / 3])
    group = np.digitize(risk, cuts)
    out = {}
    for index, name in enumerate(("low", "intermediate", "high")):
        rows = group == index
        curve = kaplan_meier(time[rows], event[rows])
        step = max(1, len(curve["time"]) // 300)  # keep the stored curve small
        out[name] = {
            "n": int(rows.sum()),
            "events": int(event[rows].sum()),
            **{key: np.round(values[::step], 5).tolist() for key, values in curve.items()},
        }
    return out


def _subgroups(frame, time, event, risk, seed) -> dict:
    """C-index with its interval by age band (and sex where recorded)."""
    groups: dict[str, dict] = {"age": {}}
    age = frame["age"].to_numpy()
    bands = {"<50": age < 50, "50-69": (age >= 50) & (age < 70), "≥70": age >= 70}
    if "sex_female" in frame:
        groups["sex"] = {}
        sex = frame["sex_female"].to_numpy()
        bands_sex = {"female": sex == 1, "male": sex == 0}
    else:
        bands_sex = {}
    for attribute, table in (("age", bands), ("sex", bands_sex)):
        for name, rows in table.items():
            rows = np.flatnonzero(rows)
            if len(rows) < 30 or event[rows].sum() < 10:
                groups[attribute][name] = {"n": int(len(rows)), "note": "too few patients or events to measure"}
                continue
            value, interval = _c_with_interval(time[rows], event[rows], risk[rows], seed)
            groups[attribute][name] = {"n": int(len(rows)), **with_intervals({"c_index": value}, interval)}
    return groups


def _c_with_interval(time, event, risk, seed: int) -> tuple[float, dict]:
    """Harrell's C and its bootstrap interval (stratified by event)."""
    interval = bootstrap_intervals(
        lambda s: {"c_index": harrell_c(time[s], event[s], risk[s])},
        len(time),
        resamples=SURVIVAL_RESAMPLES,
        seed=seed,
        strata=event.astype(int),
    )
    return harrell_c(time, event, risk), interval


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column permuted on its own: plausible values in implausible combinations (domain negatives)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({column: rng.permutation(frame[column].to_numpy()) for column in frame.columns})


def _share_interval(flags: np.ndarray, seed: int) -> list[float]:
    return bootstrap_intervals(lambda s: {"share": flags[s].mean()}, len(flags), seed=seed)["share"]


def train_survival_model(
    name: str,
    data_path: Path | str,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | str | None = None,
    command: str = "",
    families: tuple[str, ...] = FAMILIES,
    members: int | None = None,
) -> Path:
    """Train and write the survival bundle ``name`` (see the module docstring for the protocol).

    Args:
        name: ``survival-gbsg``, ``survival-metabric`` or ``survival-support``.
        data_path: the shared data folder, its ``survival/`` folder, or the cohort CSV.
        epochs: the neural family's maximum epochs (default from ``SETTINGS``).
        seed: seeds the folds, the bootstrap and every fit.
        out_dir: the bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.
        families: the candidate families (tests pass fewer).
        members: the chosen family's fits (1 + bootstrap refits for the band); default ``BAND_MEMBERS``.

    Returns:
        The bundle folder.
    """
    from tqdm import tqdm

    started = clock.time()
    cohort = cohort_of(name)
    file = find_data_file(cohort.file, data_path)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise InvalidInputError(f"Unknown survival families {unknown}; choose from {', '.join(FAMILIES)}.")
    if "blend" in families and not {"cox", "gbm"} <= set(families):
        raise InvalidInputError("The blend mixes the cox and gbm candidates: list both beside it.")
    frame, time, event = read_labelled(file, cohort, file.name)
    design = design_matrix(frame, cohort.covariates).astype(np.float64)
    grid = _time_grid(time, cohort.horizons)
    fitted = [f for f in families if f != "blend"]
    progress = tqdm(total=FOLDS * len(fitted) + 1, desc=f"{name}: cross-validation", file=sys.stderr)
    log_hazard, curves, refused, blend = _fold_predictions(
        cohort, frame, design, time, event, grid, families, epochs, seed, progress
    )
    candidates = {f: _figures(time, event, log_hazard[f], grid, curves[f], cohort, seed) for f in families}
    chosen = max(families, key=lambda f: candidates[f]["c_index"])
    members = members or BAND_MEMBERS[chosen]
    progress.set_description(f"{name}: refitting {chosen} with {members - 1} bootstrap refits")
    mean, scale = _standardiser(design)
    standardised = ((design - mean) / scale).astype(np.float32)
    weight = blend["weight"] if blend else 0.5
    risk, samples = fit_family(chosen, standardised, time, event, members, seed, epochs, blend_weight=weight)
    all_log_hazards = risk.log_hazards(standardised)
    baseline = np.stack([breslow(all_log_hazards[s, m], time[s], event[s], grid) for m, s in enumerate(samples)])
    center, precision, threshold = _domain(standardised.astype(np.float64))
    progress.update(1)
    progress.close()

    shuffled = _shuffled(frame, seed)
    shuffled_x = ((design_matrix(shuffled, cohort.covariates) - mean) / scale).astype(np.float64)
    caught = _distance(shuffled_x, center, precision) > threshold
    reference_row = {}
    for covariate in cohort.covariates:
        values = frame[covariate.name]
        if covariate.type in ("binary", "categorical"):
            reference_row[covariate.name] = float(values.mode().iloc[0])
        elif covariate.type == "integer":
            reference_row[covariate.name] = float(np.round(values.median()))
        else:
            reference_row[covariate.name] = float(values.median())
    staging = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    files = risk.save(staging)
    np.savez(
        staging / "survival.npz",
        grid=grid,
        baseline=baseline,
        mean=mean,
        scale=scale,
        # Out-of-fold risks: what a patient the model has not seen gets, so a new patient's percentile
        # and group are on the same footing as the Kaplan-Meier groups (in-sample risks are overfit).
        reference_risk=np.sort(log_hazard[chosen]),
        domain_center=center,
        domain_precision=precision,
    )
    files["survival.npz"] = staging / "survival.npz"
    chosen_risk = log_hazard[chosen]
    horizons = [h for h in cohort.horizons if h <= time.max()]
    validation = candidates[chosen]
    split = (
        f"{FOLDS}-fold cross-validation stratified by event on the {len(time):,} training patients (seed {seed}); "
        "pooled out-of-fold predictions. The DeepSurv test part is withheld for the final evaluation."
    )
    genuine_interval = _share_interval(refused.astype(float), seed)
    caught_interval = _share_interval(caught.astype(float), seed)
    card = {
        "name": name,
        "version": "1.0.0",
        "kind": "survival",
        "task": f"{cohort.title}: risk and survival curve from {len(cohort.covariates)} covariates",
        "description": f"Predicts how likely a patient is to stay free of {cohort.event} over time "
        f"({cohort.time_unit}), with a 95 % band, the patient's risk percentile in the training cohort, "
        f"each covariate's contribution and treatment what-ifs. Model: {_family_text(chosen, blend)} (chosen "
        f"among {', '.join(families)} by cross-validated Harrell's C).",
        "intended_use": "Decision support for clinicians discussing prognosis with patients like those of the "
        f"training cohort ({cohort.dataset}); to compare risk between patients and see which recorded factors "
        "drive it.",
        "out_of_scope_use": "Deciding treatment on its own; patients unlike the training cohort (the domain "
        "check refuses many of them); causal claims about treatments (the data are observational); individual "
        "prognosis without a clinician's review.",
        "labels": [f"time to {cohort.event}"],
        "input": {
            "type": "table of covariates, one row per patient (CSV columns or a dict per patient)",
            "covariates": [c.as_dict() for c in cohort.covariates],
            "time_unit": cohort.time_unit,
            "horizons": list(cohort.horizons),
            "event": cohort.event,
            "reference_row": reference_row,
        },
        "preprocessing": {
            "encoding": "log1p for skewed lab values, one-hot for nominal codes, then standardised with the "
            "training mean and standard deviation",
            "design_columns": design_columns(cohort.covariates),
        },
        "architecture": {
            "family": chosen,
            "form": "Cox: S(t|x) = exp(-H0(t) exp(f(x))), H0 the Breslow estimate on the training rows",
            "settings": _settings(chosen, blend),
            "band": f"2.5th-97.5th percentile of {members - 1} bootstrap refits of the same family, widened "
            "to include the prediction where every refit lies on one side of it",
            "candidates": list(families),
        },
        "operating_point": {
            "risk_groups": "tertiles of the training cohort's risk: low < 33.3rd percentile <= intermediate "
            "< 66.7th <= high",
            "horizons": {horizon_label(h, cohort.time_unit): h for h in cohort.horizons},
        },
        "calibration": {
            "method": "none beyond the Breslow baseline; calibration at 1/3/5 years is measured out of fold "
            "(predicted survival against Kaplan-Meier by decile in evaluation.json; calibration_gap in the metrics)",
        },
        "domain_check": {
            "method": "each covariate inside the range seen in training (categorical codes seen in training), and "
            f"a Mahalanobis distance on the standardised covariates below the {DOMAIN_QUANTILE:.1%} quantile "
            "of the training rows",
            "threshold": threshold,
            "training_range": {
                c.name: [float(frame[c.name].min()), float(frame[c.name].max())] for c in cohort.covariates
            },
            "seen_codes": {
                c.name: sorted(float(v) for v in frame[c.name].unique())
                for c in cohort.covariates
                if c.type == "categorical"
            },
            "validation": {
                "genuine_rejected": float(refused.mean()),
                "genuine_rejected_ci95": genuine_interval,
                "n_genuine": int(len(refused)),
                "negatives_caught": float(caught.mean()),
                "negatives_caught_ci95": caught_interval,
                "n_negatives": int(len(caught)),
                "negatives": "training rows with every column permuted on its own (plausible values, "
                "implausible combinations); genuine = out-of-fold training rows with the check fitted on the "
                "other folds",
            },
        },
        "training": {
            "dataset": cohort.dataset,
            "data_file": cohort.file,
            "data_sha256": sha256_file(file),
            "split": split,
            "chosen_on": "cross-validated Harrell's C on the training file only (the family with the highest; "
            "the figures reported are the ones that chose it, so optimistic by the choice among the candidates)"
            + (
                "; the blend's weight on Cox is chosen the same way (0.0-1.0 in steps of 0.1), and its figures "
                "mix each fold with the weight the other folds' out-of-fold rows chose (not nested: those rows "
                "were predicted by models that had seen the fold)"
                if blend
                else ""
            ),
            "seed": seed,
            "epochs": epochs or SETTINGS["neural"]["max_epochs"],
            "patients": int(len(time)),
            "events": int(event.sum()),
            "wall_time_s": round(clock.time() - started, 1),
            "command": command,
        },
        "metrics": {
            "validation": {
                "split": f"{FOLDS}-fold CV (out of fold)",
                **validation,
                "subgroups": _subgroups(frame, time, event, chosen_risk, seed),
                "baselines": {f"{f} (candidate)": candidates[f] for f in families if f != chosen},
            }
        },
        "metric_implementations": {
            "c_index": "Harrell's C, scikit-survival concordance_index_censored (risk ties count 1/2)",
            "auc@h": "cumulative/dynamic AUC with IPCW (scikit-survival cumulative_dynamic_auc)",
            "integrated_brier": "IPCW Brier score averaged between the 10th and 90th percentile of observed times",
            "calibration_gap@h": "calibration-in-the-large: mean predicted survival at h minus the Kaplan-Meier "
            "survival at h (positive: too optimistic)",
            "intervals": f"percentile bootstrap over patients stratified by event, {SURVIVAL_RESAMPLES} resamples",
        },
        "anchors": {
            "published test C (DeepSurv paper, on the withheld test part)": cohort.published_c,
            "note": "those are test-set figures; ours here are cross-validated on the train part",
        },
        "framework_versions": {**framework_versions(), **_extra_versions()},
        "limitations": [
            f"Trained on {len(time):,} patients of one cohort ({cohort.dataset}); other populations, eras and "
            "treatments may differ.",
            "Proportional hazards: the shape of the curve over time is the cohort's; covariates only scale it.",
            "Calibrated survival probabilities transfer less well than the ranking of patients: check "
            "calibration_gap and the decile table before quoting a probability.",
            "What-ifs are associations in observational data, not treatment effects.",
            f"The domain check refuses values outside the training range and rare combinations, but only "
            f"{caught.mean():.0%} of rows whose columns were shuffled independently (plausible values, implausible "
            "combinations): a patient unlike the cohort in ways the covariates do not show is not caught.",
        ]
        + (
            [
                "Relapse-free survival is censored at 84 months in the training cohort; the 5-year figure is near "
                "the end of follow-up."
            ]
            if name == "survival-gbsg"
            else []
        ),
        "ethical_considerations": [
            "Prognosis shapes treatment intensity and end-of-life conversations: a clinician must review every "
            "figure with the patient's full picture.",
            "Subgroup figures (age, sex) are reported; groups with few patients get wide intervals.",
        ],
        "data_licence": "DeepSurv repository MIT; the underlying study data carry their own terms (see the data "
        "set's SOURCE.md: METABRIC data-access terms, SUPPORT public-use file, Rotterdam/GBSG via R survival)",
    }
    evaluation = {
        "candidates": candidates,
        "chosen": chosen,
        **({"blend": blend} if blend else {}),
        "calibration": {
            horizon_label(h, cohort.time_unit): calibration_table(time, event, survival_at(grid, curves[chosen], h), h)
            for h in horizons
        },
        "risk_groups": _risk_groups(time, event, chosen_risk),
        "time_unit": cohort.time_unit,
    }
    out = Path(out_dir) if out_dir else models_dir() / name
    path = write_bundle(out, card, evaluation, files)
    shutil.rmtree(staging, ignore_errors=True)
    print(f"{name}: chose {chosen}; CV C {validation['c_index']:.3f} (n={len(time)})", file=sys.stderr)
    return path


def _family_text(family: str, blend: dict | None) -> str:
    if family != "blend":
        return family
    weight = blend["weight"]
    return f"blend of Cox and gbm ({weight:.1f} x the Cox log-hazard + {1 - weight:.1f} x the boosted trees' one)"


def _settings(family: str, blend: dict | None) -> dict:
    if family != "blend":
        return SETTINGS[family]
    return {
        **SETTINGS["blend"],
        "weight_on_cox": blend["weight"],
        "fold_weights": blend["fold_weights"],
        "cox": SETTINGS["cox"],
        "gbm": SETTINGS["gbm"],
    }


def _extra_versions() -> dict[str, str]:
    import importlib.metadata as metadata

    try:
        return {"scikit-survival": metadata.version("scikit-survival")}
    except metadata.PackageNotFoundError:
        return {}
