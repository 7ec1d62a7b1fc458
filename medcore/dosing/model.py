"""The warfarin dosing model: a weekly starting dose with its interval, each factor's effect, the IWPC baselines.

The shipped predictor (chosen by cross-validated MAE among ridge regression, boosted trees, a
small Keras network and their mean, all on sqrt(dose)) reads the factors of ``data.factors``.
The 95 % interval adds the cross-validated residual quantiles on the sqrt scale. A patient whose
height or weight lies outside the training range gets no dose and the reason; implausible values
are refused by ``data.read_frame``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.core.shapley import coalitions, exact_shapley
from medcore.core.trees import leaf_values
from medcore.dosing.data import (
    CYP2C9,
    FACTOR_NAMES,
    HEIGHT,
    VKORC1,
    WEIGHT,
    factors,
    read_frame,
)
from medcore.dosing.iwpc import baseline_doses
from medcore.dosing.tablets import DEFAULT_STRENGTHS, check_strengths, daily_tablets, week_of_tablets

__all__ = ["DoseModel", "load_dose_model", "GROUPS", "TABLETS", "tablets_for", "weekly_schedule"]

# Factors explained together (one bar each in the waterfall).
GROUPS = {
    "age": ["age_decades"],
    "height": ["height_cm", "height_missing"],
    "weight": ["weight_kg", "weight_missing"],
    "VKORC1 genotype": ["vkorc1_AG", "vkorc1_AA", "vkorc1_unknown"],
    "CYP2C9 genotype": ["cyp2c9_12", "cyp2c9_13", "cyp2c9_22", "cyp2c9_23", "cyp2c9_33", "cyp2c9_unknown"],
    "race": ["asian", "black", "race_unknown"],
    "enzyme inducer": ["enzyme_inducer"],
    "amiodarone": ["amiodarone"],
    "sex": ["female"],
    "indication": [n for n in FACTOR_NAMES if n.startswith("indication_")],
    "target INR": ["target_inr"],
    "other medicines and conditions": list(FACTOR_NAMES[FACTOR_NAMES.index("target_inr") + 1 :]),
}
TABLETS = (1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 10.0)  # warfarin tablet strengths, mg


def tablets_for(dose: float, *, strengths: Iterable[float] | None = None) -> list[float]:
    """The fewest tablets making ``dose`` mg, or [] if none do.

    Without ``strengths``: at most three, of any ``TABLETS`` strength (as before). With them: only
    those strengths, at most ``tablets.MAX_TABLETS_PER_DAY``.
    """
    if strengths is not None:
        return daily_tablets(dose, strengths)
    for count in (1, 2, 3):
        for combo in itertools.combinations_with_replacement(sorted(TABLETS, reverse=True), count):
            if abs(sum(combo) - dose) < 1e-9:
                return list(combo)
    return []


def _tablet_text(dose: float) -> str:
    combo = tablets_for(dose)
    if combo:
        return " + ".join(f"{t:g}" for t in combo) + " mg tablets"
    return f"half a {2 * dose:g} mg tablet" if 2 * dose in TABLETS else "split tablets"


def weekly_schedule(weekly: float, step: float = 0.5, *, strengths: Iterable[float] | None = None) -> dict:
    """A week of daily doses (two levels at most) closest to ``weekly`` mg.

    Without ``strengths`` (the API and CLI): multiples of ``step`` mg from any ``TABLETS`` strength,
    halves allowed. With ``strengths``: whole tablets of those strengths only, and an honest note
    when they cannot make the dose (``tablets.week_of_tablets``; ``step`` is then unused).

    Returns:
        ``{"days": [7 daily doses], "total", "text"}``; with ``strengths`` also ``"by_day"``,
        ``"doses"``, ``"strengths"``, ``"difference"`` and ``"note"``.

    Raises:
        InvalidInputError: ``strengths`` given but empty or not positive numbers of mg.
    """
    if strengths is not None:
        return week_of_tablets(weekly, strengths)
    per_day = weekly / 7
    low = max(step, np.floor(per_day / step) * step)
    high = low + step
    best = min(((k, abs(k * high + (7 - k) * low - weekly)) for k in range(8)), key=lambda t: t[1])[0]
    days = [float(high)] * best + [float(low)] * (7 - best)
    parts = [
        f"{dose:g} mg ({_tablet_text(dose)}) on {count} day{'s' if count > 1 else ''}"
        for dose, count in ((high, best), (low, 7 - best))
        if count
    ]
    return {"days": days, "total": float(sum(days)), "text": " and ".join(parts) + f" ({sum(days):g} mg/week)"}


class DoseModel:
    """A loaded warfarin-dose bundle (stateless after loading; one object serves every session)."""

    kind = "dosing"
    labels = ("weekly dose (mg)",)

    def __init__(self, name: str, card: dict, arrays: dict[str, np.ndarray], network):
        self.name = name
        self.card = card
        self.tasks = ["weekly dose (mg)"]
        self.predictor = card["architecture"]["predictor"]
        self._arrays = arrays
        self._network = network
        self._medians = card["preprocessing"]["medians"]
        self._mean = np.asarray(card["preprocessing"]["factor_mean"])
        self._scale = np.asarray(card["preprocessing"]["factor_scale"])
        self._quantiles = card["interval"]["sqrt_residual_quantiles"]
        self._ranges = card["domain_check"]["ranges"]
        self.reference = card["explanation"]["reference"]

    # ----- prediction -----------------------------------------------------------------------------
    def _factors(self, frame) -> pd.DataFrame:
        return factors(read_frame(frame), self._medians)

    def _root(self, x: pd.DataFrame) -> np.ndarray:
        """Predicted sqrt(weekly dose) of factor rows."""
        z = (x.to_numpy(dtype=float) - self._mean) / self._scale
        parts = []
        if self.predictor in ("ridge", "ensemble"):
            parts.append(self._arrays["ridge_coef"] @ z.T + float(self._arrays["ridge_intercept"]))
        if self.predictor in ("trees", "ensemble"):
            parts.append(
                float(self._arrays["tree_base"])
                + float(self._arrays["tree_rate"])
                * leaf_values(
                    {
                        k[5:]: v
                        for k, v in self._arrays.items()
                        if k.startswith("tree_") and k not in ("tree_base", "tree_rate")
                    },
                    z,
                ).sum(axis=1)
            )
        if self.predictor in ("network", "ensemble"):
            import tensorflow as tf

            parts.append(self._network(tf.constant(z, dtype=tf.float32), training=False).numpy()[:, 0])
        return np.maximum(np.mean(parts, axis=0), 0.5)

    def predict_dose(self, frame) -> np.ndarray:
        """Weekly dose (mg) for each patient (IWPC column names; missing values allowed)."""
        return self._root(self._factors(frame)) ** 2

    def interval(self, frame) -> np.ndarray:
        """(N, 2) 95 % prediction interval of the weekly dose (cross-validated residuals, sqrt scale)."""
        root = self._root(self._factors(frame))
        low, high = self._quantiles
        return np.stack([np.maximum(root + low, 0.0) ** 2, (root + high) ** 2], axis=1)

    def baselines(self, frame) -> dict[str, np.ndarray]:
        """The IWPC pharmacogenetic and clinical doses and the fixed 35 mg/week for each patient."""
        return baseline_doses(self._factors(frame))

    # ----- checks and results -----------------------------------------------------------------------
    def domain_reasons(self, frame) -> list[list[str]]:
        """Per patient, why it lies outside the training data (height or weight beyond the range seen)."""
        checked = read_frame(frame)
        out = []
        for _, row in checked.iterrows():
            reasons = []
            for column in (HEIGHT, WEIGHT):
                value = row.get(column)
                low, high = self._ranges[column]
                if pd.notna(value) and not low <= float(value) <= high:
                    reasons.append(
                        f"{column} {float(value):g} lies outside the training patients' range ({low:g}-{high:g}); "
                        "the model has not seen such patients, so it gives no dose."
                    )
            out.append(reasons)
        return out

    def analyse(self, frame, strengths: Iterable[float] | None = None) -> list[dict]:
        """Per patient: dose, interval, schedule, baselines and notes, or ``out_of_domain`` and why.

        ``schedule`` is the week of whole tablets of ``strengths`` (mg; default
        ``tablets.DEFAULT_STRENGTHS``), the same plan the page shows for the strengths chosen there.
        """
        stocked = check_strengths(DEFAULT_STRENGTHS if strengths is None else strengths)
        checked = read_frame(frame)
        x = factors(checked, self._medians)
        root = self._root(x)
        base = baseline_doses(x)
        low_q, high_q = self._quantiles
        reasons = self.domain_reasons(checked)
        results = []
        for i in range(len(checked)):
            notes = []
            for column, key in ((HEIGHT, "height_cm"), (WEIGHT, "weight_kg")):
                if column not in checked.columns or pd.isna(checked[column].iloc[i]):
                    notes.append(f"{column} missing: the training median {self._medians[key]:g} was used.")
            if CYP2C9 not in checked.columns or pd.isna(checked[CYP2C9].iloc[i]):
                notes.append("CYP2C9 not tested: the dose is less certain; see how each genotype would change it.")
            if x["vkorc1_unknown"].iloc[i] == 1:
                notes.append("VKORC1 not tested: the dose is less certain; see how each genotype would change it.")
            elif VKORC1 not in checked.columns or pd.isna(checked[VKORC1].iloc[i]):
                notes.append("VKORC1 -1639 imputed from the other VKORC1 variants (IWPC rules).")
            result = {
                "out_of_domain": bool(reasons[i]),
                "reason": " ".join(reasons[i]) or None,
                "notes": notes,
                "baselines": {k: float(v[i]) for k, v in base.items()},
            }
            if not reasons[i]:
                dose = float(root[i] ** 2)
                result.update(
                    dose=dose,
                    interval=[float(max(root[i] + low_q, 0.0) ** 2), float((root[i] + high_q) ** 2)],
                    schedule=week_of_tablets(dose, stocked),
                )
            else:
                result.update(dose=None, interval=None, schedule=None)
            results.append(result)
        return results

    def explain(self, row) -> dict:
        """Each factor group's effect on this patient's dose (mg/week) against the reference patient.

        Exact Shapley values of the predicted dose over ``GROUPS``: they add up to the patient's dose
        minus the reference patient's.
        """
        checked = read_frame(row)
        if len(checked) != 1:
            raise InvalidInputError(f"explain takes one patient; got {len(checked)} rows.")
        patient = factors(checked, self._medians).iloc[0]
        reference = pd.Series(self.reference)[list(FACTOR_NAMES)]
        names = list(GROUPS)
        masks = coalitions(len(names))
        columns = {name: i for i, name in enumerate(FACTOR_NAMES)}
        mixed = np.repeat(reference.to_numpy(dtype=float)[None, :], len(masks), axis=0)
        for g, group in enumerate(names):
            idx = [columns[c] for c in GROUPS[group]]
            mixed[np.ix_(masks[:, g], idx)] = patient.to_numpy(dtype=float)[idx]
        doses = self._root(pd.DataFrame(mixed, columns=FACTOR_NAMES)) ** 2
        phi = exact_shapley(doses, len(names))
        # An untested genotype is not a genotype: its effect is the training patients' average for "unknown".
        untested = {
            group: f"{group.split()[0]} not tested (average effect)"
            for group in ("CYP2C9 genotype", "VKORC1 genotype")
            if patient[GROUPS[group][-1]] == 1
        }
        effects = sorted(
            ({"factor": untested.get(g, g), "mg_per_week": float(v)} for g, v in zip(names, phi)),
            key=lambda e: -abs(e["mg_per_week"]),
        )
        return {
            "reference_dose": float(doses[0]),
            "dose": float(doses[-1]),
            "effects": effects,
            "method": "exact Shapley values of the predicted weekly dose over factor groups, against the reference "
            "patient (the training patients' medians and most common categories)",
        }

    def genotype_doses(self, row) -> list[dict]:
        """The patient's dose under each VKORC1 x common CYP2C9 genotype (what testing could change)."""
        checked = read_frame(row)
        if len(checked) != 1:
            raise InvalidInputError(f"genotype_doses takes one patient; got {len(checked)} rows.")
        pairs = list(itertools.product(("G/G", "A/G", "A/A"), ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")))
        variants = pd.concat([checked] * len(pairs), ignore_index=True)  # one prediction for all 18
        variants[VKORC1], variants[CYP2C9] = [vk for vk, _ in pairs], [cyp for _, cyp in pairs]
        doses = self.predict_dose(variants)
        return [{"VKORC1": vk, "CYP2C9": cyp, "dose": float(d)} for (vk, cyp), d in zip(pairs, doses)]


def load_dose_model(path: Path, card: dict) -> DoseModel:
    """Build the model from a verified bundle folder."""
    folder = Path(path)
    with np.load(folder / "dosing.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    network = None
    if (folder / "network.keras").is_file():
        import keras

        network = keras.saving.load_model(folder / "network.keras", compile=False, safe_mode=True)
    return DoseModel(card["name"], card, arrays, network)
