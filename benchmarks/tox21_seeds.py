"""Print whether averaging several graph networks (seeds) helps drug-tox21 on its validation scaffolds.

Not a test; nothing is asserted. Reproduce with (about 10 minutes on 2 cores):
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/tox21_seeds.py [SEEDS]

Issue 30 suggests fingerprint + graph ensembles for Tox21. The shipped model already averages a
random forest (Morgan bits + RDKit descriptors) with one multi-task graph network. This trains the
shipped recipe into a temporary folder with the network replaced by the mean of ``SEEDS`` (default
3) networks, each early-stopped as the trainer does (seeds 0, 1, ...), and prints the validation
AUC of the forest, the network(s) and their average beside the shipped card's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(seeds: int) -> None:
    import keras

    import medcore.molecules.network as net
    from medcore.core.settings import models_dir
    from medcore.molecules.train import train_molecule_model

    single = net.fit_network

    def averaged(train, y_train, valid, y_valid, regression, seed=0, progress=None, epochs=None):
        fitted = [single(train, y_train, valid, y_valid, regression, seed + k, progress, epochs) for k in range(seeds)]
        names = ["atoms", "adjacency", "mask", "descriptors"]
        inputs = [keras.Input(shape=t.shape[1:], name=n) for t, n in zip(fitted[0][0].inputs, names)]
        mean = keras.layers.Average(name="seeds_mean")([network(inputs) for network, _, _ in fitted])
        return keras.Model(inputs, mean), max(run for _, run, _ in fitted), fitted[0][2]

    net.fit_network = averaged
    shipped = json.loads((models_dir() / "drug-tox21" / "evaluation.json").read_text())["candidates"]
    with tempfile.TemporaryDirectory() as tmp:
        path = train_molecule_model(
            "drug-tox21", os.environ.get("MEDCORE_DATA_DIR", "../shared/data"), out_dir=Path(tmp) / "m"
        )
        candidates = json.loads((path / "evaluation.json").read_text())["candidates"]
    print("validation-scaffold mean AUC (n=779 molecules)")
    for key in ("forest", "network", "ensemble"):
        print(
            f"  {key:8s} shipped (1 network) {shipped[key]['auc']:.4f}   {seeds} networks {candidates[key]['auc']:.4f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
