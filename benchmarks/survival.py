"""Print each survival model's cross-validated quality beside its candidates and anchors, and its speed.

Not a test; nothing is asserted. Reproduce with:
    .venv/bin/python benchmarks/survival.py

Quality comes from the bundles' cards (5-fold CV on the DeepSurv train part, pooled out-of-fold
predictions, 95 % bootstrap intervals); the anchors are the published figures on the withheld
test part, which only the final evaluation sees. Speed: load time, one patient through
``analyse`` (curve, band, percentile), ``explain`` (exact Shapley values) and ``what_if``, and
1,000 patients through ``analyse``. The rows are the cohort's median patient with jitter.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402

MODELS = ("survival-gbsg", "survival-metabric", "survival-support")
FIGURES = ("c_index", "auc@5y", "integrated_brier", "calibration_gap@5y")


def _figure(metrics: dict, key: str) -> str:
    value, interval = metrics.get(key), metrics.get(f"{key}_ci95")
    if value is None:
        return "-"
    return f"{value:.3f} ({interval[0]:.3f}-{interval[1]:.3f})" if interval and None not in interval else f"{value:.3f}"


def _patients(model, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows around the median patient, kept inside the training ranges."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        row = {}
        for covariate in model.covariates:
            low, high = covariate["training_range"]
            if covariate["categories"]:
                row[covariate["name"]] = float(rng.choice([int(c) for c in covariate["categories"]]))
            else:
                value = covariate["median"] + rng.normal(0, (high - low) / 12)
                row[covariate["name"]] = float(
                    np.clip(round(value) if covariate["type"] == "integer" else value, low, high)
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _speeds(name: str) -> tuple[float, ...]:
    """Load time (s), then medians (ms) of analyse one patient, explain, what-if and analyse 1,000."""
    import medcore

    started = time.perf_counter()
    model = medcore.load_model(name)
    load_s = time.perf_counter() - started
    one = _patients(model, 1)
    batch = _patients(model, 1000, seed=1)
    what_if = median_ms(lambda: model.what_if(one, {model.treatments[0]: 1}), 30) if model.treatments else float("nan")
    return (
        load_s,
        median_ms(lambda: model.analyse(one, curves=True), 30),
        median_ms(lambda: model.explain(one), 10),
        what_if,
        median_ms(lambda: model.analyse(batch), 3),
    )


def main() -> None:
    import medcore

    print("| model | family | n (events) | " + " | ".join(FIGURES) + " | published test C: DeepSurv / RSF |")
    print("|---|---|---|" + "---|" * len(FIGURES) + "---|")
    speeds = []
    for name in MODELS:
        card = medcore.read_card(name)
        validation = card["metrics"]["validation"]
        anchors = card["anchors"]["published test C (DeepSurv paper, on the withheld test part)"]
        rows = [(card["architecture"]["family"] + " (shipped)", validation)] + list(validation["baselines"].items())
        for family, metrics in rows:
            print(
                f"| {name} | {family} | {metrics['n']} ({metrics['n_events']}) | "
                + " | ".join(_figure(metrics, key) for key in FIGURES)
                + f" | {anchors['DeepSurv']} / {anchors['random survival forest']} |"
            )
        speeds.append((name, *_speeds(name)))
    print("\n| model | load (s) | analyse 1 patient (ms) | explain (ms) | what-if (ms) | analyse 1,000 (ms) |")
    print("|---|---|---|---|---|---|")
    for name, load_s, one_ms, explain_ms, what_ms, batch_ms in speeds:
        print(f"| {name} | {load_s:.2f} | {one_ms:.1f} | {explain_ms:.1f} | {what_ms:.1f} | {batch_ms:.0f} |")


if __name__ == "__main__":
    main()
