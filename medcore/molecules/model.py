"""The molecule model: properties from SMILES, per-atom explanations, nearest training molecules, domain verdict.

A shipped model is one of three predictors chosen on the validation scaffolds: a random forest
on Morgan fingerprints + RDKit descriptors (stored as node arrays, ``forest.npz``), the Keras
graph network (``network.keras``), or their mean. Binary tasks get Platt-calibrated
probabilities; the regression task a 95 % interval (the forest's tree spread, scaled on the
validation scaffolds to cover 95 %). A molecule whose nearest training molecule is less similar
(Tanimoto on Morgan bits) than the card's threshold is outside the applicability domain: no
prediction, and the nearest molecules are shown instead; so is a lone counter-ion (``chem``).

Each binary task's answer is a decision at a stated threshold: the card's operating point when it
records one, else 0.50 on the calibrated probability (even odds). ``neighbours`` cautions when close
training molecules (Tanimoto >= ``AGREEMENT_CUT``) were measured both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.core.trees import leaf_values
from medcore.core.validate import check_count
from medcore.molecules.chem import Parsed, parse, parse_many
from medcore.molecules.data import task_words
from medcore.molecules.features import FP_BITS, descriptors, fingerprints, graphs, morgan_atoms, tanimoto

__all__ = ["MoleculeModel", "load_molecule_model", "decision_threshold", "decision", "AGREEMENT_CUT"]

EVEN_ODDS = 0.5
AGREEMENT_CUT = 0.5  # neighbours at least this similar (Tanimoto) should agree; if not, a caution
_EVEN_ODDS_BASIS = (
    "even odds on a probability calibrated on the validation scaffolds; the model card records no other operating point"
)


def decision_threshold(card: dict, task: str) -> tuple[float, str]:
    """(threshold, where it comes from) for one binary task: the card's operating point if it records one
    (a number, or one per task), else 0.50 on the calibrated probability."""
    point = card.get("operating_point", {})
    threshold = point.get("threshold")
    if isinstance(threshold, dict):
        threshold = threshold.get(task)
    if threshold is None:
        return EVEN_ODDS, _EVEN_ODDS_BASIS
    return float(threshold), str(point.get("chosen_on", "the operating point the model card records"))


def decision(card: dict, task: str, probability: float) -> dict:
    """One task's yes/no at its threshold, in words: ``{"positive", "probability", "threshold", "basis",
    "text"}``, e.g. "crosses the blood-brain barrier: yes (P 0.91, above the 0.50 threshold)"."""
    threshold, basis = decision_threshold(card, task)
    positive = bool(probability >= threshold)
    digits = 3 if abs(probability - threshold) < 0.005 else 2  # never "P 0.50, below the 0.50 threshold"
    side = ("at" if probability == threshold else "above") if positive else "below"
    return {
        "positive": positive,
        "probability": float(probability),
        "threshold": threshold,
        "basis": basis,
        "text": f"{task_words(task)}: {'yes' if positive else 'no'} "
        f"(P {probability:.{digits}f}, {side} the {threshold:.2f} threshold)",
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class MoleculeModel:
    """A loaded molecule bundle (stateless after loading; one object serves every session)."""

    kind = "molecule"

    def __init__(self, name: str, card: dict, arrays: dict[str, np.ndarray], forest: dict | None, network):
        self.name = name
        self.card = card
        self.tasks: list[str] = list(card["tasks"])
        self.labels = self.tasks
        self.regression: bool = bool(card["regression"])
        self.predictor: str = card["architecture"]["predictor"]  # "forest", "network" or "ensemble"
        self._arrays = arrays
        self._forest = forest
        self._network = network
        self._threshold = float(card["domain_check"]["threshold"])
        self._bits = np.unpackbits(arrays["train_fingerprints"], axis=1)[:, :FP_BITS]

    # ----- features and raw predictions -------------------------------------------------------------
    def _descriptors(self, mols: list) -> np.ndarray:
        raw = descriptors(mols)
        return np.clip((raw - self._arrays["descriptor_mean"]) / self._arrays["descriptor_scale"], -10, 10).astype(
            np.float32
        )

    def _forest_trees(self, fp: np.ndarray, desc_raw: np.ndarray) -> np.ndarray:
        """Every tree's output (N, trees) on [fingerprint bits, raw descriptors]."""
        return leaf_values(self._forest, np.hstack([fp.astype(np.float32), desc_raw]))

    def _forest_predict(self, fp: np.ndarray, desc_raw: np.ndarray, trees: np.ndarray | None = None) -> np.ndarray:
        """Each task's forest mean (N, tasks); ``trees`` (from ``_forest_trees``) when already walked."""
        trees = self._forest_trees(fp, desc_raw) if trees is None else trees
        task_of = self._forest["tree_task"]
        return np.stack([trees[:, task_of == t].mean(axis=1) for t in range(len(self.tasks))], axis=1)

    def _network_predict(self, mols: list, desc: np.ndarray) -> np.ndarray:
        from medcore.molecules.network import network_predict

        x, codes, mask = graphs(mols)
        raw = network_predict(self._network, (x, codes, mask, desc))
        if self.regression:
            return raw * self._arrays["target_scale"] + self._arrays["target_mean"]
        return _sigmoid(raw)

    def _predict_mols(self, mols: list, fp: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Calibrated predictions (N, tasks) and, for regression, the 95 % half-width (N, tasks).

        ``fp``: the molecules' fingerprints when the caller has them already.
        """
        fp = fingerprints(mols) if fp is None else fp
        desc_raw = descriptors(mols)
        parts = []
        spread = None
        if self.predictor in ("forest", "ensemble"):
            trees = self._forest_trees(fp, desc_raw)  # walked once: the mean and, for regression, the spread
            parts.append(self._forest_predict(fp, desc_raw, trees))
            if self.regression:
                spread = trees.std(axis=1, keepdims=True)
        if self.predictor in ("network", "ensemble"):
            desc = np.clip((desc_raw - self._arrays["descriptor_mean"]) / self._arrays["descriptor_scale"], -10, 10)
            parts.append(self._network_predict(mols, desc.astype(np.float32)))
        combined = np.mean(parts, axis=0)
        if self.regression:
            if spread is None:  # the network alone: a constant width from the validation residuals
                spread = np.ones_like(combined)
            return combined, self._arrays["interval_factor"] * np.maximum(spread, self._arrays["spread_floor"])
        a, b = self._arrays["platt_a"], self._arrays["platt_b"]
        return _sigmoid(a * _logit(combined) + b), None

    # ----- public API ---------------------------------------------------------------------------------
    def predict(self, smiles: list[str]) -> np.ndarray:
        """(N, len(tasks)): calibrated positive-class probabilities, or the predicted value (regression);
        NaN for a lone counter-ion (no prediction).

        Raises:
            InvalidInputError: a SMILES that cannot be read (named with its position), or too many.
        """
        if isinstance(smiles, str):
            smiles = [smiles]
        check_count(smiles, "max_batch_molecules", "molecules")
        parsed = [parse(text, position) for position, text in enumerate(smiles, start=1)]
        if not parsed:
            return np.zeros((0, len(self.tasks)))
        values = self._predict_mols([p.mol for p in parsed])[0]
        values[[p.counter_ion is not None for p in parsed]] = np.nan
        return values

    def analyse(
        self, smiles: list[str], progress: Callable[[float], None] | None = None, chunk: int = 256
    ) -> list[dict]:
        """One result per SMILES: ``smiles``, ``canonical``, ``notes``, ``error``, ``out_of_domain``,
        ``similarity`` (to the nearest training molecule), ``predictions`` ({task: value}), for binary
        tasks ``decisions`` ({task: ``decision(...)``}) and, for regression, ``interval`` ({task: [low,
        high]}); ``reason`` says why there is no prediction (outside the domain, a lone counter-ion), else
        None. Bad SMILES get ``error``; the rest are predicted."""
        if isinstance(smiles, str):
            smiles = [smiles]
        check_count(smiles, "max_batch_molecules", "molecules")
        parsed = parse_many(list(smiles))
        results: list[dict] = []
        good = [i for i, p in enumerate(parsed) if isinstance(p, Parsed)]
        values = np.zeros((len(parsed), len(self.tasks)))
        widths = np.zeros_like(values)
        similarity = np.zeros(len(parsed))
        for first in range(0, len(good), chunk):
            rows = good[first : first + chunk]
            mols = [parsed[i].mol for i in rows]
            fp = fingerprints(mols)
            predicted, width = self._predict_mols(mols, fp)
            values[rows] = predicted
            if width is not None:
                widths[rows] = width
            similarity[rows] = self._nearest_similarity(fp)
            if progress:
                progress(min(1.0, (first + chunk) / max(len(good), 1)))
        for i, item in enumerate(parsed):
            if isinstance(item, InvalidInputError):
                results.append({"smiles": str(smiles[i]), "error": str(item), "out_of_domain": None, "predictions": {}})
                continue
            result = {
                "smiles": item.smiles,
                "canonical": item.canonical,
                "notes": list(item.notes),
                "error": None,
                "similarity": float(similarity[i]),
                "out_of_domain": bool(similarity[i] < self._threshold or item.counter_ion),
                "reason": None,
                "predictions": {},
            }
            if item.counter_ion:  # chem's note (the last) says so
                result["reason"] = result["notes"][-1]
            elif result["out_of_domain"]:
                result["reason"] = (
                    f"Outside the applicability domain: the most similar training molecule has Tanimoto "
                    f"{similarity[i]:.2f} (< {self._threshold:.2f}). No prediction; see the nearest molecules."
                )
                result["notes"].append(result["reason"])
            else:
                result["predictions"] = {task: float(values[i, j]) for j, task in enumerate(self.tasks)}
                if not self.regression:
                    result["decisions"] = {t: decision(self.card, t, p) for t, p in result["predictions"].items()}
                else:
                    result["interval"] = {
                        task: [float(values[i, j] - widths[i, j]), float(values[i, j] + widths[i, j])]
                        for j, task in enumerate(self.tasks)
                    }
            results.append(result)
        if progress:
            progress(1.0)
        return results

    def _nearest_similarity(self, fp: np.ndarray) -> np.ndarray:
        return tanimoto(fp, self._train_bits()).max(axis=1)

    def _train_bits(self) -> np.ndarray:
        return self._bits

    def training_molecules(self) -> frozenset[str]:
        """Canonical SMILES of the training molecules (computed once), to tell in-sample inputs from new ones."""
        if getattr(self, "_training_canonical", None) is None:
            found = set()
            for smiles in self._arrays["train_smiles"]:
                try:
                    found.add(parse(str(smiles)).canonical)
                except InvalidInputError:
                    continue
            self._training_canonical = frozenset(found)
        return self._training_canonical

    def neighbours(self, smiles: str, k: int = 5) -> dict:
        """The ``k`` most similar training molecules (Tanimoto on Morgan bits) with their labels, and the
        applicability-domain verdict.

        Returns:
            ``{"neighbours": [{"smiles", "similarity", "labels": {task: value or None}, "split"}],
            "in_domain", "similarity", "threshold", "verdict", "agreement_cut", "disagreement"}``;
            ``disagreement`` ({task: {"yes", "no", "close", "text"}}, binary tasks only) names each task whose
            neighbours with Tanimoto >= ``agreement_cut`` were measured both ways. A lone counter-ion is
            never in the domain.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= 50:
            raise InvalidInputError(f"k must be a whole number between 1 and 50; got {k!r}.")
        parsed = parse(smiles)
        similarity = tanimoto(fingerprints([parsed.mol]), self._train_bits())[0]
        order = np.argsort(-similarity, kind="stable")[: int(k)]
        labels = self._arrays["train_labels"]
        found = [
            {
                "smiles": str(self._arrays["train_smiles"][i]),
                "similarity": float(similarity[i]),
                "labels": {
                    t: (None if np.isnan(labels[i, j]) else float(labels[i, j])) for j, t in enumerate(self.tasks)
                },
                "split": "train",
            }
            for i in order
        ]
        best = float(similarity[order[0]])
        inside = best >= self._threshold and parsed.counter_ion is None
        verdict = (
            f"Inside the applicability domain: the nearest training molecule has Tanimoto {best:.2f} "
            f"(threshold {self._threshold:.2f})."
            if inside
            else f"{parsed.canonical} is only a counter-ion ({parsed.counter_ion}): not a drug, so no verdict; the "
            "training molecules below are for reference only."
            if parsed.counter_ion
            else f"Outside the applicability domain: no training molecule is similar (best Tanimoto {best:.2f} < "
            f"{self._threshold:.2f}); predictions for it would be guesses."
        )
        return {
            "neighbours": found,
            "in_domain": inside,
            "similarity": best,
            "threshold": self._threshold,
            "verdict": verdict,
            "agreement_cut": AGREEMENT_CUT,
            "disagreement": {} if self.regression or parsed.counter_ion else self._disagreement(found),
        }

    def _disagreement(self, found: list[dict]) -> dict:
        """Tasks whose close neighbours (Tanimoto >= AGREEMENT_CUT) were measured both yes and no."""
        out = {}
        close = [n for n in found if n["similarity"] >= AGREEMENT_CUT]
        for task in self.tasks:
            measured = [n["labels"][task] for n in close if n["labels"][task] is not None]
            yes, no = sum(v >= 0.5 for v in measured), sum(v < 0.5 for v in measured)
            if yes and no:
                out[task] = {
                    "yes": yes,
                    "no": no,
                    "close": len(close),
                    "text": f"Caution, neighbours disagree: {yes} yes, {no} no. Among the {len(found)} nearest "
                    f"training molecules, those with Tanimoto >= {AGREEMENT_CUT:.2f} were measured both ways "
                    f"({task_words(task)}): close analogues do not settle the answer, so trust the prediction less.",
                }
        return out

    def explain(self, smiles: str, task: str | None = None) -> dict:
        """Per-atom contributions to one task's prediction, for drawing.

        The forest's view (forest and ensemble models): each Morgan bit the molecule sets is switched
        off in turn; the change in the forest's prediction is shared among the atoms at the centre of
        that bit's environments. The network alone: gradient x input of its output over each atom's
        features.

        Returns:
            ``{"smiles", "canonical", "task", "atoms": [contribution per atom], "method", "notes"}``;
            positive raises the probability (or value).
        """
        parsed = parse(smiles)
        task = task or self.tasks[0]
        if task not in self.tasks:
            raise InvalidInputError(f"Unknown task '{task}'; this model's tasks: {', '.join(self.tasks)}.")
        j = self.tasks.index(task)
        mol = parsed.mol
        atoms = np.zeros(mol.GetNumAtoms())
        if self.predictor in ("forest", "ensemble"):
            fp = fingerprints([mol])
            desc_raw = descriptors([mol])
            centres = morgan_atoms(mol)
            bits = sorted(centres)
            variants = np.repeat(fp, len(bits) + 1, axis=0)
            for row, bit in enumerate(bits, start=1):
                variants[row, bit] = 0
            predicted = self._forest_predict(variants, np.repeat(desc_raw, len(bits) + 1, axis=0))[:, j]
            for row, bit in enumerate(bits, start=1):
                share = (predicted[0] - predicted[row]) / len(centres[bit])
                atoms[centres[bit]] += share
            part = "forest part of the ensemble" if self.predictor == "ensemble" else "forest"
            method = (
                f"{part}: change in its uncalibrated prediction when each fingerprint bit is switched off, "
                "shared by the bit's centre atoms"
            )
        else:
            atoms = self._network_gradients(mol, j)
            method = "network: gradient x input of the output over each atom's features"
        return {
            "smiles": parsed.smiles,
            "canonical": parsed.canonical,
            "task": task,
            "atoms": atoms.tolist(),
            "method": method,
            "notes": parsed.notes,
        }

    def _network_gradients(self, mol, task: int) -> np.ndarray:
        import tensorflow as tf

        from medcore.molecules.network import adjacency_channels

        x, codes, mask = graphs([mol])
        n = mol.GetNumAtoms()
        desc = self._descriptors([mol])
        atoms = tf.constant(x[:, :n])
        with tf.GradientTape() as tape:
            tape.watch(atoms)
            out = self._network(
                [atoms, tf.constant(adjacency_channels(codes[:, :n, :n])), tf.constant(mask[:, :n]), tf.constant(desc)],
                training=False,
            )[0, task]
        gradient = tape.gradient(out, atoms).numpy()[0]
        return (gradient * x[0, :n]).sum(axis=1)


def load_molecule_model(path: Path, card: dict) -> MoleculeModel:
    """Build the model from a verified bundle folder."""
    folder = Path(path)
    with np.load(folder / "molecules.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    forest = None
    if (folder / "forest.npz").is_file():
        with np.load(folder / "forest.npz", allow_pickle=False) as data:
            forest = {key: data[key] for key in data.files}
    network = None
    if (folder / "network.keras").is_file():
        import keras

        import medcore.molecules.network  # noqa: F401 - registers the custom layers

        network = keras.saving.load_model(folder / "network.keras", compile=False, safe_mode=True)
    return MoleculeModel(card["name"], card, arrays, forest, network)
