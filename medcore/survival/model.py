"""The survival model: risk, survival curves with a band, domain check, explanation and what-ifs.

Every shipped survival model is of the Cox form (``medcore.survival.families``): a log-hazard
``f(x)`` and a Breslow baseline, so ``S(t | x) = exp(-H0(t) exp(f(x)))``. Member 0 is the model
fitted on the whole training cohort (the prediction); members 1.. are bootstrap refits whose
2.5th-97.5th percentiles are the band around a patient's curve.

The domain check has two parts: each covariate must lie inside the range seen in training
(categorical codes: seen in training), and the whole row must not be further from the training
cohort (Mahalanobis distance on the standardised design) than the card's threshold. A row that
fails gets no answer from ``analyse``, with the reason; ``risk`` and ``predict_survival`` are
the raw arrays for every row that passes the plausibility checks of ``medcore.survival.data``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.core.shapley import coalitions, exact_shapley
from medcore.survival.data import COHORTS, Cohort, Covariate, read_frame
from medcore.survival.families import load_risk
from medcore.survival.metrics import horizon_label

__all__ = ["SurvivalModel", "load_survival_model", "CAUSAL_NOTICE", "BAND_LEVEL"]

CAUSAL_NOTICE = (
    "What-if curves come from observational data: patients who received a treatment differed from "
    "those who did not in ways the model may not see (confounding by indication). The difference "
    "between the curves is an association, not proof of what the treatment would do for this patient."
)
BAND_LEVEL = 0.95
CHUNK_ROWS = 2_000  # rows analysed in one pass


class SurvivalModel:
    """A loaded survival bundle (stateless after loading; one object serves every session)."""

    kind = "survival"

    def __init__(self, name: str, card: dict, risk, arrays: dict[str, np.ndarray], groups: dict | None = None):
        self.name = name
        self.card = card
        self.labels = list(card["labels"])
        self.tasks = self.labels
        self._risk = risk
        # The card fixes what the model reads (names, types, ranges, codes); the words a clinician reads
        # (description, unit) come from the package's cohort table, so they can be corrected without retraining.
        words = {
            c.name: {"unit": c.unit, "description": c.description} for c in getattr(COHORTS.get(name), "covariates", ())
        }
        self.cohort = Cohort(
            name,
            card["training"]["data_file"],
            card["task"],
            card["input"]["event"],
            card["input"]["time_unit"],
            tuple(card["input"]["horizons"]),
            tuple(
                Covariate(
                    c["name"],
                    c["type"],
                    words.get(c["name"], c)["unit"],
                    tuple(c["range"]),
                    words.get(c["name"], c)["description"],
                    {int(k): v for k, v in c["categories"].items()},
                    c["transform"],
                    c["treatment"],
                )
                for c in card["input"]["covariates"]
            ),
            card["training"]["dataset"],
        )
        self._covariates = self.cohort.covariates
        self.time_unit: str = self.cohort.time_unit
        self.horizons: tuple[float, ...] = self.cohort.horizons
        self.times = arrays["grid"]
        self._baseline = arrays["baseline"]  # (M, T)
        self._mean = arrays["mean"]
        self._scale = arrays["scale"]
        self._reference_risk = np.sort(arrays["reference_risk"])
        self._center = arrays["domain_center"]
        self._precision = arrays["domain_precision"]
        self._threshold = float(card["domain_check"]["threshold"])
        self._training_range = {c: tuple(r) for c, r in card["domain_check"]["training_range"].items()}
        self._seen_codes = {c: set(v) for c, v in card["domain_check"].get("seen_codes", {}).items()}
        self.reference_row: dict[str, float] = dict(card["input"]["reference_row"])
        self.risk_groups: dict = groups or {}

    # ----- inputs ---------------------------------------------------------------------------------
    @property
    def covariates(self) -> list[dict]:
        """Each input column: name, type, unit, plausible range, description, categories,
        whether it is a treatment, the cohort median and the range seen in training."""
        out = []
        for covariate in self._covariates:
            row = covariate.as_dict()
            row["median"] = self.reference_row[covariate.name]
            row["training_range"] = list(self._training_range[covariate.name])
            out.append(row)
        return out

    @property
    def treatments(self) -> list[str]:
        """Covariates offered as treatment what-ifs."""
        return [c.name for c in self._covariates if c.treatment]

    def clean(self, frame) -> pd.DataFrame:
        """The covariates of ``frame`` checked and as floats (see ``medcore.survival.data.read_frame``)."""
        return read_frame(frame, self._covariates)

    def _design(self, clean: pd.DataFrame) -> np.ndarray:
        from medcore.survival.data import design_matrix

        return ((design_matrix(clean, self._covariates) - self._mean) / self._scale).astype(np.float32)

    # ----- predictions ----------------------------------------------------------------------------
    def _log_hazards(self, clean: pd.DataFrame) -> np.ndarray:
        return self._risk.log_hazards(self._design(clean))  # (N, M)

    def risk(self, frame) -> np.ndarray:
        """(N,) log-hazard relative to the training cohort: higher means an earlier event."""
        return self._log_hazards(self.clean(frame))[:, 0]

    def _curves(self, log_hazards: np.ndarray) -> np.ndarray:
        """(N, M, T) survival of every member."""
        return np.exp(-self._baseline[None, :, :] * np.exp(np.clip(log_hazards, -50, 50))[:, :, None])

    def predict_survival(self, frame) -> tuple[np.ndarray, np.ndarray]:
        """``(times, S)``: survival probabilities (N, len(times)) in [0, 1], non-increasing along time."""
        curves = self._curves(self._log_hazards(self.clean(frame))[:, :1])
        return self.times.copy(), curves[:, 0, :]

    def survival_band(self, frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(times, low, high)``: the 95 % band of the bootstrap refits around each curve (N, T)."""
        low, high = _band(self._curves(self._log_hazards(self.clean(frame))))
        return self.times.copy(), low, high

    def percentile(self, risk: np.ndarray) -> np.ndarray:
        """Percent of the training cohort with a lower risk than each value of ``risk`` (the cohort's
        out-of-fold risks, as the Kaplan-Meier risk groups use)."""
        return 100.0 * np.searchsorted(self._reference_risk, np.asarray(risk), side="left") / len(self._reference_risk)

    # ----- domain -----------------------------------------------------------------------------------
    def domain_reasons(self, frame) -> list[list[str]]:
        """Per row, why it lies outside what the model was trained on ([] when inside)."""
        clean = self.clean(frame)
        return self._reasons(clean, self._design(clean))

    def _reasons(self, clean: pd.DataFrame, design: np.ndarray) -> list[list[str]]:
        distance = self._distance(design)
        reasons: list[list[str]] = [[] for _ in range(len(clean))]
        for covariate in self._covariates:
            values = clean[covariate.name].to_numpy()
            low, high = self._training_range[covariate.name]
            for row in np.flatnonzero((values < low) | (values > high)):
                reasons[row].append(
                    f"{covariate.description} = {values[row]:g} {covariate.unit}".rstrip()
                    + f" is outside the range seen in training ({low:g}-{high:g})"
                )
            seen = self._seen_codes.get(covariate.name)
            if seen:
                for row in np.flatnonzero(~np.isin(np.round(values), list(seen))):
                    reasons[row].append(f"{covariate.description} = {values[row]:g} never occurred in training")
        for row in np.flatnonzero(distance > self._threshold):
            reasons[row].append(
                f"this combination of values is unusual for the training cohort (distance {distance[row]:.1f}, "
                f"limit {self._threshold:.1f})"
            )
        return reasons

    def _distance(self, design: np.ndarray) -> np.ndarray:
        centred = design.astype(np.float64) - self._center
        return np.sqrt(np.einsum("ij,jk,ik->i", centred, self._precision, centred))

    # ----- the page's and the service's call ------------------------------------------------------------
    def analyse(self, frame, curves: bool = False) -> list[dict]:
        """One result per row: risk, its percentile and group, survival at the horizons with the band,
        median survival, or ``out_of_domain`` with the reasons and no answer.

        Args:
            frame: DataFrame, list of row dicts, CSV bytes or path.
            curves: also return each row's ``times``, ``survival``, ``low`` and ``high`` lists.
        """
        clean = self.clean(frame)
        if len(clean) > CHUNK_ROWS:  # members x times per row: bound the memory of one pass
            return [
                result
                for start in range(0, len(clean), CHUNK_ROWS)
                for result in self.analyse(clean.iloc[start : start + CHUNK_ROWS].reset_index(drop=True), curves)
            ]
        design = self._design(clean)  # once: for the domain check and the risk
        reasons = self._reasons(clean, design)
        log_hazards = self._risk.log_hazards(design)
        every = self._curves(log_hazards)
        point = every[:, 0, :]
        low, high = _band(every)
        percentiles = self.percentile(log_hazards[:, 0])
        results = []
        for row in range(len(clean)):
            if reasons[row]:
                results.append(
                    {
                        "out_of_domain": True,
                        "decision": None,
                        "warnings": [
                            "Not analysed: outside what this model was trained on: " + "; ".join(reasons[row]) + "."
                        ],
                    }
                )
                continue
            result = {
                "out_of_domain": False,
                "risk": float(log_hazards[row, 0]),
                "risk_percentile": float(percentiles[row]),
                "risk_group": self.risk_group(float(percentiles[row])),
                "median_survival": self._median(point[row]),
                "median_survival_ci95": [self._median(low[row]), self._median(high[row])],
                "warnings": [],
            }
            for horizon in self.horizons:
                index = max(int(np.searchsorted(self.times, horizon, side="right")) - 1, 0)
                label = horizon_label(horizon, self.time_unit)
                result[f"survival@{label}"] = float(point[row, index])
                result[f"survival@{label}_ci95"] = [float(low[row, index]), float(high[row, index])]
            result["decision"] = self.risk_words(result["risk_percentile"])
            if curves:
                result.update(
                    times=self.times.tolist(),
                    survival=point[row].tolist(),
                    low=low[row].tolist(),
                    high=high[row].tolist(),
                )
            results.append(result)
        return results

    @property
    def endpoint(self) -> str:
        """What the curve measures, in words from the card's task: "relapse-free survival" (GBSG),
        "overall survival" (METABRIC, SUPPORT: death from any cause)."""
        named = [part.strip() for part in self.card["task"].split(":") if "survival" in part]
        words = named[0].lower() if named else "survival"
        return "overall survival" if words == "survival" else words

    def risk_words(self, percentile: float) -> str:
        """The risk relative to the training cohort, explicitly: 'higher risk than 80 % of the training cohort'."""
        return f"higher risk than {percentile:.0f} % of the training cohort"

    def risk_group(self, percentile: float) -> str:
        """'low', 'intermediate' or 'high': the cohort's risk tertile a percentile falls in."""
        return "low" if percentile < 100 / 3 else "high" if percentile >= 200 / 3 else "intermediate"

    def _median(self, curve: np.ndarray) -> float | None:
        """First time the curve reaches 0.5, or None when it stays above (not reached in follow-up)."""
        below = np.flatnonzero(curve <= 0.5)
        return float(self.times[below[0]]) if len(below) else None

    # ----- explanation and what-ifs -------------------------------------------------------------------
    def explain(self, row) -> dict:
        """Each covariate's contribution to this patient's log-hazard, against the cohort's median patient.

        Exact Shapley values of the model's log-hazard with the median patient (the card's
        ``reference_row``) as the baseline: the contributions add up to the patient's log-hazard
        minus the median patient's. For the linear Cox model each equals beta x (value - median).

        Returns:
            ``{"contributions": [{"covariate", "value", "reference", "log_hazard", "hazard_ratio",
            "text"}] (largest first), "total_hazard_ratio", "summary", "method"}``.
        """
        clean = self.clean(row)
        if len(clean) != 1:
            raise InvalidInputError(f"explain takes one patient; got {len(clean)} rows. Pass one row.")
        names = [c.name for c in self._covariates]
        reference = pd.DataFrame([{n: self.reference_row[n] for n in names}])
        d = len(names)
        masks = coalitions(d)  # (2^d, d): True = the patient's value
        mixed = np.where(masks, clean[names].to_numpy()[0][None, :], reference[names].to_numpy()[0][None, :])
        value = self._risk.log_hazards(self._design(pd.DataFrame(mixed, columns=names)), first_only=True)[:, 0]
        phi = exact_shapley(value, d)
        contributions = []
        for j, covariate in enumerate(self._covariates):
            patient, median = float(clean[covariate.name].iloc[0]), float(self.reference_row[covariate.name])
            ratio = float(np.exp(phi[j]))
            contributions.append(
                {
                    "covariate": covariate.name,
                    "label": covariate.description,
                    "value": patient,
                    "reference": median,
                    "log_hazard": float(phi[j]),
                    "hazard_ratio": ratio,
                    "text": self._words(covariate, patient, median, ratio),
                }
            )
        contributions.sort(key=lambda c: -abs(c["log_hazard"]))
        total = float(np.exp(phi.sum()))
        return {
            "contributions": contributions,
            "total_hazard_ratio": total,
            "summary": f"Overall, this patient's hazard is {total:.2f} times that of the cohort's median patient "
            f"({'higher' if total > 1 else 'lower' if total < 1 else 'the same'} risk of {self.card['input']['event']}).",
            "method": "exact Shapley values of the log-hazard against the cohort's median patient",
        }

    def _show(self, covariate: Covariate, value: float) -> str:
        if covariate.categories:
            return covariate.categories.get(int(round(value)), f"{value:g}")
        return f"{value:.4g} {covariate.unit}".rstrip()  # 36.7 °C as entered, not 36.6953 (float noise)

    def _words(self, covariate: Covariate, value: float, median: float, ratio: float) -> str:
        where = (
            f"{covariate.description}: {self._show(covariate, value)} (cohort median {self._show(covariate, median)})"
        )
        if abs(np.log(ratio)) < 0.01:
            return f"{where}: no material effect on the risk."
        direction = "raises" if ratio > 1 else "lowers"
        return f"{where}: {direction} the hazard (x{ratio:.2f})."

    def what_if(self, row, changes: dict) -> dict:
        """The patient's curve as recorded and with ``changes`` applied (e.g. ``{"hormone_therapy": 1}``).

        Returns:
            ``{"times", "current", "changed", "changes", "survival_at": {horizon label: [current,
            changed]}, "hazard_ratio", "out_of_domain", "warnings", "notice"}``; ``notice`` says that
            observational data do not prove a causal effect.

        Raises:
            InvalidInputError: more than one row, an unknown covariate, or a changed value that is
                implausible.
        """
        if not isinstance(changes, dict):
            raise InvalidInputError(
                f"changes is a {type(changes).__name__}; pass a dict of covariate -> new value, e.g. {{'hormone_therapy': 1}}."
            )
        clean = self.clean(row)
        if len(clean) != 1:
            raise InvalidInputError(f"what_if takes one patient; got {len(clean)} rows. Pass one row.")
        unknown = [key for key in changes if key not in clean.columns]
        if unknown:
            raise InvalidInputError(
                f"Unknown covariate(s) {', '.join(unknown)}; this model's covariates: {', '.join(clean.columns)}."
            )
        changed = clean.copy()
        for key, value in changes.items():
            changed[key] = value
        changed = self.clean(changed)
        both = pd.concat([clean, changed], ignore_index=True)
        design = self._design(both)
        reasons = self._reasons(both, design)
        log_hazards = self._risk.log_hazards(design, first_only=True)[:, 0]
        curves = self._curves(log_hazards[:, None])[:, 0, :]
        survival_at = {}
        for horizon in self.horizons:
            index = max(int(np.searchsorted(self.times, horizon, side="right")) - 1, 0)
            survival_at[horizon_label(horizon, self.time_unit)] = [float(curves[0, index]), float(curves[1, index])]
        untreated = [k for k in changes if k not in self.treatments]
        warnings = [f"Changed value(s) outside the training cohort: {'; '.join(r)}." for r in reasons if r]
        if untreated:
            warnings.append(
                f"{', '.join(untreated)} is not a treatment: changing it describes another patient, not a choice."
            )
        return {
            "times": self.times.tolist(),
            "current": curves[0].tolist(),
            "changed": curves[1].tolist(),
            "changes": dict(changes),
            "survival_at": survival_at,
            "hazard_ratio": float(np.exp(log_hazards[1] - log_hazards[0])),
            "out_of_domain": bool(reasons[0] or reasons[1]),
            "warnings": warnings,
            "notice": CAUSAL_NOTICE,
        }


def _band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % band (N, T) of member curves (N, M, T): percentiles of the bootstrap refits (members 1..),
    widened where needed to include member 0's curve (the prediction), which refits of an extreme
    patient can all miss on one side."""
    refits = curves[:, 1:, :] if curves.shape[1] > 1 else curves
    tail = (1 - BAND_LEVEL) / 2 * 100
    low, high = np.percentile(refits, tail, axis=1), np.percentile(refits, 100 - tail, axis=1)
    return np.minimum(low, curves[:, 0, :]), np.maximum(high, curves[:, 0, :])


def load_survival_model(path: Path, card: dict) -> SurvivalModel:
    """Build the model from a verified bundle folder (``risk.npz`` or ``model.keras``, ``survival.npz``)."""
    import json

    with np.load(Path(path) / "survival.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    risk = load_risk(card["architecture"]["family"], Path(path))
    evaluation = json.loads((Path(path) / "evaluation.json").read_text(encoding="utf-8"))
    return SurvivalModel(card["name"], card, risk, arrays, evaluation.get("risk_groups"))
