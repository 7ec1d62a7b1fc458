"""Print each molecule model's validation-scaffold figures beside its candidates and anchors, and its speed.

Not a test; nothing is asserted. Reproduce with:
    .venv/bin/python benchmarks/molecules.py

Quality comes from the bundles' cards (the scaffold split's validation part; it also chose the
predictor, so the figures are optimistic); the anchors are published scaffold-split TEST figures,
which only the withheld test parts can be compared with. Speed: load time, one SMILES through
``analyse``, ``explain`` and ``neighbours``, and 1,000 SMILES through ``analyse``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks.timing import median_ms  # noqa: E402

MODELS = ("drug-bbbp", "drug-tox21", "drug-esol")
SMILES = ["CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21", "CCCCCCO"]


def _figure(metrics: dict, key: str) -> str:
    value, interval = metrics.get(key), metrics.get(f"{key}_ci95")
    if value is None:
        return "-"
    return f"{value:.3f} ({interval[0]:.3f}-{interval[1]:.3f})" if interval else f"{value:.3f}"


def _speeds(name: str) -> tuple[float, ...]:
    import medcore

    started = time.perf_counter()
    model = medcore.load_model(name)
    load_s = time.perf_counter() - started
    batch = (SMILES * 250)[:1000]
    return (
        load_s,
        median_ms(lambda: model.analyse(SMILES[:1]), 10),
        median_ms(lambda: model.explain(SMILES[0]), 10),
        median_ms(lambda: model.neighbours(SMILES[0], 5), 10),
        median_ms(lambda: model.analyse(batch), 2),
    )


def main() -> None:
    import medcore

    print("| model | predictor | n | headline (95 % CI) | calibration | published scaffold-test anchors |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        card = medcore.read_card(name)
        validation = card["metrics"]["validation"]
        key = "rmse" if card["regression"] else "auc"
        rows = [(card["architecture"]["predictor"] + " (shipped)", validation)] + list(validation["baselines"].items())
        anchors = "; ".join(
            f"{k} {v}" for k, v in card["anchors"]["published scaffold-split test figures (SOURCE.md)"].items()
        )
        for predictor, metrics in rows:
            extra = _figure(metrics, "ece") if key == "auc" else _figure(metrics, "interval_coverage")
            print(f"| {name} | {predictor} | {metrics['n']} | {key} {_figure(metrics, key)} | {extra} | {anchors} |")
    print("\n| model | load (s) | analyse 1 (ms) | explain (ms) | neighbours (ms) | analyse 1,000 (ms) |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        load_s, one, explain, near, batch = _speeds(name)
        print(f"| {name} | {load_s:.1f} | {one:.0f} | {explain:.0f} | {near:.0f} | {batch:.0f} |")


if __name__ == "__main__":
    main()
