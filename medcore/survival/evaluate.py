"""Evaluating a survival model on a labelled CSV: C-index, time-dependent AUC, integrated Brier, calibration.

The file holds the model's covariate columns plus ``duration`` (in the model's time unit) and
``event`` (1 = event, 0 = censored). ``medcore.core.evaluate.evaluate_upload`` calls
``evaluate_upload`` for the Model evaluation page's upload; the CLI calls ``evaluate_survival``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.core.cards import training_file_note
from medcore.core.errors import InvalidInputError
from medcore.core.uncertainty import with_intervals
from medcore.survival.data import read_labelled
from medcore.survival.metrics import (
    calibration_table,
    horizon_label,
    kaplan_meier,
    survival_at,
    survival_intervals,
    survival_scalars,
)
from medcore.survival.model import SurvivalModel

__all__ = ["ACCEPTED_UPLOADS", "MAX_EVALUATION_ROWS", "evaluate_upload", "evaluate_survival"]

MAX_EVALUATION_ROWS = 20_000  # Harrell's C costs N x events per bootstrap resample

ACCEPTED_UPLOADS = {
    ".csv": "one row per patient: the model's covariate columns, 'duration' (time to event or censoring, in the "
    "model's time unit) and 'event' (1 = event, 0 = censored)"
}


def evaluate_upload(
    model: SurvivalModel, name: str, data: bytes, progress: Callable[[float], None] | None = None
) -> dict:
    """``evaluate_survival`` on an uploaded CSV, read in memory (nothing is written to disk)."""
    return evaluate_survival(model, data, name, progress)


def evaluate_survival(
    model: SurvivalModel, source, name: str = "input", progress: Callable[[float], None] | None = None
) -> dict:
    """Metrics of ``model`` on a labelled table (path, bytes or DataFrame).

    Returns:
        ``model``, ``n``, ``events``, ``c_index``, ``auc@<h>``, ``integrated_brier``,
        ``calibration_gap@<h>`` each with ``_ci95``; ``calibration`` (decile tables per horizon),
        ``risk_groups`` (Kaplan-Meier by the model's risk group), ``out_of_domain`` (rows the page
        would refuse; they are still scored here), ``predictions`` and ``notes``.

    Raises:
        InvalidInputError: a file without the columns, with bad values (named by column and row),
            or without events.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{source}'. Pass a CSV with the covariates, duration and event.")
        name, source = path.name, path.read_bytes()
    frame, time, event = read_labelled(source, model.cohort, name)
    if len(time) < 10:
        raise InvalidInputError(f"{name} holds {len(time)} patients; survival metrics need at least 10.")
    if len(time) > MAX_EVALUATION_ROWS:
        raise InvalidInputError(
            f"{name} holds {len(time):,} patients; evaluation (with bootstrap intervals of Harrell's C) takes at most "
            f"{MAX_EVALUATION_ROWS:,}. Evaluate a random sample of them."
        )
    if progress:
        progress(0.2)
    risk = model.risk(frame)
    times, curves = model.predict_survival(frame)
    horizons = tuple(h for h in model.horizons if h < time.max())
    scalars = survival_scalars(time, event, risk, times, curves, horizons, model.time_unit)
    if progress:
        progress(0.4)
    intervals = survival_intervals(time, event, risk, times, curves, horizons, model.time_unit)
    if progress:
        progress(0.9)
    refused = [bool(r) for r in model.domain_reasons(frame)]
    percentile = model.percentile(risk)
    groups = np.array([model.risk_group(p) for p in percentile])
    risk_groups = {}
    for group in ("low", "intermediate", "high"):
        rows = groups == group
        if rows.any():
            curve = kaplan_meier(time[rows], event[rows])
            risk_groups[group] = {"n": int(rows.sum()), "events": int(event[rows].sum())} | {
                key: values.tolist() for key, values in curve.items()
            }
    notes = []
    if own := training_file_note(model.card, source if isinstance(source, bytes) else None):
        notes.append(own)
    if any(refused):
        notes.append(
            f"{sum(refused)} of {len(refused)} patients lie outside the training cohort (the page would refuse "
            "them); they are scored here all the same."
        )
    if len(horizons) < len(model.horizons):
        notes.append(f"Follow-up ends at {time.max():g} {model.time_unit}: later horizons are not measured.")
    predictions = [
        {
            "row": index + 1,
            "duration": float(time[index]),
            "event": int(event[index]),
            "risk": float(risk[index]),
            "risk_percentile": float(percentile[index]),
            **{
                f"survival@{horizon_label(h, model.time_unit)}": float(
                    survival_at(times, curves[index : index + 1], h)[0]
                )
                for h in model.horizons
            },
            "outside_training_cohort": refused[index],
        }
        for index in range(len(time))
    ]
    if progress:
        progress(1.0)
    return {
        "model": model.name,
        "n": int(len(time)),
        "n_events": int(event.sum()),
        **with_intervals(scalars, intervals),
        "calibration": {
            horizon_label(h, model.time_unit): calibration_table(time, event, survival_at(times, curves, h), h)
            for h in horizons
        },
        "risk_groups": risk_groups,
        "out_of_domain": int(sum(refused)),
        "time_unit": model.time_unit,
        "predictions": predictions,
        "notes": notes,
    }
