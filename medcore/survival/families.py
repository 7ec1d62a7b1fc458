"""The model families a survival model is chosen from, all of the Cox form.

Each family learns a log-hazard ``f(x)`` from the standardised design matrix; the survival
curve is then ``S(t | x) = exp(-H0(t) exp(f(x)))`` with ``H0`` the Breslow baseline cumulative
hazard of the same training rows (``breslow``), so every curve is non-increasing in [0, 1].

- ``cox``: linear Cox proportional hazards (scikit-survival ``CoxPHSurvivalAnalysis``, Efron
  ties, a small ridge penalty), stored as its coefficients.
- ``gbm``: gradient-boosted regression trees on the Cox partial likelihood (scikit-survival
  ``GradientBoostingSurvivalAnalysis``), stored as plain node arrays and evaluated in NumPy.
- ``neural``: a DeepSurv-style multilayer perceptron in Keras trained on the negative Cox
  partial log-likelihood, stored as ``model.keras``.
- ``blend``: ``w * cox + (1 - w) * gbm``, the two log-hazards mixed with a weight on Cox chosen
  by cross-validated C (``medcore.survival.train``), stored as both in one ``risk.npz``.

A fitted family holds ``M`` members: member 0 is the fit on all rows, the others are fits on
bootstrap resamples of them (the band around a patient's curve). ``log_hazards(X)`` returns
(N, M). Nothing here is pickled.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from medcore.core.trees import export_trees, leaf_values

__all__ = [
    "FAMILIES",
    "SETTINGS",
    "breslow",
    "fit_family",
    "LinearRisk",
    "TreeRisk",
    "NeuralRisk",
    "BlendRisk",
    "BLEND_WEIGHTS",
    "family_label",
    "load_risk",
]

FAMILIES = ("cox", "gbm", "neural", "blend")
BLEND_WEIGHTS = tuple(i / 10 for i in range(11))  # the weights on Cox tried: 0.0, 0.1, ..., 1.0
SETTINGS: dict[str, dict] = {
    "cox": {"alpha": 0.01, "ties": "efron"},
    "gbm": {"n_estimators": 200, "learning_rate": 0.05, "max_depth": 2, "min_samples_leaf": 20, "subsample": 0.8},
    "blend": {"parts": ["cox", "gbm"], "weights_tried": list(BLEND_WEIGHTS)},
    "neural": {
        "hidden": [32, 32],
        "dropout": 0.1,
        "l2": 1e-4,
        "learning_rate": 3e-3,
        "max_epochs": 400,
        "patience": 30,
        "inner_validation": 0.2,
    },
}


_FAMILY_NAMES = {
    "cox": "Cox regression",
    "gbm": "gradient-boosted Cox trees",
    "neural": "DeepSurv network",
}


def family_label(architecture: dict) -> str:
    """A card's model in words: "gradient-boosted Cox trees", or for the blend
    "0.4 x Cox regression + 0.6 x gradient-boosted Cox trees (on the log-hazard)"."""
    family = architecture["family"]
    if family != "blend":
        return _FAMILY_NAMES.get(family, family)
    weight = float(architecture["settings"]["weight_on_cox"])
    return f"{weight:.1f} x {_FAMILY_NAMES['cox']} + {1 - weight:.1f} x {_FAMILY_NAMES['gbm']} (on the log-hazard)"


def breslow(log_hazard: np.ndarray, time: np.ndarray, event: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Breslow baseline cumulative hazard ``H0`` at the times of ``grid`` (non-decreasing, H0(0) = 0).

    Args:
        log_hazard: (N,) the model's log-hazards of the training rows.
        time, event: (N,) durations and event indicators of the same rows.
        grid: (T,) increasing times.
    """
    risk = np.exp(log_hazard - log_hazard.max())  # shift for overflow; undone below
    order = np.argsort(time)
    time, event, risk = time[order], event[order].astype(bool), risk[order]
    at_risk = np.cumsum(risk[::-1])[::-1]  # sum of risk over rows with time >= t_i
    event_times = np.unique(time[event])
    first = np.searchsorted(time, event_times, side="left")
    deaths = np.bincount(np.searchsorted(event_times, time[event]), minlength=len(event_times)).astype(np.float64)
    increments = deaths / at_risk[first]
    cumulative = np.concatenate([[0.0], np.cumsum(increments)])
    hazard = cumulative[np.searchsorted(event_times, grid, side="right")]
    return hazard * np.exp(-log_hazard.max())


class LinearRisk:
    """Members' linear log-hazards: ``X @ beta[m]``."""

    family = "cox"

    def __init__(self, beta: np.ndarray):
        self.beta = np.asarray(beta, dtype=np.float64)  # (M, d)

    def log_hazards(self, design: np.ndarray, first_only: bool = False) -> np.ndarray:
        beta = self.beta[:1] if first_only else self.beta
        return np.asarray(design, dtype=np.float64) @ beta.T

    def save(self, folder: Path) -> dict[str, Path]:
        path = Path(folder) / "risk.npz"
        np.savez(path, beta=self.beta)
        return {"risk.npz": path}


class TreeRisk:
    """Members' boosted trees: ``offset[m] + learning_rate * sum of tree values``, traversed in NumPy."""

    family = "gbm"

    def __init__(self, arrays: dict[str, np.ndarray]):
        # medcore.core.trees node arrays, plus tree_member, offset and learning_rate
        self.arrays = arrays

    @classmethod
    def from_estimators(cls, fitted: list, design: np.ndarray) -> TreeRisk:
        """Export scikit-survival boosting models (one per member) to node arrays; checks the export."""
        x32 = np.asarray(design, dtype=np.float32)
        trees = [list(np.asarray(model.estimators_).ravel()) for model in fitted]
        arrays = export_trees([tree for member in trees for tree in member])
        members = np.repeat(np.arange(len(fitted)), [len(member) for member in trees])
        lr = fitted[0].learning_rate
        leaves = leaf_values(arrays, x32)
        offsets = [
            float(np.mean(model.predict(x32) - lr * leaves[:, members == m].sum(axis=1)))
            for m, model in enumerate(fitted)
        ]
        arrays.update(tree_member=members, offset=np.array(offsets), learning_rate=np.array(lr))
        risk = cls(arrays)
        exported = risk.log_hazards(design)
        for member, model in enumerate(fitted):
            if not np.allclose(exported[:, member], model.predict(x32), atol=1e-6):
                raise RuntimeError("the exported trees do not reproduce scikit-survival's predictions")
        return risk

    def log_hazards(self, design: np.ndarray, first_only: bool = False) -> np.ndarray:
        a = self.arrays
        if first_only:  # member 0's trees only (explanations evaluate thousands of rows)
            a = {
                **a,
                "tree_start": a["tree_start"][a["tree_member"] == 0],
                "tree_member": a["tree_member"][a["tree_member"] == 0],
            }
        values = leaf_values(a, design) * float(a["learning_rate"])  # (N, trees)
        members = int(a["tree_member"].max()) + 1
        out = np.zeros((len(values), members))
        for member in range(members):
            out[:, member] = values[:, a["tree_member"] == member].sum(axis=1) + a["offset"][member]
        return out

    def save(self, folder: Path) -> dict[str, Path]:
        path = Path(folder) / "risk.npz"
        np.savez(path, **self.arrays)
        return {"risk.npz": path}


class NeuralRisk:
    """Members' DeepSurv networks, joined into one Keras model with M outputs."""

    family = "neural"

    def __init__(self, network):
        self.network = network

    def log_hazards(self, design: np.ndarray, first_only: bool = False) -> np.ndarray:
        import tensorflow as tf

        out = np.asarray(
            self.network(tf.constant(np.asarray(design, dtype=np.float32)), training=False), dtype=np.float64
        )
        return out[:, :1] if first_only else out

    def save(self, folder: Path) -> dict[str, Path]:
        path = Path(folder) / "model.keras"
        self.network.save(path)
        return {"model.keras": path}


class BlendRisk:
    """Members' ``weight * cox + (1 - weight) * gbm`` log-hazards (member m mixes the two m-th fits)."""

    family = "blend"

    def __init__(self, cox: LinearRisk, gbm: TreeRisk, weight: float):
        self.cox, self.gbm, self.weight = cox, gbm, float(weight)

    def log_hazards(self, design: np.ndarray, first_only: bool = False) -> np.ndarray:
        cox = self.cox.log_hazards(design, first_only)
        gbm = self.gbm.log_hazards(design, first_only)
        return self.weight * cox + (1.0 - self.weight) * gbm

    def save(self, folder: Path) -> dict[str, Path]:
        path = Path(folder) / "risk.npz"
        np.savez(path, beta=self.cox.beta, blend_weight=np.array(self.weight), **self.gbm.arrays)
        return {"risk.npz": path}


def load_risk(family: str, folder: Path):
    """The stored risk function of a bundle."""
    if family == "cox":
        with np.load(Path(folder) / "risk.npz", allow_pickle=False) as data:
            return LinearRisk(data["beta"])
    if family == "gbm":
        with np.load(Path(folder) / "risk.npz", allow_pickle=False) as data:
            return TreeRisk({k: data[k] for k in data.files})
    if family == "blend":
        with np.load(Path(folder) / "risk.npz", allow_pickle=False) as data:
            trees = {k: data[k] for k in data.files if k not in ("beta", "blend_weight")}
            return BlendRisk(LinearRisk(data["beta"]), TreeRisk(trees), float(data["blend_weight"]))
    if family == "neural":
        import keras

        return NeuralRisk(keras.saving.load_model(Path(folder) / "model.keras", compile=False, safe_mode=True))
    raise ValueError(f"unknown survival family '{family}'")


def fit_family(
    family: str,
    design: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    members: int = 1,
    seed: int = 0,
    epochs: int | None = None,
    blend_weight: float = 0.5,
):
    """Fit ``family`` on the rows (member 0) and on ``members - 1`` bootstrap resamples of them.

    Args:
        design: (N, d) standardised float32 design matrix.
        time, event: (N,) durations and event indicators.
        members: 1 + the number of bootstrap refits.
        seed: seeds the resamples and every fit.
        epochs: the neural family's maximum epochs (default ``SETTINGS``).
        blend_weight: the blend's weight on Cox.

    Returns:
        ``(risk, samples)``: ``LinearRisk``, ``TreeRisk``, ``NeuralRisk`` or ``BlendRisk`` with ``members``
        members, and the row indices each member was fitted on (for its Breslow baseline).
    """
    rng = np.random.default_rng(seed)
    samples = [np.arange(len(time))] + [rng.integers(0, len(time), len(time)) for _ in range(members - 1)]
    if family in ("cox", "gbm", "blend"):
        cox = gbm = None
        if family != "gbm":
            cox = LinearRisk(np.stack([_fit_cox(design[s], time[s], event[s]) for s in samples]))
        if family != "cox":
            fitted = [_fit_gbm(design[s], time[s], event[s], seed + i) for i, s in enumerate(samples)]
            gbm = TreeRisk.from_estimators(fitted, design)
        return (BlendRisk(cox, gbm, blend_weight) if family == "blend" else cox or gbm), samples
    if family == "neural":
        networks = [_fit_network(design[s], time[s], event[s], seed + i, epochs) for i, s in enumerate(samples)]
        return NeuralRisk(_joined(networks, design.shape[1])), samples
    raise ValueError(f"unknown survival family '{family}'; known: {', '.join(FAMILIES)}")


def _structured(time: np.ndarray, event: np.ndarray):
    from sksurv.util import Surv

    return Surv.from_arrays(event.astype(bool), time.astype(np.float64))


def _fit_cox(design, time, event) -> np.ndarray:
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    model = CoxPHSurvivalAnalysis(**SETTINGS["cox"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(np.asarray(design, dtype=np.float64), _structured(time, event))
    return model.coef_


def _fit_gbm(design, time, event, seed: int):
    from sksurv.ensemble import GradientBoostingSurvivalAnalysis

    model = GradientBoostingSurvivalAnalysis(loss="coxph", random_state=seed, **SETTINGS["gbm"])
    return model.fit(np.asarray(design, dtype=np.float32), _structured(time, event))


def _cox_loss(y_true, y_pred):
    """Negative Cox partial log-likelihood (Breslow), rows sorted by decreasing time."""
    import tensorflow as tf

    event = y_true[:, 1]
    log_hazard = y_pred[:, 0]
    log_risk_set = tf.math.cumulative_logsumexp(log_hazard)
    return -tf.reduce_sum((log_hazard - log_risk_set) * event) / tf.maximum(tf.reduce_sum(event), 1.0)


def _network(inputs: int, seed: int):
    import keras

    s = SETTINGS["neural"]
    x = layer_in = keras.Input((inputs,))
    for index, width in enumerate(s["hidden"]):
        x = keras.layers.Dense(
            width,
            activation="relu",
            kernel_regularizer=keras.regularizers.l2(s["l2"]),
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 10 + index),
        )(x)
        x = keras.layers.Dropout(s["dropout"], seed=seed)(x)
    out = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    return keras.Model(layer_in, out)


def _fit_network(design, time, event, seed: int, epochs: int | None = None):
    import keras

    s = SETTINGS["neural"]
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    inner = rng.random(len(time)) < s["inner_validation"]
    if event[inner].sum() < 5 or event[~inner].sum() < 5:  # tiny data: no early stopping split
        inner = np.zeros(len(time), dtype=bool)

    def sorted_part(mask):
        order = np.argsort(-time[mask], kind="stable")
        x = np.asarray(design[mask][order], dtype=np.float32)
        y = np.stack([time[mask][order], event[mask][order]], axis=1).astype(np.float32)
        return x, y

    x_fit, y_fit = sorted_part(~inner)
    network = _network(design.shape[1], seed)
    network.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]), loss=_cox_loss)
    callbacks, validation = [], None
    if inner.any():
        validation = sorted_part(inner)
        callbacks = [keras.callbacks.EarlyStopping(patience=s["patience"], restore_best_weights=True)]
    network.fit(
        x_fit,
        y_fit,
        batch_size=len(x_fit),
        epochs=epochs or s["max_epochs"],
        shuffle=False,
        verbose=0,
        validation_data=validation,
        callbacks=callbacks,
    )
    return network


def _joined(networks: list, inputs: int):
    """One inference model whose output m is network m's log-hazard (N, M)."""
    import keras

    layer_in = keras.Input((inputs,))
    outputs = [network(layer_in, training=False) for network in networks]
    joined = keras.layers.Concatenate()(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(layer_in, joined)
