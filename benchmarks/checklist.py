"""Print the symptom-checklist model's quality and speed figures (not a test; nothing is asserted).

Reproduce with:
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/checklist.py

Quality: the validation protocol of the training run (held-out symptom patterns, seeded draws
keeping 2, 3 or 4 of their symptoms), scored through the shipped model's public
``predict_proba`` beside a multinomial naive-Bayes baseline fitted on the same patterns.
Two reference lines put the figures in context: the spread over five other hold-out seeds
(the model refitted with the shipped settings), and a ceiling, the same model fitted on every
pattern *including* the held-out ones (not a fair score: how far shared symptoms allow).
Speed: bundle load, one prediction, one ``next_questions`` and one ``explain`` call.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402
from medcore.checklist.data import find_symptom_data, read_symptom_table  # noqa: E402
from medcore.checklist.model import ChecklistModel, load_checklist_model  # noqa: E402
from medcore.checklist.train import (  # noqa: E402
    KEPT,
    baseline_proba,
    fit_parameters,
    top_k_accuracy,
    validation_draws,
)
from medcore.core.registry import verify_bundle  # noqa: E402
from medcore.core.settings import models_dir  # noqa: E402

NAME = "symptom-checklist"


def _median_ms(function, repeats: int = 200) -> float:
    return median_ms(function, repeats)


def _as_lists(x: np.ndarray, symptoms: list[str]) -> list[list[str]]:
    return [[symptoms[j] for j in np.flatnonzero(row)] for row in x]


def _row(label: str, proba_by_kept: dict, y_by_kept: dict) -> str:
    cells = [f"{top_k_accuracy(y_by_kept[kept], proba_by_kept[kept], k):.3f}" for kept in KEPT for k in (1, 3, 5)]
    return f"{label:<34}" + " ".join(f"{c:>6}" for c in cells)


def _refit(model: ChecklistModel, x: np.ndarray, y: np.ndarray) -> ChecklistModel:
    """The shipped settings refitted on other patterns (temperature 1: top-k does not depend on it)."""
    training = model.card["training"]["chosen"]
    fitted = fit_parameters(x, y, len(model.labels), training["background_mix"], training["unticked_weight"])
    parameters = dict(fitted)
    parameters.update(labels=model.labels, symptoms=model.symptoms, temperature=1.0, answer_noise=model.answer_noise)
    return ChecklistModel(parameters, {"name": "refit"})


def main() -> None:
    path = models_dir() / NAME
    started = time.perf_counter()
    card = verify_bundle(path)
    model = load_checklist_model(path, card)
    load_ms = (time.perf_counter() - started) * 1000
    data = Path(os.environ.get("MEDCORE_DATA_DIR", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    seed = int(card["training"]["seed"])
    patterns = read_symptom_table(find_symptom_data(data)).distinct()
    if patterns.symptoms != model.symptoms or sorted(set(patterns.diseases)) != model.labels:
        raise SystemExit(f"The data at {data} does not match the bundle's symptoms and labels.")
    y, validation, draws = validation_draws(patterns, model.labels, seed)
    train_x, train_y = patterns.matrix[~validation], y[~validation]
    y_by_kept = {kept: draws[kept][1] for kept in KEPT}

    print(f"{NAME}: {card['metrics']['validation']['protocol']}")
    header = "".join(f"  top1@{kept}  top3@{kept}  top5@{kept}" for kept in KEPT)
    print(f"{'':<34}{header}")
    shipped = {kept: model.predict_proba(_as_lists(draws[kept][0], model.symptoms)) for kept in KEPT}
    print(_row("shipped model (predict_proba)", shipped, y_by_kept))
    baseline = {kept: baseline_proba(train_x, train_y, draws[kept][0], len(model.labels)) for kept in KEPT}
    print(_row("baseline: MultinomialNB(alpha=1)", baseline, y_by_kept))
    ceiling = _refit(model, patterns.matrix, y)
    print(
        _row(
            "ceiling: fitted on held-out too",
            {k: ceiling.predict_proba(_as_lists(draws[k][0], model.symptoms)) for k in KEPT},
            y_by_kept,
        )
    )

    spread: dict[str, list[float]] = {"ours": [], "baseline": []}
    for other in range(seed + 1, seed + 6):
        y_o, mask, draws_o = validation_draws(patterns, model.labels, other)
        refit = _refit(model, patterns.matrix[~mask], y_o[~mask])
        x3, y3 = draws_o[3]
        x2, y2 = draws_o[2]
        spread["ours"].append(
            (
                top_k_accuracy(y2, refit.predict_proba(_as_lists(x2, model.symptoms)), 3),
                top_k_accuracy(y3, refit.predict_proba(_as_lists(x3, model.symptoms)), 1),
            )
        )
        base2 = baseline_proba(patterns.matrix[~mask], y_o[~mask], x2, len(model.labels))
        base3 = baseline_proba(patterns.matrix[~mask], y_o[~mask], x3, len(model.labels))
        spread["baseline"].append((top_k_accuracy(y2, base2, 3), top_k_accuracy(y3, base3, 1)))
    for name, rows in spread.items():
        values = np.array(rows)
        print(
            f"hold-out seeds {seed + 1}-{seed + 5}, {name:<8}: top3@2 {values[:, 0].mean():.3f} +- {values[:, 0].std():.3f}, "
            f"top1@3 {values[:, 1].mean():.3f} +- {values[:, 1].std():.3f}"
        )
    calibration = card["calibration"]
    print(
        f"calibration (pooled draws): temperature {calibration['temperature']:.3f}, ECE "
        f"{calibration['validation_before']['ece']:.4f} -> {calibration['validation_after']['ece']:.4f}"
    )

    example = ["high_fever", "vomiting", "chills"]
    print(
        f"speed: load {load_ms:.0f} ms (first, incl. sha256 check); one prediction "
        f"{_median_ms(lambda: model.predict_proba([example])):.2f} ms; next_questions "
        f"{_median_ms(lambda: model.next_questions(example, k=3)):.2f} ms; explain "
        f"{_median_ms(lambda: model.explain(example)):.2f} ms (medians of 200)"
    )


if __name__ == "__main__":
    main()
