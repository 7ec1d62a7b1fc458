"""The literature model's contract on a tiny bundle trained here: offsets, ids, relations at the threshold,
the language check, limits, batches; the trainer's card."""

from __future__ import annotations

import json

import pytest

from medcore.core.errors import InvalidInputError
from tests.literature.conftest import abstract

pytestmark = pytest.mark.slow

TEXT = (
    "Haloperidol-induced parkinsonism in 7 patients. We describe 7 patients who developed parkinsonism after "
    "haloperidol therapy. Lithium was given to treat hypertension."
)
GERMAN = (
    "Der Patient erhielt wegen der Schmerzen zweimal täglich ein neues Medikament und klagte danach über starke "
    "Kopfschmerzen, Schwindel und Übelkeit, die nach dem Absetzen innerhalb einer Woche wieder verschwanden."
)


def test_every_mention_indexes_the_text_and_has_a_known_type(tiny_literature_model):
    result = tiny_literature_model.extract(TEXT)
    assert not result["out_of_domain"] and result["entities"]
    for e in result["entities"]:
        assert TEXT[e["start"] : e["end"]] == e["text"]
        assert e["type"] in ("Chemical", "Disease") and 0.0 <= e["score"] <= 1.0
    found = {(e["text"].lower(), e["type"]) for e in result["entities"]}
    assert ("haloperidol", "Chemical") in found and ("parkinsonism", "Disease") in found


def test_relations_join_ids_of_the_texts_mentions_with_evidence_sentences(tiny_literature_model):
    result = tiny_literature_model.extract(TEXT)
    ids = {(e["type"], e["id"]) for e in result["entities"] if e["id"]}
    for r in result["relations"]:
        assert ("Chemical", r["chemical"]) in ids and ("Disease", r["disease"]) in ids
        assert r["score"] >= tiny_literature_model.threshold
        for start, end in r["evidence"]:
            assert 0 <= start < end <= len(TEXT)
    assert ("D006220", "D010302") in {(r["chemical"], r["disease"]) for r in result["relations"]}


def test_the_threshold_decides_which_pairs_are_relations(tiny_literature_model, monkeypatch):
    scores = [r["score"] for r in tiny_literature_model.extract(TEXT)["relations"]]
    assert scores
    monkeypatch.setattr(tiny_literature_model, "threshold", max(scores) + 1e-4)
    assert tiny_literature_model.extract(TEXT)["relations"] == []


def test_text_in_another_language_gets_no_answer(tiny_literature_model):
    result = tiny_literature_model.extract(GERMAN)
    assert result["out_of_domain"] and "English" in result["reason"]
    assert result["entities"] == [] and result["relations"] == []


def test_empty_and_wrong_types(tiny_literature_model):
    result = tiny_literature_model.extract("   ")
    assert result["out_of_domain"] and "empty" in result["reason"]
    with pytest.raises(InvalidInputError, match="Expected text"):
        tiny_literature_model.extract(b"bytes are not text")
    with pytest.raises(InvalidInputError, match="list of texts"):
        tiny_literature_model.extract_many("one string")


def test_a_huge_paste_is_cut_with_a_notice_and_still_read(tiny_literature_model):
    text = (TEXT + " ") * 2000  # about 330,000 characters
    result = tiny_literature_model.extract(text)
    assert tiny_literature_model.max_chars - 200 < result["chars_read"] <= tiny_literature_model.max_chars < len(text)
    assert "only the first" in result["notices"][0]
    assert all(e["end"] <= tiny_literature_model.max_chars for e in result["entities"])
    assert result["entities"]


def test_a_batch_gives_what_each_text_gives_alone(tiny_literature_model):
    title, body, _, _ = abstract(250)
    texts = [TEXT, GERMAN, f"{title} {body}"]
    many = tiny_literature_model.extract_many(texts)
    alone = [tiny_literature_model.extract(t)["entities"] for t in texts]
    assert [[(e["start"], e["end"], e["type"], e["id"]) for e in m["entities"]] for m in many] == [
        [(e["start"], e["end"], e["type"], e["id"]) for e in a] for a in alone
    ]
    for m, a in zip(many, alone):  # padding to the batch's longest sentence moves scores in the 4th decimal only
        assert [e["score"] for e in m["entities"]] == pytest.approx([e["score"] for e in a], abs=2e-3)
    assert many[1]["out_of_domain"] and not many[0]["out_of_domain"]


def test_the_card_records_dev_figures_with_intervals_and_the_choices(tiny_literature_bundle):
    card = json.loads((tiny_literature_bundle / "card.json").read_text())
    figures = card["metrics"]["validation"]
    for key in ("strict_chemical_f1", "strict_disease_f1", "cid_f1", "relaxed_disease_f1", "concept_chemical_f1"):
        low, high = figures[f"{key}_ci95"]
        assert low <= figures[key] <= high
    assert figures["n"] == 30 and figures["n_cid_relations"] == 30
    assert "development set" in card["training"]["chosen_on"]
    assert 0.0 < card["operating_point"]["threshold"] < 1.0
    domain = card["domain_check"]["validation"]
    assert domain["negatives_caught"] > 0.9  # scrambled words are refused
    assert set(card["files"]) == {"tagger.keras", "resources.json", "relations.npz", "evaluation.json", "README.md"}


def test_evaluation_on_a_pubtator_file_names_abstracts_seen_in_training(tiny_literature_model):
    from medcore.literature.evaluate import evaluate_upload
    from tests.literature.conftest import pubtator

    result = evaluate_upload(tiny_literature_model, "dev.txt", pubtator(range(160, 166)).encode())
    assert result["n"] == 6 and len(result["per_type"]) == 7
    assert any("used to train the shipped model" in n for n in result["notes"])  # refit on train + dev
    assert {row["kind"] for row in result["predictions"]} >= {"mention"}
    fresh = evaluate_upload(tiny_literature_model, "new.txt", pubtator(range(200, 204)).encode())
    assert not fresh["notes"]
    with pytest.raises(InvalidInputError, match="line 2"):
        evaluate_upload(tiny_literature_model, "bad.txt", b"1|t|Title.\n1\t0\t3\n")
