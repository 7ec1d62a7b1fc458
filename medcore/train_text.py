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
the validation split, which also chose and calibrated the model.
"""

from __future__ import annotations

import dataclasses
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

__all__ = [
    "TextRecipe",
    "TEXT_RECIPES",
    "load_text_dataset",
    "near_duplicate_groups",
    "grouped_split",
    "aggregate_texts",
    "fit_baseline",
    "text_scores",
    "train_text_model",
]

_NEAR_DUPLICATE = 0.8
_VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class TextRecipe:
    """How one text model is built, trained and described."""

    task: str
    folder: str
    data_files: tuple[str, ...]
    dataset: str
    licence: str
    description: str
    intended_use: str
    out_of_scope_use: str
    limitations: tuple[str, ...]
    sequence_length: int
    balanced: bool = False
    inverse_regularisation: float = 10.0  # scikit-learn's C, for the wide part and the baseline
    word_tokens: int = 30000
    char_tokens: int = 50000
    wide_epochs: int = 30
    encoder_epochs: int = 8
    encoder_dim: int = 32
    batch_size: int = 64
    max_chars: int = 5000


_COMMON_LIMITS = (
    "Validation data come from the same small source as the training data and also chose and calibrated "
    "the model: expect lower figures on new text.",
    "English only; spelling mistakes are tolerated through character n-grams, other languages are refused.",
    "Long text is cut to the first 5,000 characters; the page says so when it happens.",
)

TEXT_RECIPES: dict[str, TextRecipe] = {
    "symptom-text": TextRecipe(
        task="Patient's own description of symptoms -> disease (24 classes)",
        folder="symptom2disease",
        data_files=("symptom2disease_train.csv", "Symptom2Disease.csv", "symptom2disease.csv"),
        dataset="Symptom2Disease (Kaggle, niyarrbarman), 80 % training part",
        licence="not stated by the source (Kaggle); unknown until confirmed, check before redistributing",
        description="Wide-and-deep text classifier (TF-IDF word and character n-grams plus a small Transformer "
        "encoder), calibrated, that ranks 24 diseases from a patient's own description of their symptoms.",
        intended_use="Decision support when a clinician reads a patient's own words (an intake form, a message): "
        "suggests diseases to consider, with the words behind the suggestion.",
        out_of_scope_use="Diagnosis without a clinician; diseases outside the 24 classes (the model always "
        "answers with one of them); clinical notes in medical jargon; languages other than English; children.",
        limitations=_COMMON_LIMITS
        + (
            "Only 24 diseases, 40 short descriptions each, many of them close paraphrases of one another: the "
            "model has seen a narrow way of describing each disease.",
            "The descriptions are synthetic-sounding first-person texts, not real patients' messages.",
        ),
        sequence_length=64,
        wide_epochs=30,
        encoder_epochs=10,
    ),
    "abstract-topic": TextRecipe(
        task="Clinical text (medical abstract) -> condition class (5 classes)",
        folder="medical_abstracts",
        data_files=("medical_abstracts_train.csv", "medical_tc_train.csv", "medical_tc_test.csv"),
        dataset="Medical Abstracts TC corpus (Schopf et al. 2022), 80 % part of the official test file",
        licence="CC BY-SA 3.0 (sebischair/Medical-Abstracts-TC-Corpus)",
        description="Wide-and-deep text classifier (TF-IDF word and character n-grams plus a small Transformer "
        "encoder), calibrated, that sorts a medical abstract or clinical text into one of 5 condition classes.",
        intended_use="Routing and triage of medical literature or clinical text by condition class, reviewed by a "
        "person; shows the words behind the suggestion.",
        out_of_scope_use="Any decision about an individual patient; conditions outside the 5 classes; "
        "non-English text.",
        limitations=_COMMON_LIMITS
        + (
            "The classes overlap ('general pathological conditions' is a catch-all) and 4 % of the abstracts "
            "carry two labels, so even a perfect reader cannot reach 100 % plain accuracy; 'any of its labels' "
            "accuracy is reported beside it.",
            "Trained on 1,800 abstracts only (the official 11,550-abstract training file was not available).",
            "Trained with class-balanced weights (better macro-F1), which moves probability towards the smaller "
            "classes; temperature scaling cannot undo that, so read the reliability curve before trusting a "
            "probability.",
        ),
        sequence_length=128,
        balanced=True,
        wide_epochs=30,
        encoder_epochs=6,
    ),
}

_ABSTRACT_LABELS = (
    "neoplasms",
    "digestive system diseases",
    "nervous system diseases",
    "cardiovascular diseases",
    "general pathological conditions",
)


# -- data -------------------------------------------------------------------------------------
def _find_file(recipe: TextRecipe, data_path: Path) -> Path:
    data_path = Path(data_path)
    if data_path.is_file():
        return data_path
    for folder in (data_path / recipe.folder, data_path):
        for file_name in recipe.data_files:
            if (folder / file_name).is_file():
                return folder / file_name
    raise InvalidInputError(
        f"No {recipe.folder} data under '{data_path}': expected one of {list(recipe.data_files)} in it or in its "
        f"'{recipe.folder}/' folder. Pass --data with the shared data folder or the data set's own folder."
    )


def _column(frame, candidates: tuple[str, ...], file_name: str) -> str:
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    raise InvalidInputError(
        f"'{file_name}' has columns {list(frame.columns)}; expected one of {list(candidates)}. "
        "Use the data set's own CSV layout."
    )


def load_text_dataset(name: str, data_path: Path | str) -> tuple[list[str], list[str], list[str], Path]:
    """Read the labelled CSV of text model ``name``.

    Args:
        name: a key of ``TEXT_RECIPES``.
        data_path: the data root (holding ``symptom2disease/`` or ``medical_abstracts/``), the
            data set's own folder, or its CSV file.

    Returns:
        ``(texts, labels, label_names, data_file)``: one text and one label name per row
        (names stripped; abstracts' 1-5 mapped through ``medical_tc_labels.csv``), the
        model's label order, and the file read.

    Raises:
        InvalidInputError: no such file, or columns/labels that do not fit the layout.
    """
    import pandas as pd

    recipe = TEXT_RECIPES[name]
    data_file = _find_file(recipe, Path(data_path))
    frame = pd.read_csv(data_file)
    if name == "abstract-topic":
        text_column = _column(frame, ("medical_abstract", "text", "abstract"), data_file.name)
        label_column = _column(frame, ("condition_label", "label"), data_file.name)
        names = dict(enumerate(_ABSTRACT_LABELS, start=1))
        labels_file = data_file.parent / "medical_tc_labels.csv"
        if labels_file.is_file():
            table = pd.read_csv(labels_file)
            names = {int(k): str(v).strip() for k, v in zip(table["condition_label"], table["condition_name"])}
        unknown = sorted(set(frame[label_column]) - set(names))
        if unknown:
            raise InvalidInputError(f"'{data_file.name}' has labels {unknown}; expected {sorted(names)}.")
        labels = [names[int(v)] for v in frame[label_column]]
        label_names = [names[k] for k in sorted(names)]
    else:
        text_column = _column(frame, ("text", "symptoms", "description"), data_file.name)
        label_column = _column(frame, ("label", "disease", "prognosis"), data_file.name)
        labels = [str(v).strip() for v in frame[label_column]]
        label_names = sorted(set(labels), key=str.casefold)
    texts = [str(v).strip() for v in frame[text_column].fillna("")]
    return texts, labels, label_names, data_file


def normalised(text: str) -> str:
    """The grouping key of a text: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def near_duplicate_groups(texts: list[str], threshold: float = _NEAR_DUPLICATE) -> np.ndarray:
    """Group index per text: equal normalised texts and chains of word-set Jaccard >= ``threshold``.

    Returns:
        int array (N,); texts sharing a value must stay on the same side of a split.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    n = len(texts)
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first: dict[str, int] = {}
    for index, text in enumerate(texts):
        key = normalised(text)
        if key in first:
            parent[root(index)] = root(first[key])
        else:
            first[key] = index
    try:
        words = CountVectorizer(binary=True, token_pattern=r"[a-z0-9']+").fit_transform(texts).astype(np.float32)
    except ValueError:  # no words at all
        words = None
    if words is not None:
        words = words.tocsr()
        sizes = np.asarray(words.sum(axis=1)).ravel()
        for start in range(0, n, 512):  # blocks keep memory at 512 x N
            overlap = (words[start : start + 512] @ words.T).toarray()
            union = sizes[start : start + 512, None] + sizes[None, :] - overlap
            rows, columns = np.nonzero(overlap >= threshold * np.maximum(union, 1e-9))
            for a, b in zip(rows + start, columns):
                if a < b:
                    parent[root(a)] = root(b)
    roots = [root(i) for i in range(n)]
    index_of = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return np.array([index_of[r] for r in roots], dtype=int)


def grouped_split(
    texts: list[str], labels: list[str], seed: int = 0, fraction: float = _VALIDATION_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic grouped, stratified train/validation split.

    Groups come from ``near_duplicate_groups``; each group is stratified by its first row's
    label; within each label (sorted) the groups are permuted with ``RandomState(seed)`` and
    ``round(fraction x groups)`` go to validation.

    Returns:
        ``(train_rows, validation_rows)``: sorted int arrays of row indices.
    """
    groups = near_duplicate_groups(texts)
    group_label: dict[int, str] = {}
    for group, label in zip(groups, labels):
        group_label.setdefault(int(group), label)
    rng = np.random.RandomState(seed)
    validation_groups: set[int] = set()
    for label in sorted(set(group_label.values())):
        members = np.array(sorted(g for g, lab in group_label.items() if lab == label))
        members = members[rng.permutation(len(members))]
        validation_groups.update(members[: int(round(fraction * len(members)))].tolist())
    in_validation = np.array([int(g) in validation_groups for g in groups])
    return np.flatnonzero(~in_validation), np.flatnonzero(in_validation)


def aggregate_texts(texts: list[str], y: np.ndarray, n_classes: int) -> tuple[list[str], np.ndarray]:
    """Distinct texts (first spelling kept) with soft targets (N_distinct, K): each label's share."""
    order: dict[str, int] = {}
    kept: list[str] = []
    counts: list[np.ndarray] = []
    for text, label in zip(texts, y):
        key = normalised(text)
        if key not in order:
            order[key] = len(kept)
            kept.append(text)
            counts.append(np.zeros(n_classes))
        counts[order[key]][label] += 1
    targets = np.array(counts)
    return kept, targets / targets.sum(axis=1, keepdims=True)


# -- metrics ----------------------------------------------------------------------------------
def text_scores(y_true: np.ndarray, proba: np.ndarray, texts: list[str]) -> dict:
    """Top-1, top-3, macro-F1, log-loss and 'any of its labels' top-1 of predictions on rows.

    Args:
        y_true: int array (N,) of label indices, one per row (a text listed under two
            labels is two rows).
        proba: float array (N, K).
        texts: the N row texts; rows with the same normalised text are one distinct text.

    Returns:
        dict of floats: ``accuracy``, ``top3_accuracy``, ``macro_f1``, ``nll``,
        ``any_label_accuracy`` (over distinct texts: the top class is one of the text's
        labels) and ``n_texts``.
    """
    from sklearn.metrics import f1_score

    y_true = np.asarray(y_true).astype(int)
    top3 = np.argsort(-proba, axis=1)[:, :3]
    label_sets: dict[str, set[int]] = {}
    top_of: dict[str, int] = {}
    for text, label, row in zip(texts, y_true, proba):
        key = normalised(text)
        label_sets.setdefault(key, set()).add(int(label))
        top_of[key] = int(np.argmax(row))
    return {
        "accuracy": float(np.mean(proba.argmax(axis=1) == y_true)),
        "top3_accuracy": float(np.mean([label in row for label, row in zip(y_true, top3)])),
        "macro_f1": float(
            f1_score(y_true, proba.argmax(axis=1), average="macro", labels=range(proba.shape[1]), zero_division=0)
        ),
        "nll": float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], 1e-12, 1.0)))),
        "any_label_accuracy": float(np.mean([top_of[key] in labels for key, labels in label_sets.items()])),
        "n_texts": len(label_sets),
    }


# -- the network ------------------------------------------------------------------------------
def _vectorizers(recipe: TextRecipe, train_texts: list[str]):
    import keras
    import tensorflow as tf

    from medcore.text_model import char_wb_ngrams

    words = keras.layers.TextVectorization(
        max_tokens=recipe.word_tokens, ngrams=2, output_mode="count", name="words_tfidf_counts"
    )
    characters = keras.layers.TextVectorization(
        max_tokens=recipe.char_tokens, split=char_wb_ngrams, output_mode="count", name="chars_tfidf_counts"
    )
    sequence = keras.layers.TextVectorization(
        max_tokens=20000, output_sequence_length=recipe.sequence_length, name="words_sequence"
    )
    corpus = tf.constant(train_texts)
    for layer in (words, characters, sequence):
        layer.adapt(corpus, batch_size=256)
    return words, characters, sequence


def _batched(function, texts: list[str], batch: int = 128):
    import tensorflow as tf

    return [function(tf.constant(texts[start : start + batch])) for start in range(0, len(texts), batch)]


def _tfidf_layers(train_texts: list[str], words, characters):
    """SublinearTfidf layers whose idf (scikit-learn's smooth idf) comes from the training texts."""
    from medcore.text_model import SublinearTfidf

    layers = []
    for vectorizer, name in ((words, "words_tfidf"), (characters, "chars_tfidf")):
        size = vectorizer.vocabulary_size()
        document_frequency = np.zeros(size)
        for counts in _batched(vectorizer, train_texts):
            document_frequency += (counts.numpy() > 0).sum(axis=0)
        idf = np.log((1 + len(train_texts)) / (1 + document_frequency)) + 1
        idf[0] = 0.0  # out-of-vocabulary bucket
        layer = SublinearTfidf(size, name=name)
        layer.idf.assign(idf.astype(np.float32))
        layers.append(layer)
    return layers


def _encoder_branch(ids, recipe: TextRecipe, vocabulary_size: int, n_classes: int):
    import keras

    from medcore.text_model import MaskedMeanMaxPooling, TokenAndPositionEmbedding

    dim = recipe.encoder_dim
    hidden = TokenAndPositionEmbedding(vocabulary_size, recipe.sequence_length, dim, name="encoder_embedding")(ids)
    hidden = keras.layers.Dropout(0.2, name="encoder_embedding_dropout")(hidden)
    attention = keras.layers.MultiHeadAttention(2, dim // 2, dropout=0.1, name="encoder_attention")(hidden, hidden)
    hidden = keras.layers.LayerNormalization(name="encoder_norm_1")(keras.layers.Add()([hidden, attention]))
    feed = keras.layers.Dense(2 * dim, activation="gelu", name="encoder_ffn_1")(hidden)
    feed = keras.layers.Dropout(0.1, name="encoder_ffn_dropout")(keras.layers.Dense(dim, name="encoder_ffn_2")(feed))
    hidden = keras.layers.LayerNormalization(name="encoder_norm_2")(keras.layers.Add()([hidden, feed]))
    pooled = MaskedMeanMaxPooling(name="encoder_pool")(hidden, ids)
    pooled = keras.layers.Dropout(0.5, name="encoder_dropout")(pooled)
    # Zero output: before its own training the encoder adds nothing to the wide part's logits.
    return keras.layers.Dense(n_classes, kernel_initializer="zeros", name="encoder_logits")(pooled)


def _build_core(width: int, recipe: TextRecipe, vocabulary_size: int, n_classes: int, l2: float):
    """The trainable network on precomputed inputs: (TF-IDF (N, width), token ids (N, S)) -> logits.

    Returns:
        ``(core, wide_only)``; ``wide_only`` shares the wide layer and sees the TF-IDF alone.
    """
    import keras

    feature_input = keras.Input(shape=(width,), name="tfidf")
    ids_input = keras.Input(shape=(recipe.sequence_length,), dtype="int64", name="token_ids")
    wide = keras.layers.Dense(n_classes, kernel_regularizer=keras.regularizers.L2(l2), name="wide_logits")
    wide_logits = wide(feature_input)
    encoder_logits = _encoder_branch(ids_input, recipe, vocabulary_size, n_classes)
    core = keras.Model(
        [feature_input, ids_input], keras.layers.Add(name="logits")([wide_logits, encoder_logits]), name="core"
    )
    return core, keras.Model(feature_input, wide_logits, name="wide")


def _to_sparse(batches) -> object:
    import scipy.sparse as sp

    return sp.vstack([sp.csr_matrix(b.numpy()) for b in batches]).tocsr()


def _make_batches(features, ids, targets, weights, batch_size: int, seed: int):
    import keras

    class Batches(keras.utils.PyDataset):
        """Shuffled mini-batches; TF-IDF rows are kept sparse and made dense per batch.

        With ``ids`` None the inputs are the TF-IDF rows alone (the wide stage).
        """

        def __init__(self):
            super().__init__()
            self.rng = np.random.RandomState(seed)
            self.order = self.rng.permutation(len(targets))

        def __len__(self):
            return int(np.ceil(len(targets) / batch_size))

        def __getitem__(self, index):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            dense = features[rows].toarray().astype(np.float32)
            inputs = dense if ids is None else (dense, ids[rows])
            return inputs, targets[rows].astype(np.float32), weights[rows].astype(np.float32)

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(targets))

    return Batches()


def _calibrated_nll(logits: np.ndarray, y_true: np.ndarray) -> float:
    proba = apply_temperature(logits, fit_temperature(logits, y_true))
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], 1e-12, 1.0))))


def _train_network(recipe, seed, train_texts, targets, weights, val_texts, y_val, progress):
    """Fit the wide part, then the encoder; return the end-to-end model and the histories."""
    import keras
    import tensorflow as tf

    n_classes = targets.shape[1]
    words, characters, sequence = _vectorizers(recipe, train_texts)
    word_tfidf, char_tfidf = _tfidf_layers(train_texts, words, characters)

    def features(batch):
        return tf.concat([word_tfidf(words(batch)), char_tfidf(characters(batch))], axis=1)

    x_train, x_val = _to_sparse(_batched(features, train_texts)), _to_sparse(_batched(features, val_texts))
    ids_train = np.concatenate([b.numpy() for b in _batched(sequence, train_texts)])
    ids_val = np.concatenate([b.numpy() for b in _batched(sequence, val_texts)])
    x_val_dense = x_val.toarray().astype(np.float32)

    # L2 equal to scikit-learn's LogisticRegression(C) objective averaged over the examples.
    l2 = 1.0 / (2.0 * recipe.inverse_regularisation * len(train_texts))
    core, wide_only = _build_core(x_train.shape[1], recipe, sequence.vocabulary_size(), n_classes, l2)
    wide = wide_only.get_layer("wide_logits")
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    histories = []
    stages = (
        ("wide", wide_only, None, x_val_dense, recipe.wide_epochs, 1e-2),
        ("encoder", core, ids_train, (x_val_dense, ids_val), recipe.encoder_epochs, 1e-3),
    )
    for stage, model, stage_ids, val_inputs, epochs, rate in stages:
        wide.trainable = stage == "wide"
        batches = _make_batches(x_train, stage_ids, targets, weights, recipe.batch_size, seed)
        schedule = keras.optimizers.schedules.CosineDecay(rate, max(1, len(batches) * epochs))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["categorical_accuracy"])
        history: dict = {"stage": stage, "epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}

        def score(model=model, val_inputs=val_inputs, history=history) -> tuple[float, float]:
            """(validation accuracy, temperature-scaled validation log-loss); history gets raw figures."""
            logits = model(val_inputs, training=False).numpy().astype(np.float64)
            raw = apply_temperature(logits, 1.0)
            history["val_loss"].append(float(-np.mean(np.log(np.clip(raw[np.arange(len(y_val)), y_val], 1e-12, 1)))))
            history["val_accuracy"].append(float(np.mean(raw.argmax(axis=1) == y_val)))
            return history["val_accuracy"][-1], _calibrated_nll(logits, y_val)

        def better(candidate: tuple[float, float], incumbent: tuple[float, float]) -> bool:
            # The same rule as the final choice: accuracy first, then calibrated log-loss.
            return candidate[0] > incumbent[0] or (candidate[0] == incumbent[0] and candidate[1] < incumbent[1])

        best = {"score": (-1.0, np.inf), "weights": None, "epoch": 0}
        if stage == "encoder":  # epoch 0: the encoder still adds nothing
            history["epoch"].append(0)
            history["loss"].append(histories[0]["loss"][-1])
            history["accuracy"].append(histories[0]["accuracy"][-1])
            best = {"score": score(), "weights": model.get_weights(), "epoch": 0}
        for epoch in range(1, epochs + 1):
            fit = model.fit(batches, epochs=1, verbose=0, shuffle=False)
            current = score()
            history["epoch"].append(epoch)
            history["loss"].append(float(fit.history["loss"][0]))
            history["accuracy"].append(float(fit.history["categorical_accuracy"][0]))
            # The wide stage is a convex problem (logistic regression): keep where it converged.
            if (stage == "wide" and epoch == epochs) or (stage == "encoder" and better(current, best["score"])):
                best = {"score": current, "weights": model.get_weights(), "epoch": epoch}
            progress.update(1)
            progress.set_postfix(stage=stage, val_acc=f"{current[0]:.3f}", cal_nll=f"{current[1]:.3f}")
        model.set_weights(best["weights"])
        history["best_epoch"] = best["epoch"]
        histories.append(history)

    # A fresh, never compiled copy, so model.keras carries no optimiser state.
    trained = core
    core, _ = _build_core(x_train.shape[1], recipe, sequence.vocabulary_size(), n_classes, l2)
    core.set_weights(trained.get_weights())
    text_input = keras.Input(shape=(), dtype="string", name="text")
    tfidf = keras.layers.Concatenate(name="tfidf_concat")(
        [word_tfidf(words(text_input)), char_tfidf(characters(text_input))]
    )
    end_to_end = keras.Model(text_input, core([tfidf, sequence(text_input)]), name="text_classifier")
    check = core((x_val_dense[:32], ids_val[:32]), training=False).numpy()
    return end_to_end, histories, check


def fit_baseline(train_texts, targets, recipe: TextRecipe):
    """scikit-learn TF-IDF (word 1-2-grams, sublinear tf) + multinomial logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from medcore.text_model import TfidfLogisticBaseline

    rows, columns = np.nonzero(targets)  # one weighted row per (text, label) pair
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform([train_texts[r] for r in rows])
    classifier = LogisticRegression(C=recipe.inverse_regularisation, max_iter=2000)
    classifier.fit(features, columns, sample_weight=targets[rows, columns])
    return TfidfLogisticBaseline.from_sklearn(vectorizer, classifier), (vectorizer, classifier)


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

    from medcore.settings import models_dir

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
    train_rows, val_rows = grouped_split(texts, label_names_per_row, seed)
    val_texts, y_val = [texts[i] for i in val_rows], y[val_rows]
    train_texts, targets = aggregate_texts([texts[i] for i in train_rows], y[train_rows], len(labels))
    weights = np.ones(len(train_texts))
    if recipe.balanced:  # each class weighs the same in total, as scikit-learn's "balanced"
        mass = targets.sum(axis=0)
        weights = targets @ (len(train_texts) / (len(labels) * np.maximum(mass, 1e-9)))

    with tqdm(
        total=recipe.wide_epochs + recipe.encoder_epochs, desc=f"training {name}", unit="epoch", file=sys.stderr
    ) as progress:
        network, histories, check = _train_network(
            recipe, seed, train_texts, targets, weights, val_texts, y_val, progress
        )
        baseline, (vectorizer, classifier) = fit_baseline(train_texts, targets, recipe)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        network.save(tmp / "model.keras")
        keras.backend.clear_session(free_memory=False)
        reloaded = keras.saving.load_model(tmp / "model.keras", compile=False, safe_mode=True)
        net_logits = np.concatenate([b.numpy() for b in _batched(lambda t: reloaded(t, training=False), val_texts)])
        net_logits = net_logits.astype(np.float64)
        if not np.allclose(net_logits[:32], check, atol=1e-3):
            raise RuntimeError("the saved text model does not reproduce the trained one's logits")
        base_logits = baseline.logits(val_texts)
        if not np.allclose(base_logits, classifier.decision_function(vectorizer.transform(val_texts)), atol=1e-6):
            raise RuntimeError("the exported baseline does not reproduce scikit-learn's decision function")

        temperatures = {"network": fit_temperature(net_logits, y_val), "baseline": fit_temperature(base_logits, y_val)}
        calibrated = {
            "network": apply_temperature(net_logits, temperatures["network"]),
            "baseline": apply_temperature(base_logits, temperatures["baseline"]),
        }
        average = (calibrated["network"] + calibrated["baseline"]) / 2
        ensemble_temperature = fit_temperature(np.log(np.clip(average, 1e-12, 1)), y_val)
        calibrated["ensemble"] = apply_temperature(np.log(np.clip(average, 1e-12, 1)), ensemble_temperature)
        scores = {key: text_scores(y_val, proba, val_texts) for key, proba in calibrated.items()}
        shipped = max(("network", "ensemble"), key=lambda k: (scores[k]["accuracy"], -scores[k]["nll"]))
        members = ["network"] if shipped == "network" else ["network", "baseline"]
        proba = calibrated[shipped]
        raw_logits = net_logits if shipped == "network" else (net_logits + base_logits) / 2
        raw = apply_temperature(raw_logits, 1.0)  # before any calibration
        summary = classification_summary(y_val, proba, labels)

        staged = {"model.keras": tmp / "model.keras"}
        if "baseline" in members:
            baseline.save(tmp / "baseline_vocabulary.json", tmp / "baseline.npz")
            staged.update(
                {"baseline_vocabulary.json": tmp / "baseline_vocabulary.json", "baseline.npz": tmp / "baseline.npz"}
            )

        def figures(key: str, method: str) -> dict:
            other = classification_summary(y_val, calibrated[key], labels)
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
            "version": "1.0.0",
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
                "method": "temperature scaling of each member's logits on the validation split"
                + (
                    "; members' probabilities averaged, then one more temperature on the average"
                    if shipped != "network"
                    else ""
                ),
                "members": members,
                "temperatures": {m: temperatures[m] for m in members},
                "ensemble_temperature": ensemble_temperature if shipped != "network" else 1.0,
                "validation_before": {"ece": expected_calibration_error(y_val, raw), "brier": brier_score(y_val, raw)},
                "validation_after": {"ece": summary["ece"], "brier": summary["brier"]},
            },
            "training": {
                "dataset": recipe.dataset,
                "data_file": f"{recipe.folder}/{data_file.name}",
                "data_sha256": sha256_file(data_file),
                "split": f"{len(train_rows)} rows ({len(train_texts)} distinct texts) to fit, {len(val_rows)} rows "
                f"({scores[shipped]['n_texts']} distinct texts) to validate: {_VALIDATION_FRACTION:.0%} of the "
                f"groups per label, grouped by normalised text and word-set Jaccard >= {_NEAR_DUPLICATE} so no "
                "duplicate or near paraphrase straddles the split; validation also chose and calibrated the model",
                "seed": seed,
                "epochs": recipe.wide_epochs + recipe.encoder_epochs,
                "best_epochs": {h["stage"]: h["best_epoch"] for h in histories},
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
                    "split": "validation",
                    "n": summary["n"],
                    "n_texts": scores[shipped]["n_texts"],
                    "accuracy": summary["accuracy"],
                    "top3_accuracy": scores[shipped]["top3_accuracy"],
                    "macro_f1": summary["macro_f1"],
                    "any_label_accuracy": scores[shipped]["any_label_accuracy"],
                    "auc": summary["auc"],
                    "ece": summary["ece"],
                    "brier": summary["brier"],
                    "nll": scores[shipped]["nll"],
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
                "Mask identifiers (medcore.deid.mask_identifiers) before text is stored or shared.",
                "Word highlights show which words moved the result, not medical reasoning.",
            ],
            "data_licence": recipe.licence,
        }
        evaluation = {
            "split": "validation",
            **summary,
            "top3_accuracy": scores[shipped]["top3_accuracy"],
            "any_label_accuracy": scores[shipped]["any_label_accuracy"],
            "reliability_before": reliability_curve(y_val, raw),
            "ece_before": expected_calibration_error(y_val, raw),
            "history": histories,
            "baseline": {
                k: v for k, v in classification_summary(y_val, calibrated["baseline"], labels).items() if k != "roc"
            },
        }
        out_dir = Path(out_dir) if out_dir else models_dir() / name
        return write_bundle(out_dir, card, evaluation, staged)
