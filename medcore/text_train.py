"""Train a free-text bundle: Keras models with their tokeniser inside, beside a TF-IDF baseline.

Two Keras models are trained on the same split: a TF-IDF (word 1-2-gram) linear model and a
BiLSTM over word embeddings, each keeping its best-validation-loss epoch. The shipped model is
whichever of the two, or their logit average, is best on validation (accuracy, then log-loss),
temperature-scaled on validation. A scikit-learn TF-IDF + logistic-regression baseline is
trained on the same split and recorded in the card for comparison (it is not shipped). The
split is grouped by normalised text, so a duplicated text never sits on both sides.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medcore.bundle import write_bundle
from medcore.calibration import apply_temperature, fit_temperature
from medcore.data import sha256_file
from medcore.errors import InvalidInputError
from medcore.metrics import brier_score, classification_summary, expected_calibration_error, reliability_curve
from medcore.text import MAX_CHARS, tokens

__all__ = ["TextRecipe", "TEXT_RECIPES", "train_text_model", "load_text_data", "grouped_split"]


@dataclass(frozen=True)
class TextRecipe:
    """How one text model is trained and described."""

    task: str
    folder: str
    dataset: str
    licence: str
    description: str
    intended_use: str
    out_of_scope_use: str
    limitations: tuple[str, ...]
    sequence_length: int
    epochs: int


TEXT_RECIPES = {
    "symptom-text": TextRecipe(
        task="Patient's own description of symptoms -> disease (24 classes)",
        folder="symptom2disease",
        dataset="Symptom2Disease (Kaggle, niyarrbarman), 80 % training part",
        licence="not stated by the source (Kaggle); confirm before redistributing",
        description="Ranks 24 diseases from a patient's free-text description of their symptoms.",
        intended_use="Decision support when a clinician reads a patient's own description of symptoms (e.g. an "
        "online intake form): suggests diseases to consider and the words behind them.",
        out_of_scope_use="Diagnosis without a clinician; diseases outside the 24 classes; languages other than "
        "English; clinical notes in medical jargon.",
        limitations=(
            "Only 24 diseases: any other condition is forced into one of them.",
            "The source contains close paraphrases, so validation figures are optimistic.",
            "Validation was also used for model choice and calibration.",
        ),
        sequence_length=96,
        epochs=40,
    ),
    "abstract-topic": TextRecipe(
        task="Clinical text -> condition class (5 classes)",
        folder="medical_abstracts",
        dataset="Medical Abstracts TC Corpus (Schopf et al. 2022), 80 % of the official test file",
        licence="CC BY-SA 3.0",
        description="Assigns clinical prose (e.g. an abstract or summary) to one of five condition classes.",
        intended_use="Routing and triage of clinical documents by condition class, reviewed by a person.",
        out_of_scope_use="Diagnosis of a patient; documents outside the five classes; non-English text.",
        limitations=(
            "The same abstract can carry several labels (multi-label in effect); 'general pathological "
            "conditions' overlaps the other four, which caps top-1 accuracy.",
            "Trained on 1,800 abstracts only (the official training file was not obtainable).",
            "Validation was also used for model choice and calibration.",
        ),
        sequence_length=256,
        epochs=25,
    ),
}


def load_text_data(name: str, data_path: Path | str) -> tuple[list[str], list[str], list[str], Path]:
    """Texts, their labels, the label list and the data file of a text model's data set.

    Args:
        name: ``symptom-text`` or ``abstract-topic``.
        data_path: the data root (holding the data set's folder) or that folder itself.
    """
    import pandas as pd

    recipe = TEXT_RECIPES[name]
    root = Path(data_path)
    folder = root / recipe.folder if (root / recipe.folder).is_dir() else root
    if name == "symptom-text":
        path = folder / "symptom2disease_train.csv"
        if not path.is_file():
            raise InvalidInputError(f"No symptom2disease_train.csv in '{folder}'. Pass the data folder.")
        frame = pd.read_csv(path)
        texts, labels = frame["text"].astype(str).tolist(), frame["label"].astype(str).str.strip().tolist()
        return texts, labels, sorted(set(labels)), path
    path = folder / "medical_abstracts_train.csv"
    if not path.is_file():
        raise InvalidInputError(f"No medical_abstracts_train.csv in '{folder}'. Pass the data folder.")
    names = pd.read_csv(folder / "medical_tc_labels.csv")
    mapping = dict(zip(names["condition_label"].astype(int), names["condition_name"].astype(str).str.strip()))
    frame = pd.read_csv(path)
    labels = [mapping[int(v)] for v in frame["condition_label"]]
    return frame["medical_abstract"].astype(str).tolist(), labels, [mapping[k] for k in sorted(mapping)], path


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def grouped_split(
    texts: list[str], labels: list[str], seed: int, fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of train and validation: groups of identical (normalised) texts stay together,
    stratified by each group's first label, ``round(fraction x groups)`` per label to validation."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        groups.setdefault(_key(text), []).append(index)
    by_label: dict[str, list[list[int]]] = {}
    for rows in groups.values():
        by_label.setdefault(labels[rows[0]], []).append(rows)
    rng = np.random.RandomState(seed)
    validation: list[int] = []
    for label in sorted(by_label):
        members = by_label[label]
        order = rng.permutation(len(members))
        for position in order[: int(round(fraction * len(members)))]:
            validation.extend(members[position])
    val = np.array(sorted(validation))
    train = np.setdiff1d(np.arange(len(texts)), val)
    return train, val


def _keras_models(train_texts, n_classes: int, sequence_length: int, seed: int):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(), dtype="string", name="text")
    tfidf = layers.TextVectorization(max_tokens=30000, ngrams=2, output_mode="tf_idf", name="tfidf_vectorizer")
    tfidf.adapt(train_texts)
    linear = keras.Model(
        inputs,
        layers.Dense(n_classes, name="tfidf_logits")(layers.Dropout(0.5, name="tfidf_dropout")(tfidf(inputs))),
        name="tfidf_linear",
    )
    sequence = layers.TextVectorization(max_tokens=20000, output_sequence_length=sequence_length, name="word_ids")
    sequence.adapt(train_texts)
    x = layers.Embedding(20000, 64, mask_zero=True, name="embedding")(sequence(inputs))
    x = layers.Bidirectional(layers.LSTM(48), name="bilstm")(x)
    bilstm = keras.Model(inputs, layers.Dense(n_classes, name="bilstm_logits")(layers.Dropout(0.4)(x)), name="bilstm")
    return inputs, {"tfidf-linear": (linear, 1e-2), "bilstm": (bilstm, 3e-3)}


def _fit(model, learning_rate, x_train, y_train, x_val, y_val, epochs, progress, tag):
    import keras
    import tensorflow as tf

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(y_train), seed=0).batch(32)
    history = {"epoch": [], "loss": [], "val_loss": [], "val_accuracy": []}
    best = (np.inf, None)
    patience = 0
    for epoch in range(epochs):
        fit = model.fit(train, epochs=1, verbose=0, shuffle=False)
        logits = model.predict(x_val, verbose=0, batch_size=256)
        proba = apply_temperature(logits, 1.0)
        val_loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y_val)), y_val], 1e-12, 1))))
        history["epoch"].append(epoch + 1)
        history["loss"].append(float(fit.history["loss"][0]))
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(float(np.mean(proba.argmax(1) == y_val)))
        progress.update(1)
        progress.set_postfix(model=tag, val_acc=f"{history['val_accuracy'][-1]:.3f}")
        if val_loss < best[0]:
            best, patience = (val_loss, model.get_weights()), 0
        else:
            patience += 1
            if patience >= 5:
                break
    model.set_weights(best[1])
    history["name"] = tag
    return history


def _scores(y_val: np.ndarray, proba: np.ndarray, groups_labels: list[set[int]] | None) -> dict:
    order = np.argsort(-proba, axis=1)
    summary = {
        "accuracy": float(np.mean(order[:, 0] == y_val)),
        "top3_accuracy": float(np.mean([y in row[:3] for y, row in zip(y_val, order)])),
        "log_loss": float(-np.mean(np.log(np.clip(proba[np.arange(len(y_val)), y_val], 1e-12, 1)))),
    }
    from sklearn.metrics import f1_score

    summary["macro_f1"] = float(f1_score(y_val, order[:, 0], average="macro"))
    if groups_labels is not None:
        summary["any_label_accuracy"] = float(
            np.mean([row[0] in allowed for row, allowed in zip(order, groups_labels)])
        )
    return summary


def _baseline(train_texts, y_train, val_texts, y_val, n_classes, groups_labels) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LogisticRegression(C=10.0, max_iter=3000)
    classifier.fit(vectorizer.fit_transform(train_texts), y_train)
    proba = np.zeros((len(val_texts), n_classes))
    proba[:, classifier.classes_] = classifier.predict_proba(vectorizer.transform(val_texts))
    return {
        "method": "scikit-learn TF-IDF (1-2-grams) + logistic regression (C=10)",
        **_scores(y_val, proba, groups_labels),
    }


def train_text_model(
    name: str, data_path: Path, epochs: int | None = None, seed: int = 0, out_dir: Path | None = None, command: str = ""
) -> Path:
    """Train, choose, calibrate and write the bundle of text model ``name`` (see the module doc)."""
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    from medcore.settings import models_dir

    if name not in TEXT_RECIPES:
        raise InvalidInputError(f"Unknown text model '{name}'; expected one of {sorted(TEXT_RECIPES)}.")
    recipe = TEXT_RECIPES[name]
    started = time.time()
    texts, label_names, labels, data_file = load_text_data(name, data_path)
    y = np.array([labels.index(label) for label in label_names])
    train_rows, val_rows = grouped_split(texts, label_names, seed)
    train_texts = [texts[i] for i in train_rows]
    val_texts = [texts[i] for i in val_rows]
    y_train, y_val = y[train_rows], y[val_rows]
    # every label an abstract carries anywhere in the data, for the multi-label-aware score
    all_labels: dict[str, set[int]] = {}
    for text, label in zip(texts, y):
        all_labels.setdefault(_key(text), set()).add(int(label))
    groups_labels = [all_labels[_key(t)] for t in val_texts] if name == "abstract-topic" else None

    epochs = epochs or recipe.epochs
    inputs, candidates = _keras_models(train_texts, len(labels), recipe.sequence_length, seed)
    x_train, x_val = tf.constant(train_texts), tf.constant(val_texts)
    histories, val_logits = [], {}
    with tqdm(total=epochs * len(candidates), desc=f"training {name}", unit="epoch", file=sys.stderr) as progress:
        for tag, (model, learning_rate) in candidates.items():
            histories.append(_fit(model, learning_rate, x_train, y_train, x_val, y_val, epochs, progress, tag))
            val_logits[tag] = model.predict(x_val, verbose=0, batch_size=256).astype(np.float64)
    val_logits["ensemble"] = (val_logits["tfidf-linear"] + val_logits["bilstm"]) / 2
    fitted = {tag: fit_temperature(logits, y_val) for tag, logits in val_logits.items()}
    scores = {tag: _scores(y_val, apply_temperature(val_logits[tag], fitted[tag]), groups_labels) for tag in val_logits}
    chosen = max(scores, key=lambda tag: (round(scores[tag]["accuracy"], 4), -scores[tag]["log_loss"]))
    if chosen == "ensemble":
        shipped = keras.Model(
            inputs,
            keras.layers.Average(name="ensemble_logits")(
                [candidates["tfidf-linear"][0](inputs), candidates["bilstm"][0](inputs)]
            ),
            name="ensemble",
        )
    else:
        shipped = candidates[chosen][0]
    temperature = fitted[chosen]
    raw = apply_temperature(val_logits[chosen], 1.0)
    calibrated = apply_temperature(val_logits[chosen], temperature)
    summary = classification_summary(y_val, calibrated, labels)
    baseline = _baseline(train_texts, y_train, val_texts, y_val, len(labels), groups_labels)
    vocabulary = sorted({word for text in train_texts for word in tokens(text)})

    card = {
        "name": name,
        "version": "1.0.0",
        "kind": "text",
        "task": recipe.task,
        "description": recipe.description,
        "intended_use": recipe.intended_use,
        "out_of_scope_use": recipe.out_of_scope_use,
        "labels": labels,
        "input": {
            "type": "English free text",
            "dtype": "str",
            "max_chars": MAX_CHARS,
            "value_range": "any text; control characters removed, longer text truncated with a warning",
        },
        "preprocessing": {
            "steps": "NFKC normalisation, control characters removed, whitespace collapsed, truncation "
            f"to {MAX_CHARS} characters; inside the model: lower-case, punctuation stripped, "
            "TextVectorization (TF-IDF 1-2-grams and/or word ids)"
        },
        "architecture": {
            "tfidf-linear": "TF-IDF word 1-2-grams (30,000) -> dropout 0.5 -> dense",
            "bilstm": f"word ids ({recipe.sequence_length}) -> embedding 64 -> BiLSTM 48 -> dropout -> dense",
            "ensemble": "average of the two models' logits",
            "shipped": chosen,
        },
        "operating_point": {"rule": "ranked by calibrated probability; top-5 shown"},
        "calibration": {
            "method": "temperature scaling fitted on the validation split",
            "temperature": temperature,
            "validation_before": {"ece": expected_calibration_error(y_val, raw), "brier": brier_score(y_val, raw)},
            "validation_after": {"ece": summary["ece"], "brier": summary["brier"]},
        },
        "training": {
            "dataset": recipe.dataset,
            "data_file": f"{recipe.folder}/{data_file.name}",
            "data_sha256": sha256_file(data_file),
            "split": f"grouped by normalised text, stratified, 80/20 (seed {seed}): {len(train_rows)} train rows, "
            f"{len(val_rows)} validation rows; validation used for early stopping, model choice and calibration",
            "seed": seed,
            "epochs": epochs,
            "epochs_run": {h["name"]: len(h["epoch"]) for h in histories},
            "wall_time_s": time.time() - started,
            "command": command,
        },
        "metrics": {
            "validation": {
                "split": "val",
                "n": int(len(y_val)),
                "auc": summary["auc"],
                **scores[chosen],
                "ece": summary["ece"],
                "brier": summary["brier"],
                "candidates": {tag: score for tag, score in scores.items() if tag != chosen},
                "baseline_tfidf_logreg": baseline,
            }
        },
        "limitations": list(recipe.limitations),
        "ethical_considerations": [
            "Decision support, not a diagnosis: a clinician reviews every result.",
            "Obvious identifiers are masked before analysis, but names are not detected: do not paste them.",
            "The data sets record no demographics, so performance across groups has not been measured.",
        ],
        "data_licence": recipe.licence,
    }
    evaluation = {"split": "val", **summary, "reliability_before": reliability_curve(y_val, raw), "history": histories}
    out_dir = Path(out_dir) if out_dir else models_dir() / name
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.keras"
        shipped.save(model_file)
        vocabulary_file = Path(tmp) / "vocabulary.json"
        vocabulary_file.write_text(json.dumps(vocabulary), encoding="utf-8")
        return write_bundle(out_dir, card, evaluation, {"model.keras": model_file, "vocabulary.json": vocabulary_file})
