"""Print the care plan's speed and its figures on the written outpatient cases (not a test; nothing is asserted).

Reproduce with:
    .venv/bin/python benchmarks/care_plan.py

Aims (issue 27): ``plan`` under 200 ms, ``where`` under 20 ms. Measured on the shipped bundle
(rules and facility directory included): load time; the first ``where`` of each need (builds its
BallTree); the median of warm calls: ``plan`` for a demo patient's full record with lifestyle and
a location (three needs looked up), ``plan`` without a location, and ``where`` for every need.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks.timing import median_ms  # noqa: E402

LINCOLN = (40.8136, -96.7026)


def main() -> None:
    from medcore.care.evaluate import evaluate_plan_cases
    from medcore.care.model import load_recommender_model
    from medcore.core.registry import verify_bundle
    from medcore.core.settings import models_dir

    bundle = models_dir() / "care-recommender"
    started = time.perf_counter()
    model = load_recommender_model(bundle, verify_bundle(bundle))
    print(
        f"load (verify + read, directory of {model._planner.directory.size:,} places): {time.perf_counter() - started:.2f} s"
    )
    for need in model.needs:
        started = time.perf_counter()
        model.where(LINCOLN, need, k=5)
        print(f"  first where({need!r}) (builds its BallTree): {(time.perf_counter() - started) * 1000:.1f} ms")
    patient = max(model.patients(), key=lambda p: len(p["timeline"]))
    history = [{"item": e["item"], "date": e["date"]} for e in patient["timeline"]]
    lifestyle = {
        "smoking": "former",
        "pack_years": 25,
        "quit_years": 8,
        "bmi": 31,
        "activity": 60,
        "alcohol": 12,
        "sleep": 6,
    }
    print(f"demo patient {patient['id']}: {len(history)} history items")
    full = median_ms(
        lambda: model.plan(history, age=patient["age"], sex=patient["sex"], location=LINCOLN, lifestyle=lifestyle), 50
    )
    bare = median_ms(lambda: model.plan(history, age=patient["age"], sex=patient["sex"]), 50)
    print(f"plan, with lifestyle and a location (3 needs): median {full:.1f} ms   (aim < 200 ms)")
    print(f"plan, no location:                               median {bare:.1f} ms")
    for need in model.needs:
        print(
            f"where({need!r}, k=5): median {median_ms(lambda need=need: model.where(LINCOLN, need, k=5), 200):.2f} ms   (aim < 20 ms)"
        )
    print(f"where('68510', 'emergency'): median {median_ms(lambda: model.where('68510', 'emergency'), 200):.2f} ms")
    cases = evaluate_plan_cases(model)
    low, high = cases["present_share_ci95"]
    print(
        f"written outpatient cases: n={cases['n_cases']}; guideline items present {cases['present']}/{cases['expected']} "
        f"({cases['present_share']:.3f}, 95 % CI {low:.3f}-{high:.3f}); statuses right {cases['status_right']}/"
        f"{cases['status_checked']}; forbidden shown {cases['forbidden_shown']} of {cases['forbidden_checked']}"
    )


if __name__ == "__main__":
    main()
