"""Free-text models (medcore.text.model, medcore.text.train): split, baseline, model contract.

Unit tests build tiny data in code; one module-scoped fixture trains a tiny bundle (a few
epochs, seconds) so the contract is checked on a real, reloaded ``model.keras``. Tests marked
``data`` read the shared data sets and check the shipped bundles reproduce their cards.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.text.data import grouped_split, near_duplicate_groups, normalised
from medcore.text.evaluate import text_scores

TEXT_MODELS = ("symptom-text", "abstract-topic")

_VOCABULARY = {
    "flu": "fever chills cough aching muscles tired sore throat runny nose headache sweating shivering".split(),
    "eczema": "itchy rash dry skin red patches scaly flaking cracked elbows knees burning peeling".split(),
    "gastritis": "stomach pain nausea vomiting bloated burning belly heartburn appetite meals acid burping".split(),
}
_FILLER = "i have been feeling my and the with for days weeks lately".split()


def _tiny_corpus(seed: int = 42, per_label: int = 12) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, words in _VOCABULARY.items():
        for _ in range(per_label):
            chosen = list(rng.choice(words, 6, replace=False)) + list(rng.choice(_FILLER, 3, replace=False))
            rng.shuffle(chosen)
            texts.append(" ".join(chosen).capitalize() + ".")
            labels.append(label)
    return texts, labels


# -- split -------------------------------------------------------------------------------
def test_duplicates_and_near_paraphrases_share_a_group():
    texts = [
        "I have a red itchy rash on my arms and legs",
        "i have a  RED itchy rash on my arms and legs",  # same once normalised
        "I have a red itchy rash on my arms and my legs",  # near paraphrase (Jaccard 0.9)
        "My stomach hurts after every meal and I feel sick",
    ]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_grouped_split_is_deterministic_stratified_and_never_straddles():
    texts, labels = _tiny_corpus()
    texts += [texts[0], texts[13].upper()]  # duplicates of a flu and an eczema text
    labels += [labels[0], labels[13]]
    train, val = grouped_split(texts, labels, seed=0)
    again = grouped_split(texts, labels, seed=0)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    assert not {normalised(texts[i]) for i in train} & {normalised(texts[i]) for i in val}
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(texts)))
    assert {labels[i] for i in val} == set(_VOCABULARY)  # every label validated
    assert not np.array_equal(val, grouped_split(texts, labels, seed=1)[1])


def test_any_label_accuracy_counts_a_text_right_when_the_top_class_is_one_of_its_labels():
    texts = ["same abstract", "same abstract", "other abstract"]
    y_true = np.array([0, 1, 2])
    proba = np.array([[0.6, 0.3, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    scores = text_scores(y_true, proba, texts)
    assert scores["accuracy"] == pytest.approx(1 / 3)
    assert scores["any_label_accuracy"] == pytest.approx(1 / 2)
    assert scores["n_texts"] == 2
    assert scores["top3_accuracy"] == 1.0


# -- baseline without pickle -------------------------------------------------------------------
def test_baseline_reproduces_scikit_learn_and_round_trips_without_pickle(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from medcore.text.layers import TfidfLogisticBaseline

    texts, labels = _tiny_corpus()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LogisticRegression(C=10, max_iter=1000).fit(vectorizer.fit_transform(texts), labels)
    baseline = TfidfLogisticBaseline.from_sklearn(vectorizer, classifier)
    unseen = ["Fever and chills, my muscles ache!", "dry itchy skin on the knees", "no known words here zzz"]
    expected = classifier.decision_function(vectorizer.transform(unseen))
    np.testing.assert_allclose(baseline.logits(unseen), expected, atol=1e-9)

    baseline.save(tmp_path / "vocabulary.json", tmp_path / "baseline.npz")
    with np.load(tmp_path / "baseline.npz", allow_pickle=False) as arrays:
        assert all(arrays[key].dtype.kind == "f" for key in arrays.files)
    loaded = TfidfLogisticBaseline.load(tmp_path / "vocabulary.json", tmp_path / "baseline.npz")
    np.testing.assert_allclose(loaded.logits(unseen), expected, atol=1e-9)


def test_grouped_folds_keep_paraphrases_together_and_balance_labels():
    from medcore.text.data import grouped_folds

    words = "itch fever cough rash ache pain swelling nausea chills sweat thirst fatigue blur cramp bleed sneeze wheeze burn numb spasm".split()
    texts = [f"{words[i]} {words[(i * 7 + 3) % 20]} for {i + 2} days" for i in range(20)]  # 20 distinct texts
    texts += [text.upper() for text in texts[:4]]  # exact duplicates (case aside) of the first four
    labels = ["eczema" if i % 2 else "psoriasis" for i in range(20)] + [
        "eczema" if i % 2 else "psoriasis" for i in range(4)
    ]
    fold = grouped_folds(texts, labels, 4, seed=0)
    assert fold.shape == (24,) and set(fold) == {0, 1, 2, 3}
    assert all(fold[i] == fold[20 + i] for i in range(4))  # a duplicate never lands in another fold
    assert (grouped_folds(texts, labels, 4, seed=0) == fold).all()  # deterministic
    for label in ("eczema", "psoriasis"):
        counts = np.bincount(fold[[i for i, lab in enumerate(labels) if lab == label]], minlength=4)
        assert counts.max() - counts.min() <= 3


# -- a tiny trained bundle --------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory) -> Path:
    """A symptom-text bundle trained for 3 epochs on 36 generated texts (about 20 s)."""
    import pandas as pd

    from medcore.text.train import train_text_model

    root = tmp_path_factory.mktemp("text")
    texts, labels = _tiny_corpus()
    (root / "symptom2disease").mkdir()
    pd.DataFrame({"label": [f" {label} " for label in labels], "text": texts}).to_csv(
        root / "symptom2disease" / "symptom2disease_train.csv"
    )
    return train_text_model("symptom-text", root, epochs=3, out_dir=root / "models" / "symptom-text", command="test")


@pytest.fixture(scope="module")
def tiny_model(tiny_bundle):
    from medcore.core.registry import verify_bundle
    from medcore.text.model import load_text_model

    return load_text_model(tiny_bundle, verify_bundle(tiny_bundle))


@pytest.mark.slow
def test_the_cross_validated_figure_is_out_of_fold_not_read_back_on_training_rows(tmp_path):
    """Issue 29 item 8: labels shuffled at random carry nothing to learn, so an honest out-of-fold
    accuracy is near chance (1/3), while the shipped model, which saw every row, reads its own
    training rows far better. A card reporting the in-sample figure as cross-validated fails here."""
    import pandas as pd

    from medcore.core.registry import verify_bundle
    from medcore.text.model import load_text_model
    from medcore.text.train import train_text_model

    texts, labels = _tiny_corpus()
    labels = list(np.random.default_rng(7).permutation(labels))
    (tmp_path / "symptom2disease").mkdir()
    pd.DataFrame({"label": labels, "text": texts}).to_csv(tmp_path / "symptom2disease" / "symptom2disease_train.csv")
    bundle = train_text_model("symptom-text", tmp_path, epochs=3, out_dir=tmp_path / "m", command="test")
    model = load_text_model(bundle, verify_bundle(bundle))
    validation = model.card["metrics"]["validation"]
    assert "cross-validation" in validation["split"] and validation["n"] == len(texts)
    in_sample = np.mean([model.labels[i] for i in model.predict_proba(texts).argmax(axis=1)] == np.array(labels))
    assert validation["accuracy"] <= 0.6  # chance is 1/3; 0.6 is 3.4 standard deviations above it at n=36
    assert in_sample - validation["accuracy"] >= 0.2, (in_sample, validation["accuracy"])


@pytest.mark.slow
def test_bundle_card_has_every_key_and_no_pickle(tiny_bundle):
    from medcore.core.bundle import REQUIRED_CARD_KEYS

    card = json.loads((tiny_bundle / "card.json").read_text())
    assert all(key in card for key in REQUIRED_CARD_KEYS)
    assert card["kind"] == "text"
    assert card["labels"] == ["eczema", "flu", "gastritis"]  # stripped, sorted
    validation = card["metrics"]["validation"]
    for key in ("split", "n", "accuracy", "top3_accuracy", "macro_f1", "any_label_accuracy", "baseline"):
        assert key in validation
    # symptom-text is cross-validated: every one of the 36 rows was predicted by a model that never saw it
    assert "cross-validation" in validation["split"] and validation["n"] == 36
    assert card["training"]["chosen_on"].startswith("out-of-fold")
    low, high = validation["accuracy_ci95"]
    assert low <= validation["accuracy"] <= high
    assert {"accuracy", "top3_accuracy", "macro_f1"} <= set(validation["baseline"])
    assert {"ece", "brier"} <= set(card["calibration"]["validation_before"])
    assert set(card["files"]) <= {
        "model.keras",
        "evaluation.json",
        "README.md",
        "baseline_vocabulary.json",
        "baseline.npz",
    }
    assert not list(tiny_bundle.glob("*.pkl")) and not list(tiny_bundle.glob("*.joblib"))
    evaluation = json.loads((tiny_bundle / "evaluation.json").read_text())
    assert {"confusion_matrix", "per_class", "roc", "pr", "reliability", "history"} <= set(evaluation)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(evaluation["history"][0])


@pytest.mark.slow
def test_raw_strings_give_calibrated_probabilities(tiny_model):
    assert tiny_model.kind == "text" and tiny_model.name == "symptom-text"
    assert tiny_model.labels == ["eczema", "flu", "gastritis"] and isinstance(tiny_model.max_chars, int)
    proba = tiny_model.predict_proba(["I have fever, chills and a cough", "itchy dry red rash on my elbows"])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert proba[0].argmax() == tiny_model.labels.index("flu")
    assert proba[1].argmax() == tiny_model.labels.index("eczema")
    assert tiny_model.card["calibration"]["temperatures"]["network"] > 0


@pytest.mark.slow
def test_explain_weights_every_word_in_text_order(tiny_model):
    text = "Itchy red rash, and I have dry skin on my knees"
    weights = tiny_model.explain(text)
    assert [word for word, _ in weights] == [
        "Itchy",
        "red",
        "rash",
        "and",
        "I",
        "have",
        "dry",
        "skin",
        "on",
        "my",
        "knees",
    ]
    assert all(np.isfinite(weight) for _, weight in weights)
    by_word = dict(weights)
    assert by_word["rash"] > 0 and by_word["rash"] > by_word["on"]
    with pytest.raises(InvalidInputError, match="out of range"):
        tiny_model.explain(text, class_index=7)


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad, message",
    [
        ("fever and chills", "list of texts"),
        ([], "empty list"),
        ([3], "got int"),
        ([None], "got NoneType"),
        ([""], "at least a few words"),
        (["   \n\t "], "at least a few words"),
        (["发烧咳嗽头痛"], "reads English.*Chinese"),
        (["температура и кашель"], "reads English.*Cyrillic"),
        (["12345 !!! ??"], "reads English"),
        (["qwxz plorf zzyzx"], "vocabulary"),
        (["fever and chills", ""], "Text 2 of 2"),
    ],
)
def test_bad_input_is_refused_with_a_useful_message(tiny_model, bad, message):
    with pytest.raises(InvalidInputError, match=message):
        tiny_model.predict_proba(bad)


@pytest.mark.slow
def test_control_characters_are_stripped_not_refused(tiny_model):
    cleaned, warnings = tiny_model.prepare("fever\x00 and\x07 chills\u200b\x1b")
    assert cleaned == "fever and chills"
    assert any("control" in w for w in warnings)
    assert tiny_model.predict_proba(["fever\x00 and\x07 chills"]).shape == (1, 3)


def test_longest_accepted_text_is_truncated_and_reported(tiny_model):
    longest = ("fever chills cough " * 6000)[: LIMITS["max_text_chars"]]
    cleaned, warnings = tiny_model.prepare(longest)
    proba = tiny_model.predict_proba([longest])
    assert len(cleaned) == tiny_model.max_chars
    assert warnings == [
        f"Text was truncated from 100,000 to {tiny_model.max_chars:,} characters: only the beginning was analysed."
    ]
    assert proba.shape == (1, 3)


# -- the shipped bundles on the real data --------------------------------------------------
def _shipped(name: str):
    from medcore.core.registry import verify_bundle
    from medcore.core.settings import models_dir
    from medcore.text.model import load_text_model

    path = models_dir() / name
    if not (path / "card.json").is_file():
        pytest.skip(f"no {name} bundle in {models_dir()}")
    card = json.loads((path / "card.json").read_text())
    if "members" not in card.get("calibration", {}):
        pytest.skip(f"{path} was not built by medcore.text.train")
    return load_text_model(path, verify_bundle(path))


@pytest.mark.data
@pytest.mark.parametrize("name, rows, n_labels", [("symptom-text", 964, 24), ("abstract-topic", 2308, 5)])
def test_real_data_loads_with_the_contract_labels(data_dir, name, rows, n_labels):
    from medcore.text.data import load_text_dataset

    texts, labels, names, _ = load_text_dataset(name, data_dir)
    assert len(texts) == len(labels) == rows and len(names) == n_labels
    assert all(label == label.strip() for label in names)
    if name == "abstract-topic":
        assert names[0] == "neoplasms" and names[4] == "general pathological conditions"
    # The data set's own folder works as well as the data root.
    assert (
        load_text_dataset(name, data_dir / ("symptom2disease" if name == "symptom-text" else "medical_abstracts"))[2]
        == names
    )


@pytest.mark.data
@pytest.mark.parametrize("name", TEXT_MODELS)
def test_real_split_keeps_near_duplicates_together(data_dir, name):
    from medcore.text.data import load_text_dataset

    texts, labels, _, _ = load_text_dataset(name, data_dir)
    train, val = grouped_split(texts, labels, seed=0)
    groups = near_duplicate_groups(texts)
    assert not set(groups[train]) & set(groups[val])
    assert 0.17 < len(val) / len(texts) < 0.23


@pytest.mark.data
@pytest.mark.parametrize("name", TEXT_MODELS)
def test_shipped_bundle_agrees_with_its_card(data_dir, name):
    from medcore.text.data import load_text_dataset

    model = _shipped(name)
    texts, labels, names, _ = load_text_dataset(name, data_dir)
    assert model.labels == names
    card = model.card["metrics"]["validation"]
    assert card["accuracy"] > card["baseline"]["accuracy"]
    if "cross-validation" in card["split"]:
        # Out-of-fold figures cannot be recomputed from a model trained on every row (reading its own
        # training rows proves nothing); that they are out of fold is tested on shuffled labels above.
        assert card["n"] == len(texts)
        return
    _, val = grouped_split(texts, labels, seed=model.card["training"]["seed"])
    val_texts = [texts[i] for i in val]
    y_val = np.array([names.index(labels[i]) for i in val])
    proba = model.predict_proba(val_texts)
    calibration = model.card["calibration"]
    if calibration["chosen"] != "none":
        # A kept calibration was fitted on these rows: the card reads them calibrated by parameters fitted
        # on the other folds (cross-fitted), so that is what is recomputed here from the shipped logits.
        from medcore.core.calibration import cross_fitted_calibration

        assert calibration["members"] == ["network"]
        logits = model.member_logits([model.prepare(text)[0] for text in val_texts])["network"]
        seed = model.card["training"]["seed"]
        proba = cross_fitted_calibration(logits, y_val, calibration["chosen"], seed=seed)
    scores = text_scores(y_val, proba, val_texts)
    assert scores["accuracy"] == pytest.approx(card["accuracy"], abs=1e-6)
    assert scores["top3_accuracy"] == pytest.approx(card["top3_accuracy"], abs=1e-6)


def test_shipped_symptom_model_reads_plain_english():
    model = _shipped("symptom-text")
    proba = model.predict_proba(["I have a burning feeling when I pee and I need to go all the time"])
    assert model.labels[int(proba.argmax())] == "urinary tract infection"


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_shipped_probabilities_are_the_calibrated_ones(name):
    """predict_proba = softmax(network logits / the card's temperature), or with class-wise scaling
    softmax(scale * log_softmax(logits) + bias), recomputed apart from medcore's code."""
    from scipy.special import log_softmax, softmax

    model = _shipped(name)
    calibration = model.card["calibration"]
    assert calibration["members"] == ["network"] and calibration["ensemble_temperature"] == 1.0
    temperature = calibration["temperatures"]["network"]
    if calibration["chosen"] == "temperature":  # else T = 1 by choice: nothing to tell apart
        assert abs(temperature - 1.0) > 0.02, "a temperature of 1 could not tell calibration on from off"
    else:
        assert temperature == 1.0
    texts = ["I have an itchy red rash on my arms", "fever, chills and a cough for three days"]
    cleaned = [model.prepare(text)[0] for text in texts]
    logits = model.member_logits(cleaned)["network"]
    expected = softmax(logits / temperature, axis=1)
    if calibration["chosen"] == "class-wise":
        scale, bias = (np.array(calibration["class_wise"]["network"][k]) for k in ("scale", "bias"))
        assert np.abs(scale - 1).max() > 0.02 or np.abs(bias).max() > 0.02, "an identity could not tell it apart"
        expected = softmax(scale * log_softmax(logits, axis=1) + bias, axis=1)
    else:
        assert "class_wise" not in calibration or not calibration["class_wise"]
    np.testing.assert_allclose(model.predict_proba(texts), expected, atol=1e-9)
