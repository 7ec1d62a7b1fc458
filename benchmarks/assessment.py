"""Print the symptom assessment's quality and speed figures (not a test; nothing is asserted).

Reproduce with:
    .venv/bin/python benchmarks/assessment.py

Quality: triage and differential figures on the project's clinician-written vignettes (test:
scored only; dev: read while writing the vocabulary, optimistic), with 95 % Wilson intervals.
Speed (aims of issue 25: ``assess`` under 100 ms per text in-process, the page under 1 s): bundle
load, ``assess`` over every vignette text (median and 95th percentile), and the page answering a
typed description (Streamlit AppTest: one script run after Assess, the model already loaded).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402
from medcore.assessment.evaluate import VIGNETTES_DIR, evaluate_file, read_vignettes  # noqa: E402
from medcore.core.registry import bundle_path, verify_bundle  # noqa: E402

NAME = "symptom-assessment"
FIGURES = ("triage_accuracy", "emergency_recall", "safety", "over_triage", "top1", "top3", "unknown_confident")


def main() -> None:
    os.environ.setdefault("MEDCORE_WARM_UP", "0")
    from medcore.assessment.model import load_assessment_model

    start = time.perf_counter()
    model = load_assessment_model(bundle_path(NAME), verify_bundle(bundle_path(NAME)))
    print(f"bundle verified and loaded: {(time.perf_counter() - start) * 1000:.0f} ms")
    for path in sorted(VIGNETTES_DIR.glob("*.csv")):
        figures = evaluate_file(model, path)["metrics"]
        print(f"\n{path.name} (n={figures['n']})")
        for key in FIGURES:
            low, high = figures[f"{key}_ci95"]
            value = "-" if figures[key] is None else f"{figures[key]:.3f} ({low:.3f}-{high:.3f})"
            print(f"  {key:<18} {value}  n={figures[f'n_{key}']}")
    texts = [row["text"] for path in VIGNETTES_DIR.glob("*.csv") for row in read_vignettes(path)]
    times = []
    for text in texts:
        start = time.perf_counter()
        try:
            model.assess(text)
        except ValueError:
            pass
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"\nassess, {len(texts)} texts: median {np.median(times):.1f} ms, p95 {np.percentile(times, 95):.1f} ms, "
        f"max {max(times):.1f} ms (aim < 100 ms)"
    )
    print(f"assess, one text again: {median_ms(lambda: model.assess(texts[0]), 50):.1f} ms")
    print(f"page answer (AppTest, after Assess): {_page_ms():.0f} ms (aim < 1,000 ms; a browser adds the websocket)")


def _page_ms() -> float:
    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parent.parent / "pages" / "Symptom_Assessment.py")
    app = AppTest.from_file(page, default_timeout=60).run()  # loads the model once
    times = []
    for text in ("Crushing chest pain going down my left arm, sweating and nausea", "sore throat and fever for 2 days"):
        app.text_area[0].input(text)
        start = time.perf_counter()
        app.button[0].click().run()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


if __name__ == "__main__":
    main()
