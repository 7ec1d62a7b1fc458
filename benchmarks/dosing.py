"""Print warfarin-dose's cross-validated figures beside every candidate and the IWPC algorithms, and its speed.

Not a test; nothing is asserted. Reproduce with:
    .venv/bin/python benchmarks/dosing.py

Quality comes from the bundle's card and evaluation.json (5-fold cross-validation on the IWPC train
part; the IWPC coefficients were fitted on most of these patients, so their figures are optimistic).
The aims of issue 16 are on the withheld 20 %: the pharmacogenetic algorithm's MAE 8.39 mg/week and
46.2 % within 20 %. Speed: load time, one patient through analyse and explain, 1,000 patients.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks.timing import median_ms  # noqa: E402


def _figure(metrics: dict, key: str, fmt: str = ".2f") -> str:
    value, interval = metrics[key], metrics.get(f"{key}_ci95")
    return f"{value:{fmt}} ({interval[0]:{fmt}}-{interval[1]:{fmt}})"


def main() -> None:
    import medcore

    card = medcore.read_card("warfarin-dose")
    evaluation = medcore.read_evaluation("warfarin-dose")
    print(
        f"shipped: {card['architecture']['predictor']}; n={card['metrics']['validation']['n']} patients (5-fold CV)\n"
    )
    print("| predictor | MAE mg/week (95 % CI) | within 20 % (95 % CI) |")
    print("|---|---|---|")
    for name, figures in evaluation["candidates"].items():
        print(f"| {name} | {_figure(figures, 'mae')} | {_figure(figures, 'within_20pct', '.3f')} |")
    print("\n| group | n | MAE model / IWPC PG | within 20 % model / IWPC PG |")
    print("|---|---|---|---|")
    for attribute, groups in card["metrics"]["validation"]["subgroups"].items():
        for group, g in groups.items():
            if "mae" in g:
                print(
                    f"| {attribute}: {group} | {g['n']} | {g['mae']:.2f} / {g['iwpc_pg_mae']:.2f} | "
                    f"{g['within_20pct']:.3f} / {g['iwpc_pg_within_20pct']:.3f} |"
                )
    v = card["metrics"]["validation"]
    print(f"\n95 % interval coverage (cross-fitted): {_figure(v, 'interval_coverage', '.3f')}")
    started = time.perf_counter()
    model = medcore.load_model("warfarin-dose")
    load_s = time.perf_counter() - started
    patient = [
        {
            "Age": "60 - 69",
            "Height (cm)": 170,
            "Weight (kg)": 80,
            "Race (OMB)": "White",
            "CYP2C9 consensus": "*1/*3",
            "VKORC1 -1639 consensus": "A/G",
        }
    ]
    batch = patient * 1000
    print("\n| load (s) | analyse 1 (ms) | explain (ms) | analyse 1,000 (ms) |")
    print("|---|---|---|---|")
    print(
        f"| {load_s:.1f} | {median_ms(lambda: model.analyse(patient), 10):.0f} | "
        f"{median_ms(lambda: model.explain(patient), 5):.0f} | {median_ms(lambda: model.analyse(batch), 3):.0f} |"
    )


if __name__ == "__main__":
    main()
