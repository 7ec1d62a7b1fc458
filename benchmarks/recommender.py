"""Print the care recommender's quality on held-out patients and its speed (not a test; nothing is asserted).

Reproduce with:
    MEDCORE_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/recommender.py

Quality: 5-fold cross-validation over patients (seed 0) with the temporal protocol of
ARCHITECTURE.md; every candidate is fitted on the other folds' patients and scored on the
held-out ones. ``blend`` is the shipped configuration with its weights chosen by a nested inner
CV (an honest figure); ``blend (weights chosen on these folds)`` reuses the outer folds and is
slightly optimistic. Speed: loading the shipped bundle and one recommendation (k=10, with
reasons) for a demo patient's full history.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing


from benchmarks.timing import median_ms  # noqa: E402

# Measured on unseen Synthea patients (project brief): (HR@10, NDCG@10)
ANCHORS = {"popularity": (0.78, 0.38), "item-knn": (0.88, 0.49), "user-knn": (0.93, 0.50)}


def _median_ms(function, repeats: int = 100) -> float:
    return median_ms(function, repeats)


def main() -> None:
    from medcore.care.data import load_synthea, timelines
    from medcore.care.evaluate import evaluate_recommender
    from medcore.care.model import load_recommender_model
    from medcore.care.train import cross_validate
    from medcore.core.registry import verify_bundle
    from medcore.core.settings import models_dir

    data_root = Path(os.environ.get("MEDCORE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    data = load_synthea(data_root)
    started = time.perf_counter()
    result = cross_validate(timelines(data), seed=0)
    print(
        f"Held-out patients: 5-fold CV over patients, temporal protocol, n = {result['n']} "
        f"({result['skipped']} skipped); {time.perf_counter() - started:.1f} s for every fit and fold"
    )
    print(f"{'candidate':<40} {'HR@10':>6} {'NDCG@10':>8} {'recall@10':>9}   anchor HR/NDCG")
    for name, figures in result["candidates"].items():
        anchor = ANCHORS.get(name)
        anchor_text = f"{anchor[0]:.2f} / {anchor[1]:.2f}" if anchor else ""
        print(
            f"{name:<40} {figures['hr@10']:>6.3f} {figures['ndcg@10']:>8.3f} {figures['recall@10']:>9.3f}   {anchor_text}"
        )
    print(f"shipped blend weights: {result['blend_weights']}")

    bundle = models_dir() / "care-recommender"
    if not (bundle / "card.json").is_file():
        print(f"No bundle at {bundle}: train it to measure speed.")
        return
    started = time.perf_counter()
    model = load_recommender_model(bundle, verify_bundle(bundle))
    load_ms = (time.perf_counter() - started) * 1000
    patient = max(model.patients(), key=lambda p: len(p["timeline"]))
    history = [event["item"] for event in patient["timeline"]]
    one = _median_ms(lambda: model.recommend(history, k=10, age=patient["age"], sex=patient["sex"]))
    empty = _median_ms(lambda: model.recommend([], k=10, age=40.0, sex="F"))
    explain = _median_ms(lambda: model.explain(history, k=10, age=patient["age"], sex=patient["sex"]))
    print(
        f"Speed: verify + load {load_ms:.0f} ms | one recommendation (history of {len(history)} items, k=10, "
        f"with reasons) {one:.1f} ms (target < 50 ms) | empty history {empty:.1f} ms | explain {explain:.1f} ms"
    )
    evaluation = evaluate_recommender(model, data_root)
    print(
        f"Shipped bundle on the training export (optimistic, its own patients): HR@10 {evaluation['hr@10']:.3f}, "
        f"NDCG@10 {evaluation['ndcg@10']:.3f}, n {evaluation['n']}; popularity "
        f"{evaluation['baseline']['popularity']['hr@10']:.3f} / {evaluation['baseline']['popularity']['ndcg@10']:.3f}"
    )


if __name__ == "__main__":
    main()
