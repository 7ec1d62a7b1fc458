"""Free-text models: the API contract, bad input, truncation, explanation and the training split."""

from __future__ import annotations

import numpy as np
import pytest

import medcore
from medcore.text import clean_text, tokens
from medcore.text_train import grouped_split


@pytest.fixture(scope="module")
def symptom_text():
    return medcore.load_model("symptom-text")


def test_predict_proba_contract(symptom_text):
    proba = symptom_text.predict_proba(["itchy red rash with scaly patches", "burning when I pee and need to go often"])
    assert proba.shape == (2, len(symptom_text.labels)) == (2, 24)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_obvious_descriptions_rank_the_right_disease_in_the_top_3(symptom_text):
    cases = {
        "My skin has dry, scaly, silvery patches on my elbows and knees that itch and peel": "Psoriasis",
        "I have a burning feeling when I urinate, I need to pee very often and my urine smells bad": "urinary tract infection",
    }
    proba = symptom_text.predict_proba(list(cases))
    for row, expected in zip(proba, cases.values()):
        top3 = [symptom_text.labels[i] for i in np.argsort(-row)[:3]]
        assert expected in top3, top3


def test_explain_gives_every_word_and_credits_a_telling_one(symptom_text):
    text = "I have itchy skin with a red rash and scaly patches"
    weights = symptom_text.explain(text)
    assert [word for word, _ in weights] == text.split(" ")
    by_word = dict(weights)
    assert max(by_word["itchy"], by_word["rash"], by_word["scaly"]) > max(by_word["I"], by_word["a"])


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("这是中文文本", "English"),
        ("Привет мир", "English"),
        ("zzqx wqqv", "known"),
    ],
)
def test_unreadable_text_is_refused_with_a_reason(symptom_text, text, match):
    with pytest.raises(medcore.InvalidInputError, match=match):
        symptom_text.predict_proba([text])


def test_wrong_types_are_refused(symptom_text):
    for bad in ("a plain string", [], [42]):
        with pytest.raises(medcore.InvalidInputError):
            symptom_text.predict_proba(bad)


def test_one_megabyte_is_truncated_with_a_notice(symptom_text):
    text = "I have a high fever and a bad cough. " * 30_000  # about 1 MB
    cleaned, notes = symptom_text.prepare(text)
    assert len(cleaned) <= symptom_text.max_chars
    assert any("truncated from 1,110,000" in note for note in notes)
    assert symptom_text.predict_proba([text]).shape == (1, 24)


def test_control_characters_are_removed():
    cleaned, notes = clean_text("fever\x00\x07 and\x1b[31m cough")
    assert cleaned == "fever and [31m cough" and notes == []
    assert tokens("Fever, COUGH!") == ["fever", "cough"]


def test_grouped_split_keeps_duplicates_together():
    texts = ["a b", "A  b", "c d", "e f", "g h", "c d", "i j", "k l", "m n", "o p"]
    labels = ["x", "x", "y", "x", "y", "y", "x", "y", "x", "y"]
    train, val = grouped_split(texts, labels, seed=0, fraction=0.4)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(10))
    keys = {" ".join(t.lower().split()) for t in texts}
    for key in keys:
        sides = {("val" if i in val else "train") for i, t in enumerate(texts) if " ".join(t.lower().split()) == key}
        assert len(sides) == 1


@pytest.mark.parametrize("name", ["symptom-text", "abstract-topic"])
def test_text_cards_beat_their_baseline(name):
    validation = medcore.read_card(name)["metrics"]["validation"]
    baseline = validation["baseline_tfidf_logreg"]
    assert validation["accuracy"] >= baseline["accuracy"]
    assert validation["split"] == "val" and validation["n"] > 0


@pytest.mark.data
def test_card_metrics_reproduce_on_the_validation_split(symptom_text, data_dir):
    from medcore.data import sha256_file
    from medcore.text_train import load_text_data

    texts, label_names, labels, path = load_text_data("symptom-text", data_dir)
    assert sha256_file(path) == symptom_text.card["training"]["data_sha256"]
    _, val = grouped_split(texts, label_names, seed=symptom_text.card["training"]["seed"])
    proba = symptom_text.predict_proba([texts[i] for i in val])
    accuracy = np.mean(proba.argmax(1) == np.array([labels.index(label_names[i]) for i in val]))
    assert accuracy == pytest.approx(symptom_text.card["metrics"]["validation"]["accuracy"], abs=1e-6)
