"""The pieces between the tagger and the answer: decoding, lexicon, abbreviations, ids, consistency,
relation features and the exported trees, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from medcore.literature.data import sentences
from medcore.literature.features import TAGS, Lexicon, spans_of, viterbi
from medcore.literature.metrics import document_counts, extraction_figures, figures
from medcore.literature.ner import propagate
from medcore.literature.normalise import Normaliser, abbreviations, squash
from medcore.literature.relations import FEATURES, Priors, RelationScorer, candidates, reasons


def test_viterbi_never_starts_a_mention_inside():
    rng = np.random.default_rng(0)
    for _ in range(200):
        proba = rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=rng.integers(1, 12))
        path = [TAGS[t] for t in viterbi(proba)]
        for prev, cur in zip(["O", *path], path):
            if cur.startswith("I-"):
                assert prev[2:] == cur[2:], path
    # an argmax decoder would give O, I-Chemical here; the constrained path makes it one mention
    proba = np.array([[0.6, 0.3, 0.02, 0.04, 0.04], [0.1, 0.05, 0.8, 0.03, 0.02]])
    tags = viterbi(proba)
    assert [TAGS[t] for t in tags] == ["B-Chemical", "I-Chemical"]
    assert spans_of(tags, proba) == [(0, 2, "Chemical", pytest.approx((0.3 + 0.8) / 2))]


def test_the_lexicon_matches_the_longest_known_sequence():
    lex = Lexicon()
    lex.add(("renal",), "Disease", None)
    lex.add(("renal", "failure"), "Disease", "D051437")
    lex.add(("lithium",), "Chemical", "D008094")
    words = "lithium caused renal failure".split()
    assert lex.match(words) == [(0, 1, "Chemical"), (2, 4, "Disease")]
    flags = lex.features(words)
    assert flags[:, 0].tolist() == [1, 0, 0, 0] and flags[:, 2].tolist() == [0, 0, 1, 0] and flags[3, 3] == 1
    assert Lexicon.from_json(lex.to_json()).match(words) == lex.match(words)


def test_abbreviations_are_resolved_to_their_long_forms():
    text = "Neuroleptic malignant syndrome (NMS) after haloperidol (HAL). 5-fluorouracil (5-FU) was stopped (n = 3)."
    found = {k: text[a:b] for k, (a, b) in abbreviations(text).items()}
    assert found == {"NMS": "Neuroleptic malignant syndrome", "HAL": "haloperidol", "5-FU": "5-fluorouracil"}


def test_ids_come_from_spellings_abbreviations_and_earlier_mentions():
    lex = Lexicon()
    lex.add(("neuroleptic", "malignant", "syndrome"), "Disease", "D009459")
    lex.add(("seizure",), "Disease", "D012640")
    norm = Normaliser(lex)
    assert norm.lookup("Neuroleptic  Malignant Syndrome") == "D009459"  # case and spaces
    assert norm.lookup("seizures") == "D012640" and squash("Seizures") == "seizure"  # plural
    text = "Neuroleptic malignant syndrome (NMS) was seen. NMS resolved. Gout too."
    spans = [(0, 30), (32, 35), (47, 50), (61, 65)]
    assert norm.ids_of(text, spans) == ["D009459", "D009459", "D009459", None]


def test_a_spelling_tagged_once_is_tagged_everywhere_and_abbreviations_take_their_type():
    text = "Haloperidol (HAL) caused parkinsonism. HAL and haloperidol again; parkinsonism persisted."
    found = [(0, 11, "Chemical", 0.9), (25, 37, "Disease", 0.8)]
    out = propagate(text, found, abbreviations(text))
    assert {(text[a:b], k) for a, b, k, _ in out} == {
        ("Haloperidol", "Chemical"),
        ("HAL", "Chemical"),
        ("parkinsonism", "Disease"),
    }
    assert len(out) == 5  # HAL twice, the second parkinsonism; lower-case 'haloperidol' is another spelling


def test_relation_features_see_the_induced_pattern_and_shared_sentences():
    text = "Cocaine-induced hypertension was seen. Heparin was given. Later thrombocytopenia occurred."
    ents = [
        {"start": 0, "end": 7, "type": "Chemical", "id": "C1"},
        {"start": 16, "end": 28, "type": "Disease", "id": "D1"},
        {"start": 39, "end": 46, "type": "Chemical", "id": "C2"},
        {"start": 64, "end": 80, "type": "Disease", "id": "D2"},
    ]
    pairs = {(c.chemical, c.disease): c for c in candidates(text, sentences(text), ents, Priors())}
    assert set(pairs) == {("C1", "D1"), ("C1", "D2"), ("C2", "D1"), ("C2", "D2")}
    f = {name: i for i, name in enumerate(FEATURES)}
    assert pairs[("C1", "D1")].features[f["'<chemical>-induced <disease>' pattern"]] == 1
    assert pairs[("C1", "D1")].features[f["share a sentence"]] == 1
    assert pairs[("C2", "D2")].features[f["share a sentence"]] == 0
    assert pairs[("C1", "D1")].evidence == [sentences(text)[0]]
    assert {"'<chemical>-induced <disease>' in the text", "named in the same sentence"} <= set(
        reasons(pairs[("C1", "D1")].features)
    )
    assert "named in the same sentence" not in reasons(pairs[("C2", "D2")].features)
    assert pairs[("C2", "D2")].evidence == [sentences(text)[1], sentences(text)[2]]


def test_an_indication_is_told_from_an_adverse_effect():
    text = "Amiodarone for atrial fibrillation caused hypothyroidism."
    ents = [
        {"start": 0, "end": 10, "type": "Chemical", "id": "C1"},
        {"start": 15, "end": 34, "type": "Disease", "id": "D1"},
        {"start": 42, "end": 56, "type": "Disease", "id": "D2"},
    ]
    pairs = {c.disease: c for c in candidates(text, sentences(text), ents, Priors())}
    column = next(i for i, name in enumerate(FEATURES) if "(an indication)" in name)
    assert pairs["D1"].features[column] == 1 and pairs["D2"].features[column] == 0


def test_priors_count_abstracts_and_survive_json():
    priors = Priors()
    priors.add({"C1", "C2"}, {"D1"}, {("C1", "D1")})
    priors.add({"C1"}, {"D1"}, set())
    assert priors.together[("C1", "D1")] == 2 and priors.induced[("C1", "D1")] == 1
    again = Priors.from_json(priors.to_json())
    assert again.together == priors.together and again.chem_docs == priors.chem_docs


def test_the_exported_trees_give_scikit_learns_probabilities():
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURES)))
    y = (x[:, 0] + x[:, 13] > 1.0).astype(int)
    model = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(x, y)
    scorer = RelationScorer.from_sklearn(model)
    np.testing.assert_allclose(scorer.score(x[:50]), model.predict_proba(x[:50])[:, 1], atol=1e-6)


def test_strict_relaxed_concept_and_cid_counts():
    gold = {
        "entities": [
            {"start": 0, "end": 9, "type": "Chemical", "id": "C1"},
            {"start": 20, "end": 30, "type": "Disease", "id": "D1"},
        ],
        "relations": [{"chemical": "C1", "disease": "D1"}],
    }
    pred = {
        "entities": [
            {"start": 0, "end": 9, "type": "Chemical", "id": "C1"},
            {"start": 20, "end": 25, "type": "Disease", "id": "D1"},  # overlaps: relaxed only
            {"start": 40, "end": 45, "type": "Disease", "id": None},
        ],
        "relations": [{"chemical": "C1", "disease": "D1"}, {"chemical": "C1", "disease": "D9"}],
    }
    counts = document_counts(gold, pred)
    assert counts["strict_Chemical"] == (1, 1, 1) and counts["strict_Disease"] == (0, 2, 1)
    assert counts["cid"] == (1, 2, 1)
    out = figures([counts])
    assert out["strict_disease_f1"] == 0.0
    assert out["relaxed_disease_precision"] == 0.5 and out["relaxed_disease_recall"] == 1.0
    assert out["concept_disease_f1"] == 1.0
    assert out["cid_precision"] == 0.5 and out["cid_recall"] == 1.0
    full = extraction_figures([gold] * 5 + [pred] * 5, [pred] * 10, resamples=50)
    low, high = full["cid_f1_ci95"]
    assert low <= full["cid_f1"] <= high and full["n"] == 10


def test_the_highlighted_text_is_escaped_and_marks_each_mention():
    from medcore.literature.plots import highlight_html, wilson

    text = "<script>alert(1)</script> cisplatin & nephrotoxicity"
    start = text.index("cisplatin")
    entities = [
        {"start": start, "end": start + 9, "text": "cisplatin", "type": "Chemical", "id": "D002945", "score": 0.9},
        {"start": start + 12, "end": len(text), "text": "nephrotoxicity", "type": "Disease", "id": None, "score": 0.8},
    ]
    shown = highlight_html(text, entities)
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "&amp;" in shown
    assert '<mark class="medcore-chemical" title="Chemical · MeSH D002945 · score 0.90"' in shown
    assert ">cisplatin</mark>" in shown and shown.count("<mark") == 2
    assert "MeSH unknown" in shown
    low, high = wilson(3, 10)
    assert low < 0.3 < high and wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_pairs_sharing_their_spellings_get_a_bar_each():
    from medcore.literature.plots import pairs_figure

    pairs = [
        {"chemical": "C1", "disease": "D1", "chemical_text": "mesna", "disease_text": "cystitis", "texts": 3},
        {"chemical": "C1", "disease": "D2", "chemical_text": "mesna", "disease_text": "cystitis", "texts": 2},
        {"chemical": "C2", "disease": "D1", "chemical_text": "ifosfamide", "disease_text": "cystitis", "texts": 1},
    ]
    bars = pairs_figure(pairs, 10).data[0]
    assert len(set(bars.y)) == 3 and list(bars.x) == [0.1, 0.2, 0.3]
    assert "n=10 texts" in pairs_figure(pairs, 10).layout.title.text
