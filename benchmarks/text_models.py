"""Print the free-text models' quality beside the TF-IDF + LR baseline, and their speed (no asserts).

Reproduce with:
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/text_models.py

Quality is recomputed on the validation split (the same grouped split the trainer used, from
the card's seed): the shipped model from its bundle, and the baseline refitted on the train
part in this run (seconds). A cross-validated model (symptom-text) was trained on every row,
so its card's out-of-fold figures are printed instead. Speed: load + verify, one text after load (target < 100 ms), one
explanation, a batch of 256 texts. ``MEDCORE_MODELS_DIR`` points at another models folder.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402

NAMES = ("symptom-text", "abstract-topic")
EXAMPLE = {
    "symptom-text": "For two weeks I have had an itchy red rash on my arms with dry, scaly patches that peel.",
    "abstract-topic": "Patients with acute myocardial infarction received early coronary angioplasty; left "
    "ventricular ejection fraction and reinfarction rates were followed for one year.",
}


def _median_ms(function, repeats: int = 30) -> float:
    return median_ms(function, repeats)


def _speed(model, text: str) -> str:
    """Latency of one text after load (target < 100 ms), one explanation, a batch of 256."""
    batch = [text] * 256
    return (
        f"one text {_median_ms(lambda: model.predict_proba([text])):.1f} ms (target < 100) | "
        f"explain {_median_ms(lambda: model.explain(text), 5):.0f} ms | "
        f"batch of 256 {_median_ms(lambda: model.predict_proba(batch), 3):.0f} ms"
    )


def _row(label: str, scores: dict) -> str:
    return (
        f"   {label:<34} top-1 {scores['accuracy']:.3f}  top-3 {scores['top3_accuracy']:.3f}  "
        f"macro-F1 {scores['macro_f1']:.3f}  any-label top-1 {scores['any_label_accuracy']:.3f}"
    )


def main() -> None:
    from medcore.core.calibration import apply_temperature, fit_temperature
    from medcore.core.registry import verify_bundle
    from medcore.core.settings import models_dir
    from medcore.text.data import aggregate_texts, grouped_split, load_text_dataset
    from medcore.text.evaluate import text_scores
    from medcore.text.model import load_text_model
    from medcore.text.recipes import TEXT_RECIPES
    from medcore.text.train import fit_baseline

    data_dir = os.environ.get("MEDCORE_DATA_DIR")
    for name in NAMES:
        path = models_dir() / name
        start = time.perf_counter()
        card = verify_bundle(path)
        model = load_text_model(path, card)
        load_s = time.perf_counter() - start
        print(f"\n== {name}  ({card['task']})")
        print(f"   trained in {card['training']['wall_time_s']:.0f} s; shipped: {card['calibration']['members']}")
        validation = card["metrics"]["validation"]
        if data_dir and TEXT_RECIPES[name].folds <= 1:
            texts, labels, names, _ = load_text_dataset(name, data_dir)
            train, val = grouped_split(texts, labels, seed=card["training"]["seed"])
            val_texts = [texts[i] for i in val]
            y_val = np.array([names.index(labels[i]) for i in val])
            train_texts, targets = aggregate_texts(
                [texts[i] for i in train], [names.index(labels[i]) for i in train], len(names)
            )
            baseline, _ = fit_baseline(train_texts, targets, TEXT_RECIPES[name])
            shipped = text_scores(y_val, model.predict_proba(val_texts), val_texts)
            logits = baseline.logits(val_texts)
            base = text_scores(y_val, apply_temperature(logits, fit_temperature(logits, y_val)), val_texts)
            print(f"   validation: {len(val)} rows, {shipped['n_texts']} distinct texts (recomputed)")
            print(_row("shipped model", shipped))
            print(_row("TF-IDF + LR baseline (refitted)", base))
        else:  # cross-validated models were trained on every row: only the card's out-of-fold figures are honest
            print(f"   held-out figures from the card ({validation['split']}; recomputing needs the whole CV):")
            print(_row("shipped model", validation))
            print(_row("TF-IDF + LR baseline", validation["baseline"]))
        calibration = card["calibration"]
        print(
            f"   calibration: ECE {calibration['validation_before']['ece']:.3f} -> "
            f"{calibration['validation_after']['ece']:.3f}, Brier {calibration['validation_before']['brier']:.3f} -> "
            f"{calibration['validation_after']['brier']:.3f}"
        )
        print(f"   load + verify {load_s * 1000:.0f} ms | {_speed(model, EXAMPLE[name])}")


if __name__ == "__main__":
    main()
