"""Evaluating the dosing model on a CSV of patients with their stable dose (IWPC column names).

MAE (mg/week) and the share within 20 % of the actual dose, overall, per dose band and per race
group, beside the IWPC pharmacogenetic and clinical algorithms and the fixed 35 mg/week, each with
a 95 % bootstrap interval; a calibration table (predicted vs actual by decile).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.core.cards import training_file_note
from medcore.core.errors import InvalidInputError
from medcore.dosing.data import DOSE, RACE, factors, read_frame
from medcore.dosing.iwpc import baseline_doses
from medcore.dosing.metrics import calibration_table, dose_figures, subgroup_figures
from medcore.dosing.model import DoseModel

__all__ = ["ACCEPTED_UPLOADS", "evaluate_upload", "evaluate_doses"]

ACCEPTED_UPLOADS = {
    ".csv": "IWPC column names (Age, Height (cm), Weight (kg), Race (OMB), CYP2C9 consensus, VKORC1 -1639 "
    "consensus, ...) and 'Therapeutic Dose of Warfarin' (mg/week)"
}


def evaluate_upload(model: DoseModel, name: str, data: bytes, progress: Callable[[float], None] | None = None) -> dict:
    """``evaluate_doses`` on an uploaded CSV, read in memory."""
    return evaluate_doses(model, data, name)


def evaluate_doses(model: DoseModel, source, name: str = "input") -> dict:
    """Figures of ``model`` on patients with a known dose (path, CSV bytes or DataFrame).

    Raises:
        InvalidInputError: no dose column, no patient with a dose, or implausible values.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{source}'. Pass a CSV with IWPC columns and '{DOSE}'.")
        name, source = path.name, path.read_bytes()
    frame = read_frame(source, name, require_dose=True)
    frame = frame[frame[DOSE].notna()].reset_index(drop=True)
    if len(frame) < 2:
        raise InvalidInputError(f"'{name}' has fewer than 2 patients with a dose; metrics need more.")
    results = model.analyse(frame)
    kept = np.array([not r["out_of_domain"] for r in results])
    if kept.sum() < 2:
        raise InvalidInputError(f"'{name}': fewer than 2 patients inside the training ranges; nothing to score.")
    y = frame[DOSE].to_numpy(dtype=float)[kept]
    predicted = np.array([r["dose"] for r, k in zip(results, kept) if k])
    base = {k: v[kept] for k, v in baseline_doses(factors(frame, model.card["preprocessing"]["medians"])).items()}
    out = {"model": model.name, **dose_figures(y, predicted)}
    for key, values in base.items():
        figures = dose_figures(y, values)
        for metric in ("mae", "within_20pct"):
            out[f"{key} {metric}"], out[f"{key} {metric}_ci95"] = figures[metric], figures[f"{metric}_ci95"]
    races = (
        frame[RACE].fillna("Unknown").to_numpy()[kept]
        if RACE in frame.columns
        else np.array(["Unknown"] * int(kept.sum()))
    )
    out["subgroups"] = subgroup_figures(y, predicted, base, races)
    out["calibration"] = calibration_table(y, predicted, bins=min(10, max(2, len(y) // 10)))
    out["out_of_domain"] = int((~kept).sum())
    out["predictions"] = [
        {
            "row": i + 1,
            "actual": float(frame[DOSE].iloc[i]),
            "predicted": r["dose"],
            "iwpc_pharmacogenetic": r["baselines"]["IWPC pharmacogenetic"],
            "note": r["reason"] or "",
        }
        for i, r in enumerate(results)
    ]
    out["notes"] = [f"{out['out_of_domain']} patient(s) outside the training ranges were left out."] * bool(
        out["out_of_domain"]
    )
    if own := training_file_note(model.card, source if isinstance(source, bytes) else None):
        out["notes"].insert(0, own)
    return out
