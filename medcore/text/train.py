"""Train a free-text bundle: a wide-and-deep Keras network beside a TF-IDF + LR baseline.

The labelled file is split 80/20 into train and validation, grouped so that exact duplicates
and near paraphrases (word-set Jaccard >= 0.8) never straddle the split. Training texts are
de-duplicated: each distinct text is one example whose target is the share of each label it
carries (the abstracts list some texts under several classes). The network is trained in two
stages: first its linear "wide" part (sublinear TF-IDF word 1-2-grams and character
2-5-grams, L2-regularised like logistic regression, trained to convergence), then, with that
part frozen, a one-block Transformer encoder whose output layer starts at zero, kept up to
the epoch with the best validation accuracy, ties broken by temperature-scaled log-loss
(epoch 0, no encoder, counts). A scikit-learn TF-IDF + logistic-regression baseline is
trained on the same split. The shipped model is the network alone or the average of both
calibrated models, whichever is more accurate on validation; every figure in the card is on
the validation split, which also chose and calibrated the model (the calibration cross-fitted:
each row's figures read parameters fitted on the other folds).
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from medcore.core.bundle import sha256_file, write_bundle
from medcore.core.calibration import (
    apply_temperature,
    calibrate,
    calibration_method,
    choose_calibration,
    cross_fitted_calibration,
)
from medcore.core.errors import InvalidInputError
from medcore.core.metrics import brier_score, classification_summary, expected_calibration_error, reliability_curve
from medcore.core.uncertainty import (
    bootstrap_intervals,
    calibration_intervals,
    classification_scalars,
    with_intervals,
)
from medcore.text.data import aggregate_texts, grouped_folds, grouped_split, load_text_dataset, normalised
from medcore.text.evaluate import text_scores
from medcore.text.network import batched, train_network
from medcore.text.recipes import NEAR_DUPLICATE, TEXT_RECIPES, VALIDATION_FRACTION, TextRecipe

__all__ = ["fit_baseline", "train_text_model"]


def fit_baseline(train_texts, targets, recipe: TextRecipe):
    """scikit-learn TF-IDF (word 1-2-grams, sublinear tf) + multinomial logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from medcore.text.layers import TfidfLogisticBaseline

    rows, columns = np.nonzero(targets)  # one weighted row per (text, label) pair
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform([train_texts[r] for r in rows])
    classifier = LogisticRegression(C=recipe.inverse_regularisation, max_iter=2000)
    classifier.fit(features, columns, sample_weight=targets[rows, columns])
    return TfidfLogisticBaseline.from_sklearn(vectorizer, classifier), (vectorizer, classifier)


def _log_average(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Log of the average of two members' calibrated probabilities: the ensemble's calibration input."""
    return np.log(np.clip((first + second) / 2, 1e-12, 1))


def train_text_model(
    name: str,
    data_path: Path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    command: str = "",
) -> Path:
    """Train, calibrate, evaluate on validation and write the bundle of text model ``name``.

    Args:
        name: ``symptom-text`` or ``abstract-topic`` (a key of ``TEXT_RECIPES``).
        data_path: the data root, the data set's folder, or its CSV file.
        epochs: epochs of the wide stage (default: the recipe's; the encoder stage gets the
            recipe's share of it).
        seed: seed of the split and of every random draw in training.
        out_dir: bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.

    Returns:
        The bundle folder.

    Raises:
        InvalidInputError: unknown model name or unreadable data.
    """
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    from medcore.core.settings import models_dir

    if name not in TEXT_RECIPES:
        raise InvalidInputError(f"Unknown text model '{name}'; expected one of {sorted(TEXT_RECIPES)}.")
    recipe = TEXT_RECIPES[name]
    if epochs:
        share = recipe.encoder_epochs / recipe.wide_epochs
        recipe = dataclasses.replace(recipe, wide_epochs=epochs, encoder_epochs=max(1, round(epochs * share)))
    started = time.time()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    texts, label_names_per_row, labels, data_file = load_text_dataset(name, data_path)
    y = np.array([labels.index(label) for label in label_names_per_row])

    def prepared(rows: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Distinct texts of ``rows`` with soft targets and (balanced) weights."""
        distinct, targets = aggregate_texts([texts[i] for i in rows], y[rows], len(labels))
        weights = np.ones(len(distinct))
        if recipe.balanced:  # each class weighs the same in total, as scikit-learn's "balanced"
            mass = targets.sum(axis=0)
            weights = targets @ (len(distinct) / (len(labels) * np.maximum(mass, 1e-9)))
        return distinct, targets, weights

    fold_epochs = (recipe.wide_epochs + recipe.encoder_epochs) * recipe.folds if recipe.folds > 1 else 0
    with tqdm(
        total=fold_epochs + recipe.wide_epochs + recipe.encoder_epochs,
        desc=f"training {name}",
        unit="epoch",
        file=sys.stderr,
    ) as progress:
        if recipe.folds > 1:
            # Out-of-fold logits of both members stand for new text; then one model on every row.
            fold = grouped_folds(texts, label_names_per_row, recipe.folds, seed)
            held_rows = np.arange(len(texts))
            net_logits, base_logits = np.zeros((len(texts), len(labels))), np.zeros((len(texts), len(labels)))
            best_epochs, histories = [], []
            for f in range(recipe.folds):
                inside, outside = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
                fold_texts = [texts[i] for i in outside]
                fold_train = prepared(inside)  # (distinct texts, soft targets, weights)
                fitted, fold_histories, _ = train_network(
                    recipe, seed + f, *fold_train, fold_texts, y[outside], progress
                )
                net_logits[outside] = np.concatenate(
                    [b.numpy() for b in batched(lambda t, model=fitted: model(t, training=False), fold_texts)]
                )
                fold_baseline, _ = fit_baseline(*fold_train[:2], recipe)
                base_logits[outside] = fold_baseline.logits(fold_texts)
                best_epochs.append(fold_histories[1]["best_epoch"])
                histories = histories or fold_histories  # the first fold's curves are drawn
                keras.backend.clear_session(free_memory=False)
            final = dataclasses.replace(recipe, encoder_epochs=int(np.median(best_epochs)))
            train_texts, targets, weights = prepared(held_rows)
            network, _, check = train_network(final, seed, train_texts, targets, weights, None, None, progress)
            check_texts = train_texts[:32]
        else:
            train_rows, held_rows = grouped_split(texts, label_names_per_row, seed)
            train_texts, targets, weights = prepared(train_rows)
            network, histories, check = train_network(
                recipe, seed, train_texts, targets, weights, [texts[i] for i in held_rows], y[held_rows], progress
            )
            best_epochs = [histories[1]["best_epoch"]]
            check_texts = [texts[i] for i in held_rows[:32]]
        baseline, (vectorizer, classifier) = fit_baseline(train_texts, targets, recipe)
    val_texts, y_val = [texts[i] for i in held_rows], y[held_rows]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        network.save(tmp / "model.keras")
        keras.backend.clear_session(free_memory=False)
        reloaded = keras.saving.load_model(tmp / "model.keras", compile=False, safe_mode=True)
        reproduced = np.concatenate([b.numpy() for b in batched(lambda t: reloaded(t, training=False), check_texts)])
        if not np.allclose(reproduced, check, atol=1e-3):
            raise RuntimeError("the saved text model does not reproduce the trained one's logits")
        if recipe.folds <= 1:  # the shipped members themselves predict the held-out texts
            net_logits = np.concatenate([b.numpy() for b in batched(lambda t: reloaded(t, training=False), val_texts)])
            base_logits = baseline.logits(val_texts)
        net_logits = net_logits.astype(np.float64)
        if not np.allclose(
            baseline.logits(check_texts), classifier.decision_function(vectorizer.transform(check_texts)), atol=1e-6
        ):
            raise RuntimeError("the exported baseline does not reproduce scikit-learn's decision function")

        choices = {
            "network": choose_calibration(net_logits, y_val, seed=seed, class_wise=True),
            "baseline": choose_calibration(base_logits, y_val, seed=seed, class_wise=True),
        }
        member_logits = {"network": net_logits, "baseline": base_logits}
        calibrated = {member: calibrate(member_logits[member], choices[member]) for member in member_logits}
        choices["ensemble"] = choose_calibration(
            _log_average(calibrated["network"], calibrated["baseline"]), y_val, seed=seed, class_wise=True
        )
        # A kept calibration was fitted on these very rows, and class-wise scaling can move an argmax: every
        # figure (and the choice of the shipped model) reads cross-fitted probabilities instead, each row
        # calibrated by parameters fitted on the other folds, the ensemble's members first, then the average.
        honest = {
            member: cross_fitted_calibration(member_logits[member], y_val, choices[member]["chosen"], seed=seed)
            for member in member_logits
        }
        honest["ensemble"] = cross_fitted_calibration(
            _log_average(honest["network"], honest["baseline"]), y_val, choices["ensemble"]["chosen"], seed=seed
        )
        scores = {key: text_scores(y_val, proba, val_texts) for key, proba in honest.items()}
        shipped = max(("network", "ensemble"), key=lambda k: (scores[k]["accuracy"], -scores[k]["nll"]))
        members = ["network"] if shipped == "network" else ["network", "baseline"]
        proba = honest[shipped]
        raw_logits = net_logits if shipped == "network" else (net_logits + base_logits) / 2
        raw = apply_temperature(raw_logits, 1.0)  # before any calibration
        summary = classification_summary(y_val, proba, labels)
        # 95 % intervals resample distinct validation texts (a text listed under two labels is two rows).
        text_group = np.unique([normalised(t) for t in val_texts], return_inverse=True)[1]
        intervals = bootstrap_intervals(
            lambda rows: {
                **classification_scalars(y_val[rows], proba[rows]),
                **{
                    k: v
                    for k, v in text_scores(y_val[rows], proba[rows], [val_texts[i] for i in rows]).items()
                    if k in ("top3_accuracy", "any_label_accuracy", "nll")
                },
            },
            len(y_val),
            groups=text_group,
            seed=seed,
        )

        staged = {"model.keras": tmp / "model.keras"}
        if "baseline" in members:
            baseline.save(tmp / "baseline_vocabulary.json", tmp / "baseline.npz")
            staged.update(
                {"baseline_vocabulary.json": tmp / "baseline_vocabulary.json", "baseline.npz": tmp / "baseline.npz"}
            )

        def figures(key: str, method: str) -> dict:
            other = classification_summary(y_val, honest[key], labels)
            return {
                "method": method,
                **{k: scores[key][k] for k in ("accuracy", "top3_accuracy", "macro_f1", "any_label_accuracy")},
                "auc": other["auc"],
                "ece": other["ece"],
                "brier": other["brier"],
                "nll": scores[key]["nll"],
            }

        alternatives = {
            "network": "wide-and-deep network alone (calibrated)",
            "ensemble": "network + TF-IDF/LR baseline, calibrated average",
        }
        wall_time = time.time() - started
        card = {
            "name": name,
            "version": "1.1.0",
            "kind": "text",
            "task": recipe.task,
            "description": recipe.description,
            "intended_use": recipe.intended_use,
            "out_of_scope_use": recipe.out_of_scope_use,
            "labels": labels,
            "input": {
                "shape": ["N"],
                "dtype": "str (a list of texts)",
                "value_range": f"English free text, 1 to {recipe.max_chars:,} characters (longer text is truncated)",
                "channels": "n/a",
                "language": "en",
                "max_chars": recipe.max_chars,
            },
            "preprocessing": {
                "steps": "control and zero-width characters removed -> truncated to max_chars -> inside model.keras: "
                "lower case, punctuation stripped -> word 1-2-gram counts, character 2-5-gram counts (within "
                "word boundaries), first word ids",
                "tfidf": "(1 + log count) x smooth idf of the training texts, L2-normalised per block",
                "sequence_length": recipe.sequence_length,
                "vocabulary": {
                    "word_ngrams": int(network.get_layer("words_tfidf_counts").vocabulary_size()),
                    "char_ngrams": int(network.get_layer("chars_tfidf_counts").vocabulary_size()),
                    "sequence_words": int(network.get_layer("words_sequence").vocabulary_size()),
                },
            },
            "architecture": f"wide: linear layer on TF-IDF word 1-2-grams + character 2-5-grams (L2 as "
            f"LogisticRegression C={recipe.inverse_regularisation:g}); deep: token+position embedding "
            f"(dim {recipe.encoder_dim}), one Transformer encoder block (2 heads), masked mean+max pooling, dropout "
            f"0.5, linear; logits added. Shipped: {alternatives[shipped]}.",
            "operating_point": {"rule": "argmax of the calibrated probabilities; the page lists the top 3"},
            "calibration": {
                "method": calibration_method(
                    choices["network" if shipped == "network" else "ensemble"],
                    "out-of-fold" if recipe.folds > 1 else "validation",
                )
                + ("; each member's own calibration is chosen the same way" if shipped != "network" else "")
                + "; every figure reads probabilities calibrated by parameters fitted on other rows (cross-fitted)",
                "chosen": choices["network" if shipped == "network" else "ensemble"]["chosen"],
                "choice": {member: choices[member] for member in members},
                "members": members,
                "temperatures": {m: choices[m]["temperature"] for m in members},
                "ensemble_temperature": choices["ensemble"]["temperature"] if shipped != "network" else 1.0,
                "class_wise": {
                    key: {"scale": choices[key]["scale"], "bias": choices[key]["bias"]}
                    for key in members + (["ensemble"] if shipped != "network" else [])
                    if choices[key]["chosen"] == "class-wise"
                },
                "validation_before": with_intervals(
                    {"ece": expected_calibration_error(y_val, raw), "brier": brier_score(y_val, raw)},
                    calibration_intervals(y_val, raw, groups=text_group, seed=seed),
                ),
                "validation_after": with_intervals(
                    {"ece": summary["ece"], "brier": summary["brier"]}, {k: intervals[k] for k in ("ece", "brier")}
                ),
            },
            "training": {
                "dataset": recipe.dataset,
                "data_file": f"{recipe.folder}/{data_file.name}",
                "data_sha256": sha256_file(data_file),
                "split": (
                    f"{recipe.folds}-fold cross-validation over all {len(texts)} rows, grouped by normalised text and "
                    f"word-set Jaccard >= {NEAR_DUPLICATE} (no duplicate or near paraphrase in two folds) and "
                    "stratified by label; each fold's network and baseline predicted the fold they did not see; "
                    "those out-of-fold predictions chose the shipped model, fitted its temperatures and give every "
                    f"figure. The shipped model is trained on every row ({len(train_texts)} distinct texts), its "
                    f"encoder for the folds' median best epoch ({int(np.median(best_epochs))})"
                    if recipe.folds > 1
                    else f"{len(texts) - len(held_rows)} rows ({len(train_texts)} distinct texts) to fit, "
                    f"{len(held_rows)} rows ({scores[shipped]['n_texts']} distinct texts) to validate: "
                    f"{VALIDATION_FRACTION:.0%} of the groups per label, grouped by normalised text and word-set "
                    f"Jaccard >= {NEAR_DUPLICATE} so no duplicate or near paraphrase straddles the split; "
                    "validation also chose and calibrated the model"
                ),
                "chosen_on": "out-of-fold predictions of the cross-validation"
                if recipe.folds > 1
                else "the validation split",
                "seed": seed,
                "epochs": recipe.wide_epochs + recipe.encoder_epochs,
                "best_epochs": {"encoder (per fold)" if recipe.folds > 1 else "encoder": best_epochs},
                "targets": "distinct texts with soft targets (share of each label the text carries)",
                "class_weights": "balanced" if recipe.balanced else "none",
                "optimizer": f"Adam, cosine decay: wide stage lr 1e-2 for {recipe.wide_epochs} epochs, encoder stage "
                f"(wide part frozen) lr 1e-3 for {recipe.encoder_epochs} epochs, batch {recipe.batch_size}; best "
                "encoder epoch (0 = none) by validation accuracy, then temperature-scaled log-loss",
                "wall_time_s": wall_time,
                "command": command,
            },
            "metrics": {
                "validation": {
                    "split": f"{recipe.folds}-fold grouped cross-validation (out-of-fold)"
                    if recipe.folds > 1
                    else "validation",
                    "n": summary["n"],
                    "n_texts": scores[shipped]["n_texts"],
                    **with_intervals(
                        {
                            "accuracy": summary["accuracy"],
                            "top3_accuracy": scores[shipped]["top3_accuracy"],
                            "macro_f1": summary["macro_f1"],
                            "any_label_accuracy": scores[shipped]["any_label_accuracy"],
                            "auc": summary["auc"],
                            "ece": summary["ece"],
                            "brier": summary["brier"],
                            "nll": scores[shipped]["nll"],
                        },
                        intervals,
                    ),
                    "intervals": "95 % bootstrap over distinct validation texts",
                    "baseline": figures(
                        "baseline",
                        f"TF-IDF (word 1-2-grams, sublinear) + logistic regression C={recipe.inverse_regularisation:g}",
                    ),
                    "baselines": {
                        alternatives[key]: figures(key, alternatives[key])
                        for key in ("network", "ensemble")
                        if key != shipped
                    },
                },
            },
            "limitations": list(recipe.limitations),
            "ethical_considerations": [
                "Decision support, not a diagnosis: a clinician reviews every result.",
                "The model always answers with one of its classes, even for a condition it was not trained on.",
                "No demographic information is available, so performance across age, sex, dialect or "
                "health literacy has not been measured; plain-language and non-native descriptions may fare worse.",
                "Mask identifiers (medcore.core.deid.mask_identifiers) before text is stored or shared.",
                "Word highlights show which words moved the result, not medical reasoning.",
            ],
            "data_licence": recipe.licence,
        }
        evaluation = {
            "split": card["metrics"]["validation"]["split"],
            **summary,
            "top3_accuracy": scores[shipped]["top3_accuracy"],
            "any_label_accuracy": scores[shipped]["any_label_accuracy"],
            "reliability_before": reliability_curve(y_val, raw),
            "ece_before": expected_calibration_error(y_val, raw),
            "history": histories,
            "baseline": {
                k: v for k, v in classification_summary(y_val, honest["baseline"], labels).items() if k != "roc"
            },
        }
        out_dir = Path(out_dir) if out_dir else models_dir() / name
        return write_bundle(out_dir, card, evaluation, staged)
