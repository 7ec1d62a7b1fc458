"""Evaluating a molecule model on a labelled CSV: AUC per task and calibration, or RMSE and a parity plot.

The file holds a ``smiles`` column and the model's task columns (0/1, empty = not measured; a
value for regression). Molecules that cannot be read, or lie outside the applicability domain,
are counted and left out of the figures (the page would give them no prediction).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.core.cards import training_file_note
from medcore.core.errors import InvalidInputError
from medcore.core.metrics import brier_score, expected_calibration_error, reliability_curve
from medcore.core.uncertainty import bootstrap_intervals, with_intervals
from medcore.molecules.data import labels_of, read_table, smiles_column
from medcore.molecules.model import MoleculeModel

__all__ = ["ACCEPTED_UPLOADS", "evaluate_upload", "evaluate_molecules"]

ACCEPTED_UPLOADS = {
    ".csv": "a 'smiles' column and the model's label columns (0/1, empty = not measured; the measured value for "
    "solubility)"
}


def evaluate_upload(
    model: MoleculeModel, name: str, data: bytes, progress: Callable[[float], None] | None = None
) -> dict:
    """``evaluate_molecules`` on an uploaded CSV, read in memory."""
    return evaluate_molecules(model, data, name, progress)


def _scalars(y: np.ndarray, p: np.ndarray, regression: bool) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    if regression:
        residual = p[:, 0] - y[:, 0]
        return {
            "rmse": float(np.sqrt(np.mean(residual**2))),
            "mae": float(np.mean(np.abs(residual))),
        }
    aucs = []
    for j in range(y.shape[1]):
        known = ~np.isnan(y[:, j])
        if len(np.unique(y[known, j])) == 2:
            aucs.append(roc_auc_score(y[known, j], p[known, j]))
    return {"auc": float(np.mean(aucs)) if aucs else float("nan")}


def evaluate_molecules(
    model: MoleculeModel, source, name: str = "input", progress: Callable[[float], None] | None = None
) -> dict:
    """Metrics of ``model`` on a labelled table (path or CSV bytes).

    Returns:
        ``model``, ``n`` (molecules scored), ``unreadable``, ``out_of_domain``, ``auc`` or ``rmse``/``mae``
        with ``_ci95``; classification: ``per_task`` (AUC, n, positives), ``roc`` and ``pr`` curves per
        task, ``ece``, ``brier``, ``reliability``; regression: ``parity``; ``predictions`` (one row per molecule) and ``notes``.

    Raises:
        InvalidInputError: no SMILES column, missing label columns, non-numeric labels, nothing scorable.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{source}'. Pass a CSV with a 'smiles' column and labels.")
        name, source = path.name, path.read_bytes()
    table = read_table(source, name)
    y_all = labels_of(table, tuple(model.tasks), name)
    smiles = [str(s) if s == s else "" for s in table[smiles_column(table)]]
    results = model.analyse(smiles, progress)
    scored = [i for i, r in enumerate(results) if r["error"] is None and not r["out_of_domain"]]
    if len(scored) < 2:
        raise InvalidInputError(
            f"'{name}': {len(scored)} molecule(s) could be scored ({sum(r['error'] is not None for r in results)} "
            "unreadable, the rest outside the applicability domain); metrics need more."
        )
    if model.regression:  # rows without a measured value cannot be scored
        scored = [i for i in scored if not np.isnan(y_all[i, 0])]
    if len(scored) < 2 or np.isnan(y_all[scored]).all():
        raise InvalidInputError(
            f"'{name}' has no measured labels in {', '.join(model.tasks)} for the molecules it could score."
        )
    y = y_all[scored]
    p = np.array([[results[i]["predictions"][t] for t in model.tasks] for i in scored])
    scalars = _scalars(y, p, model.regression)
    intervals = bootstrap_intervals(lambda rows: _scalars(y[rows], p[rows], model.regression), len(y))
    out = {
        "model": model.name,
        "n": len(scored),
        "unreadable": sum(r["error"] is not None for r in results),
        "out_of_domain": sum(bool(r["out_of_domain"]) for r in results),
        **with_intervals(scalars, intervals),
    }
    if model.regression:
        out["parity"] = {"measured": y[:, 0].tolist(), "predicted": p[:, 0].tolist()}
    else:
        from sklearn.metrics import roc_auc_score

        known = ~np.isnan(y)
        two = np.stack([1 - p[known], p[known]], axis=1)
        out["ece"] = expected_calibration_error(y[known].astype(int), two)
        out["brier"] = brier_score(y[known].astype(int), two)
        out["reliability"] = reliability_curve(y[known].astype(int), two)
        from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

        out["per_task"], out["roc"], out["pr"] = [], [], []
        for j, task in enumerate(model.tasks):
            k = ~np.isnan(y[:, j])
            both = len(np.unique(y[k, j])) == 2
            auc = float(roc_auc_score(y[k, j], p[k, j])) if both else None
            out["per_task"].append({"task": task, "n": int(k.sum()), "positives": int(np.nansum(y[:, j])), "auc": auc})
            if both:
                fpr, tpr, _ = roc_curve(y[k, j], p[k, j])
                precision, recall, _ = precision_recall_curve(y[k, j], p[k, j])
                out["roc"].append({"label": task, "fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": auc})
                out["pr"].append(
                    {
                        "label": task,
                        "recall": recall.tolist(),
                        "precision": precision.tolist(),
                        "average_precision": float(average_precision_score(y[k, j], p[k, j])),
                    }
                )
    out["predictions"] = [
        {
            "row": i + 1,
            "smiles": r["smiles"],
            **{f"predicted {t}": r["predictions"].get(t) for t in model.tasks},
            **{
                f"measured {t}": (None if np.isnan(y_all[i, j]) else float(y_all[i, j]))
                for j, t in enumerate(model.tasks)
            },
            "note": r["error"] or (_not_scored(r) if r["out_of_domain"] else ""),
        }
        for i, r in enumerate(results)
    ]
    out["notes"] = []
    if out["unreadable"] or out["out_of_domain"]:
        out["notes"].append(
            f"{out['unreadable']} unreadable and {out['out_of_domain']} out-of-domain molecule(s) are not scored."
        )
    if own := training_file_note(model.card, source if isinstance(source, bytes) else None):
        out["notes"].insert(0, own)
    else:
        scored = [r["canonical"] for r in results if not r["error"] and not r["out_of_domain"]]
        seen = sum(smiles in model.training_molecules() for smiles in scored)
        if seen:
            out["notes"].insert(
                0,
                f"{seen} of the {len(scored)} scored molecules are training molecules of this model: on them the "
                "figures are in-sample and optimistic. Score only new molecules for new evidence.",
            )
    ions = sum("counter-ion" in (r.get("reason") or "") for r in results)
    if ions:
        out["notes"].append(f"{ions} of the out-of-domain molecule(s) are lone counter-ions (no prediction).")
    return out


def _not_scored(result: dict) -> str:
    """Why a readable molecule got no prediction, in a few words."""
    return "a lone counter-ion" if "counter-ion" in (result.get("reason") or "") else "outside the applicability domain"
