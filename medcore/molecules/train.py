"""Train a molecule model: forest, graph network and their mean, chosen and calibrated on the validation scaffolds.

1. Read the MoleculeNet file (train + valid parts of the scaffold split; the test part is withheld),
   parse every SMILES (largest fragment), and compute Morgan bits, RDKit descriptors and graphs.
2. Fit a random forest per task on [bits, descriptors] and the Keras graph network (all tasks at
   once, missing labels masked, early stopping on the validation loss) on the train part.
3. Score the forest, the network and their mean on the validation scaffolds (new chemotypes) with
   95 % bootstrap intervals, and ship the best (mean AUC, or RMSE).
4. Binary tasks: Platt scaling per task, fitted on the validation predictions (its calibration
   figures are cross-fitted over validation folds). Regression: a 95 % interval from the forest's
   tree spread, scaled on the validation residuals (coverage cross-fitted alike).
5. Applicability domain: the Tanimoto similarity to the nearest training molecule; the threshold
   keeps 97.5 % of validation molecules (new scaffolds) inside.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time as clock
from pathlib import Path

import numpy as np

from medcore.core.bundle import framework_versions, sha256_file, write_bundle
from medcore.core.metrics import brier_score, expected_calibration_error, reliability_curve
from medcore.core.settings import models_dir
from medcore.core.tables import find_data_file
from medcore.core.trees import export_trees
from medcore.core.uncertainty import bootstrap_intervals, calibration_intervals, with_intervals
from medcore.molecules.chem import Parsed, parse_many
from medcore.molecules.data import dataset_of, labels_of, read_table
from medcore.molecules.features import descriptors, fingerprints, graphs, tanimoto

__all__ = ["FOREST", "DOMAIN_KEEP", "train_molecule_model"]

FOREST = {"n_estimators": 200, "min_samples_leaf": 2, "max_features": "sqrt", "n_jobs": 2}
DOMAIN_KEEP = 0.975  # share of validation (new-scaffold) molecules the domain threshold keeps
RESAMPLES = 500
MARGIN = {"auc": 0.01, "rmse": 0.02}  # AUC points, or relative RMSE, a single model must gain over the ensemble


def _fit_forest(x, y, regression: bool, seed: int, trees: int):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    settings = {**FOREST, "n_estimators": trees, "random_state": seed}
    if regression:  # every feature at each split: the few descriptors (logP...) carry solubility
        return RandomForestRegressor(**{**settings, "max_features": 1.0}).fit(x, y)
    return RandomForestClassifier(**settings, class_weight="balanced_subsample").fit(x, y.astype(int))


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    known = ~np.isnan(y)
    y, p = y[known], p[known]
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def _scalars(y: np.ndarray, predicted: np.ndarray, regression: bool) -> dict[str, float]:
    """Mean AUC over tasks (classification) or RMSE, MAE and R^2 (regression)."""
    if regression:
        residual = predicted[:, 0] - y[:, 0]
        return {
            "rmse": float(np.sqrt(np.mean(residual**2))),
            "mae": float(np.mean(np.abs(residual))),
            "r2": float(1 - np.sum(residual**2) / np.sum((y[:, 0] - y[:, 0].mean()) ** 2)),
        }
    aucs = [_auc(y[:, j], predicted[:, j]) for j in range(y.shape[1])]
    return {"auc": float(np.nanmean(aucs))}


def _figures(y, predicted, regression: bool, seed: int) -> dict:
    scalars = _scalars(y, predicted, regression)
    intervals = bootstrap_intervals(
        lambda rows: _scalars(y[rows], predicted[rows], regression), len(y), resamples=RESAMPLES, seed=seed
    )
    return {"n": int(len(y)), **with_intervals(scalars, intervals)}


def _choose(figures: dict, headline: str) -> str:
    """The ensemble, unless one model alone is clearly better on the validation scaffolds (by more than
    ``MARGIN``): averaging two different views of a molecule usually travels better to new scaffolds,
    and a few hundred validation molecules cannot tell smaller differences apart."""
    ensemble = figures["ensemble"][headline]

    def gain(single: str) -> float:
        value = figures[single][headline]
        return (ensemble - value) / ensemble if headline == "rmse" else value - ensemble

    best = max(("forest", "network"), key=gain)
    return best if gain(best) > MARGIN[headline] else "ensemble"


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _platt(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Logistic regression of the label on logit(p): (slope, intercept); identity without both classes."""
    from sklearn.linear_model import LogisticRegression

    known = ~np.isnan(y)
    if len(np.unique(y[known])) < 2:
        return 1.0, 0.0
    fit = LogisticRegression(C=1e4).fit(_logit(p[known])[:, None], y[known].astype(int))
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _cross_fitted(y, p, fit, apply, seed, folds=5):
    """Each validation row predicted by a calibration fitted on the other validation folds."""
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(y))
    out = np.zeros_like(p)
    for k in range(folds):
        params = fit(y[fold != k], p[fold != k])
        out[fold == k] = apply(p[fold == k], params)
    return out


def train_molecule_model(
    name: str,
    data_path: Path | str,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | str | None = None,
    command: str = "",
) -> Path:
    """Train and write the molecule bundle ``name`` (see the module docstring).

    Args:
        name: ``drug-bbbp``, ``drug-tox21`` or ``drug-esol``.
        data_path: the shared data folder, its ``molecules/`` folder, or the CSV.
        epochs: the network's maximum epochs (default ``network.SETTINGS``).
        seed: seeds the forest, the network and the bootstrap.
        out_dir: the bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.
    """
    from tqdm import tqdm

    from medcore.molecules import network as net

    started = clock.time()
    dataset = dataset_of(name)
    file = find_data_file(dataset.file, data_path)
    table = read_table(file)
    parsed = parse_many(list(table["smiles"]))
    kept = np.array([isinstance(p, Parsed) for p in parsed])
    table = table[kept].reset_index(drop=True)
    parsed = [p for p in parsed if isinstance(p, Parsed)]
    mols = [p.mol for p in parsed]
    y = labels_of(table, dataset.tasks, file.name)
    train = (table["split"] == "train").to_numpy()
    valid = ~train
    progress = tqdm(total=4 + len(dataset.tasks), desc=f"{name}: features", file=sys.stderr)
    fp = fingerprints(mols)
    desc_raw = descriptors(mols)
    x_graph, codes, mask = graphs(mols)
    mean, scale = desc_raw[train].mean(axis=0), desc_raw[train].std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    desc = np.clip((desc_raw - mean) / scale, -10, 10).astype(np.float32)
    progress.update(1)

    # 2. The forest, one per task.
    progress.set_description(f"{name}: random forests")
    flat = np.hstack([fp.astype(np.float32), desc_raw])
    forests, forest_valid = [], np.zeros((valid.sum(), len(dataset.tasks)))
    trees = 100 if len(dataset.tasks) > 1 else FOREST["n_estimators"]
    for j in range(len(dataset.tasks)):
        rows = train & ~np.isnan(y[:, j])
        forest = _fit_forest(flat[rows], y[rows, j], dataset.regression, seed, trees)
        forests.append(forest)
        forest_valid[:, j] = (
            forest.predict(flat[valid]) if dataset.regression else forest.predict_proba(flat[valid])[:, 1]
        )
        progress.update(1)

    # 3. The graph network, every task at once.
    progress.set_description(f"{name}: graph network")
    target_mean = float(np.nanmean(y[train])) if dataset.regression else 0.0
    target_scale = float(np.nanstd(y[train])) if dataset.regression else 1.0
    scaled = (y - target_mean) / target_scale
    network, epochs_run, history = net.fit_network(
        (x_graph[train], codes[train], mask[train], desc[train]),
        scaled[train],
        (x_graph[valid], codes[valid], mask[valid], desc[valid]),
        scaled[valid],
        dataset.regression,
        seed,
        epochs=epochs,
    )
    raw = net.network_predict(network, (x_graph[valid], codes[valid], mask[valid], desc[valid]))
    network_valid = raw * target_scale + target_mean if dataset.regression else 1 / (1 + np.exp(-raw))
    progress.update(1)

    # 4. Choose on the validation scaffolds.
    y_valid = y[valid]
    candidates = {
        "forest": forest_valid,
        "network": network_valid,
        "ensemble": (forest_valid + network_valid) / 2,
    }
    figures = {key: _figures(y_valid, value, dataset.regression, seed) for key, value in candidates.items()}
    headline = "rmse" if dataset.regression else "auc"
    chosen = _choose(figures, headline)
    chosen_valid = candidates[chosen]

    # 5. Calibration (binary) or the interval (regression).
    arrays: dict[str, np.ndarray] = {"descriptor_mean": mean, "descriptor_scale": scale}
    calibration: dict = {}
    per_task = []
    evaluation: dict = {"tasks": list(dataset.tasks), "chosen": chosen, "candidates": figures}
    if dataset.regression:
        spread_valid = np.stack([t.predict(flat[valid]) for t in forests[0].estimators_], axis=1).std(axis=1)
        floor = float(np.percentile(spread_valid, 5))
        width = np.maximum(spread_valid, floor) if chosen != "network" else np.ones(valid.sum())
        ratio = np.abs(chosen_valid[:, 0] - y_valid[:, 0]) / width
        factor = float(np.quantile(ratio, 0.95))
        crossed = _cross_fitted(
            ratio, ratio, lambda r, _: float(np.quantile(r, 0.95)), lambda r, f: (r <= f).astype(float), seed
        )
        arrays.update(
            target_mean=np.array(target_mean),
            target_scale=np.array(target_scale),
            interval_factor=np.array(factor),
            spread_floor=np.array(floor if chosen != "network" else 1.0),
        )
        calibration = {
            "method": "none (regression); 95 % interval = factor x the forest's tree spread"
            + (" (constant width for the network alone)" if chosen == "network" else ""),
            "interval_factor": factor,
            "coverage_cross_fitted": float(crossed.mean()),
        }
        evaluation["parity"] = {
            "measured": y_valid[:, 0].round(4).tolist(),
            "predicted": chosen_valid[:, 0].round(4).tolist(),
        }
    else:
        slopes, intercepts = [], []
        after = np.zeros_like(chosen_valid)
        for j in range(len(dataset.tasks)):
            a, b = _platt(y_valid[:, j], chosen_valid[:, j])
            slopes.append(a)
            intercepts.append(b)
            after[:, j] = _cross_fitted(
                y_valid[:, j],
                chosen_valid[:, j],
                _platt,
                lambda p, ab: 1 / (1 + np.exp(-(ab[0] * _logit(p) + ab[1]))),
                seed,
            )
        arrays.update(platt_a=np.array(slopes), platt_b=np.array(intercepts))
        known = ~np.isnan(y_valid)
        flat_y, flat_before, flat_after = y_valid[known].astype(int), chosen_valid[known], after[known]
        two = lambda p: np.stack([1 - p, p], axis=1)  # noqa: E731 - binary probabilities as 2 columns
        calibration = {
            "method": "Platt scaling per task on the validation scaffolds' predictions",
            "validation_before": {
                "ece": expected_calibration_error(flat_y, two(flat_before)),
                "brier": brier_score(flat_y, two(flat_before)),
            },
            "validation_after": {
                "ece": expected_calibration_error(flat_y, two(flat_after)),
                "brier": brier_score(flat_y, two(flat_after)),
                "note": "cross-fitted: each validation molecule calibrated by a fit on the other folds",
            },
        }
        evaluation["reliability"] = reliability_curve(flat_y, two(flat_after))
        evaluation["reliability_before"] = reliability_curve(flat_y, two(flat_before))
        from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

        evaluation["roc"], evaluation["pr"] = [], []
        for j, task in enumerate(dataset.tasks):
            known_j = ~np.isnan(y_valid[:, j])
            yj, pj = y_valid[known_j, j].astype(int), chosen_valid[known_j, j]
            auc = _auc(y_valid[:, j], chosen_valid[:, j])
            per_task.append({"task": task, "n": int(known_j.sum()), "positives": int(yj.sum()), "auc": auc})
            if len(np.unique(yj)) == 2:
                fpr, tpr, _ = roc_curve(yj, pj)
                precision, recall, _ = precision_recall_curve(yj, pj)
                evaluation["roc"].append(
                    {"label": task, "fpr": fpr.round(4).tolist(), "tpr": tpr.round(4).tolist(), "auc": auc}
                )
                evaluation["pr"].append(
                    {
                        "label": task,
                        "recall": recall.round(4).tolist(),
                        "precision": precision.round(4).tolist(),
                        "average_precision": float(average_precision_score(yj, pj)),
                    }
                )
        evaluation["per_task"] = per_task

    # 6. Applicability domain.
    similarity_valid = tanimoto(fp[valid], fp[train]).max(axis=1)
    threshold = float(np.quantile(similarity_valid, 1 - DOMAIN_KEEP))
    # The refusal rate is measured on molecules the threshold was not set on: set on one half of the
    # validation scaffolds, counted on the other, and the other way round.
    half = np.random.default_rng(seed).random(len(similarity_valid)) < 0.5
    refused = np.zeros(len(similarity_valid), dtype=bool)
    for setting in (half, ~half):
        cut = float(np.quantile(similarity_valid[setting], 1 - DOMAIN_KEEP))
        refused[~setting] = similarity_valid[~setting] < cut
    refused_ci = bootstrap_intervals(lambda r: {"share": refused[r].mean()}, len(refused), seed=seed)["share"]
    progress.update(1)
    progress.close()

    # 7. The bundle.
    staging = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    files = {}
    uses_forest = chosen in ("forest", "ensemble")
    uses_network = chosen in ("network", "ensemble")
    if uses_forest:
        value = (lambda v: v[:, 0, 0]) if dataset.regression else (lambda v: v[:, 0, 1] / v[:, 0].sum(axis=1))
        parts = [export_trees(forest.estimators_, value) for forest in forests]
        forest_arrays = _concatenate_forests(parts)
        np.savez_compressed(staging / "forest.npz", **forest_arrays)
        files["forest.npz"] = staging / "forest.npz"
    if uses_network:
        network.save(staging / "network.keras")
        files["network.keras"] = staging / "network.keras"
    arrays.update(
        train_fingerprints=np.packbits(fp[train], axis=1),
        train_smiles=np.array([p.smiles for p, t in zip(parsed, train) if t]),
        train_labels=y[train],
    )
    np.savez_compressed(staging / "molecules.npz", **arrays)
    files["molecules.npz"] = staging / "molecules.npz"
    validation = {
        "split": "validation scaffolds (the scaffold split's valid part: chemotypes absent from train)",
        **figures[chosen],
    }
    if not dataset.regression:
        after_figures = {k: calibration["validation_after"][k] for k in ("ece", "brier")}
        molecule_of = np.broadcast_to(np.arange(len(y_valid))[:, None], y_valid.shape)[
            known
        ]  # a molecule's tasks resample together
        validation.update(
            with_intervals(after_figures, calibration_intervals(flat_y, two(flat_after), groups=molecule_of, seed=seed))
        )
        validation["per_task"] = {row["task"]: round(row["auc"], 4) for row in per_task}
    else:
        coverage_ci = bootstrap_intervals(lambda r: {"share": crossed[r].mean()}, len(crossed), seed=seed)["share"]
        validation.update(
            with_intervals({"interval_coverage": float(crossed.mean())}, {"interval_coverage": coverage_ci})
        )
    validation["baselines"] = {f"{key} (candidate)": value for key, value in figures.items() if key != chosen}
    card = {
        "name": name,
        "version": "1.0.0",
        "kind": "molecule",
        "task": f"{dataset.title} from a molecule's structure (SMILES)",
        "description": f"Predicts {dataset.title.lower()} ({dataset.unit}) from a SMILES string: {chosen} "
        "(chosen among a random forest on Morgan fingerprints + RDKit descriptors, a Keras graph network and their "
        "mean on the validation scaffolds), with per-atom contributions, the nearest training molecules and an "
        "applicability-domain verdict.",
        "intended_use": "Research support for medicinal chemists: ranking and triaging candidate molecules and "
        "seeing which substructures drive a prediction, beside the most similar measured molecules.",
        "out_of_scope_use": "Clinical or regulatory decisions; molecules unlike the training set (the domain check "
        "refuses many); peptides, polymers, metal complexes and molecules over 100 heavy atoms.",
        "labels": list(dataset.tasks),
        "tasks": list(dataset.tasks),
        "regression": dataset.regression,
        "input": {
            "type": "SMILES strings (largest fragment kept for salts and mixtures, at most 100 heavy atoms)",
            "unit": dataset.unit,
            "fingerprint": "Morgan radius 2, 2048 bits",
            "descriptors": f"{desc_raw.shape[1]} RDKit 2D descriptors",
        },
        "preprocessing": {
            "descriptors": "standardised with the training mean and deviation, clipped to +-10 (network)"
        },
        "architecture": {
            "predictor": chosen,
            "forest": {
                **FOREST,
                "n_estimators": trees,
                "class_weight": None if dataset.regression else "balanced_subsample",
            },
            "network": {**net.SETTINGS, "epochs_run": epochs_run},
        },
        "operating_point": {
            "note": "probabilities are reported, not a decision"
            if not dataset.regression
            else "value with 95 % interval"
        },
        "calibration": calibration,
        "domain_check": {
            "method": "Tanimoto similarity (Morgan bits) to the nearest training molecule; below the threshold the "
            "model gives no prediction",
            "threshold": threshold,
            "validation": {
                "genuine_rejected": float(refused.mean()),
                "genuine_rejected_ci95": refused_ci,
                "n_genuine": int(len(refused)),
                "negatives": "genuine = validation-scaffold molecules (none occurs in train), counted against a "
                f"threshold set on the other half of them to keep {DOMAIN_KEEP:.1%}; no wrong-kind molecules are measured",
            },
        },
        "training": {
            "dataset": f"MoleculeNet {dataset.title} (scaffold split, DeepChem ScaffoldSplitter)",
            "data_file": dataset.file,
            "data_sha256": sha256_file(file),
            "split": f"train {int(train.sum())} molecules, validation {int(valid.sum())} (new scaffolds); "
            f"{int((~kept).sum())} unparsable dropped; the scaffold test part is withheld",
            "chosen_on": f"the validation scaffolds: the ensemble unless one model alone beats it by more than "
            f"{MARGIN[headline]:g} {'relative RMSE' if dataset.regression else 'AUC'} (they also stopped the network, fitted the calibration and set "
            "the domain threshold: its figures are optimistic; calibration and coverage figures are cross-fitted)",
            "seed": seed,
            "epochs": epochs_run,
            "wall_time_s": round(clock.time() - started, 1),
            "command": command,
        },
        "metrics": {"validation": validation},
        "anchors": {"published scaffold-split test figures (SOURCE.md)": dataset.published},
        "framework_versions": {**framework_versions(), "rdkit": _rdkit_version()},
        "limitations": [
            "The validation scaffolds chose the predictor, stopped the network and fitted the calibration: its "
            "figures are optimistic; the withheld scaffold test part is the honest check.",
            "Valid and test scaffolds differ a lot (SOURCE.md: a forest scores 0.975 on BBBP valid, about 0.7 on test).",
            "Measured in vitro/in vivo labels with noise (duplicates with conflicting labels exist).",
        ],
        "ethical_considerations": [
            "Toxicity and penetration predictions can mislead safety decisions; confirm experimentally.",
        ],
        "data_licence": "MoleculeNet / DeepChem (MIT); Tox21 US-government data; see the data set's SOURCE.md for doubts",
    }
    out = Path(out_dir) if out_dir else models_dir() / name
    path = write_bundle(out, card, evaluation, files)
    shutil.rmtree(staging, ignore_errors=True)
    print(f"{name}: chose {chosen}; validation {headline} {figures[chosen][headline]:.3f}", file=sys.stderr)
    return path


def _concatenate_forests(parts: list[dict]) -> dict[str, np.ndarray]:
    """One set of node arrays for every task's forest, with ``tree_task``."""
    offset, starts, tasks, out = 0, [], [], {k: [] for k in ("left", "right", "feature", "threshold", "value")}
    for task, arrays in enumerate(parts):
        for key in ("left", "right"):
            out[key].append(np.where(arrays[key] >= 0, arrays[key] + offset, -1).astype(np.int32))
        for key in ("feature", "threshold", "value"):
            out[key].append(arrays[key])
        starts.append(arrays["tree_start"] + offset)
        tasks.append(np.full(len(arrays["tree_start"]), task))
        offset += len(arrays["left"])
    merged = {key: np.concatenate(values) for key, values in out.items()}
    merged["value"] = merged["value"].astype(np.float32)
    merged.update(
        tree_start=np.concatenate(starts),
        tree_task=np.concatenate(tasks),
        depth=np.array(max(int(a["depth"]) for a in parts)),
    )
    return merged


def _rdkit_version() -> str:
    import rdkit

    return rdkit.__version__
