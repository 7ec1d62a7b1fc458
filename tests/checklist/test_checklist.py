"""The symptom checklist: data reading, the fitted model's contract, the bundle, and the real data.

Unit tests build a tiny Training.csv-layout table in code whose answers are known: ``Flu``
is fever + cough (+ chills or headache), ``Migraine`` headache + nausea (+ blurred vision),
``Gastro`` vomiting + diarrhoea (+ nausea or fever). Real-data tests need MEDCORE_DATA_DIR.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import medcore
from medcore.checklist.data import load_checklist_file, normalise_symptom, read_knowledge, read_symptom_table
from medcore.checklist.model import MIN_GAIN, ChecklistModel, load_checklist_model
from medcore.checklist.train import fit_parameters, hold_out_patterns, partial_draws, train_checklist_model
from medcore.core import registry
from medcore.core.bundle import REQUIRED_CARD_KEYS, sha256_file
from medcore.core.errors import InvalidInputError
from medcore.core.settings import PROJECT_ROOT

# Header quirks of the real file: a space inside a name, a duplicated column, a trailing empty column.
HEADER = [
    "fever",
    "cough",
    "chills",
    "headache",
    "nausea",
    "blurred vision",
    "vomiting",
    "diarrhoea",
    "spotting_ urination",
    "fluid_overload",
    "fluid_overload",
    "prognosis",
    "",
]
PATTERNS = {
    "Flu ": [("fever", "cough", "chills"), ("fever", "cough", "headache"), ("fever", "cough", "chills", "headache")],
    "Migraine": [
        ("headache", "nausea", "blurred vision"),
        ("headache", "nausea"),
        ("headache", "blurred vision", "nausea", "spotting_ urination"),
    ],
    "Gastro": [
        ("vomiting", "diarrhoea", "nausea"),
        ("vomiting", "diarrhoea", "fever"),
        ("vomiting", "diarrhoea", "fluid_overload#2"),
    ],
}


def _write_table(folder, copies: int = 3):
    lines = [",".join(HEADER)]
    for disease, patterns in PATTERNS.items():
        for pattern in patterns:
            cells = []
            for index, column in enumerate(HEADER[:-2]):
                # The second of the two 'fluid_overload' columns is the one in use, as in the real file.
                key = "fluid_overload#2" if index == HEADER.index("fluid_overload") + 1 else column
                cells.append("1" if key in pattern else "0")
            lines += [",".join(cells + [disease, ""])] * copies
    (folder / "Training.csv").write_text("\n".join(lines) + "\n")
    (folder / "symptom_Description.csv").write_text(
        'Disease,Description\nFlu,A viral infection.\nMigrane,Recurring headaches.\nGastro,"Inflamed gut, vomiting."\n'
    )
    (folder / "symptom_precaution.csv").write_text(
        "Disease,Precaution_1,Precaution_2\nFlu,rest,drink fluids\nGastro,fluids,\n"
    )
    (folder / "Symptom-severity.csv").write_text(
        "Symptom,weight\nfever,7\ncough,3\nchills,3\nheadache,3\nnausea,5\nblurred_vision,5\nvomiting,5\n"
        "diarrhoea,6\nspotting_urination,6\nfluid_overload,6\nfluid_overload,4\nprognosis,5\n"
    )
    return folder / "Training.csv"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A bundle trained on the tiny table, and its loaded model."""
    folder = tmp_path_factory.mktemp("data") / "disease_symptom"
    folder.mkdir()
    _write_table(folder)
    models = tmp_path_factory.mktemp("models")
    path = train_checklist_model("tiny-checklist", folder.parent, out_dir=models / "tiny-checklist", seed=0)
    card = registry.verify_bundle(path)
    return path, load_checklist_model(path, card), folder


# -- data --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Skin Rash", "skin_rash"),
        (" skin_rash ", "skin_rash"),
        ("spotting_ urination", "spotting_urination"),
        ("dischromic _patches", "dischromic_patches"),
        ("foul_smell_ofurine", "foul_smell_of_urine"),
    ],
)
def test_symptom_names_are_normalised(raw, expected):
    assert normalise_symptom(raw) == expected


def test_table_merges_duplicate_columns_and_strips_names(tmp_path):
    table = read_symptom_table(_write_table(tmp_path))
    assert table.symptoms == [
        "fever",
        "cough",
        "chills",
        "headache",
        "nausea",
        "blurred_vision",
        "vomiting",
        "diarrhoea",
        "spotting_urination",
        "fluid_overload",
    ]
    assert table.matrix.shape == (27, 10) and set(table.diseases) == {"Flu", "Migraine", "Gastro"}
    assert table.matrix[:, table.symptoms.index("fluid_overload")].sum() == 3  # from the second column
    distinct = table.distinct()
    assert len(distinct.diseases) == 9 and distinct.diseases == sorted(distinct.diseases)
    assert ["vomiting", "diarrhoea", "fluid_overload"] in distinct.symptom_lists()


def test_table_errors_say_what_is_wrong(tmp_path):
    (tmp_path / "a.csv").write_text("fever,cough\n1,0\n")
    with pytest.raises(InvalidInputError, match="no 'prognosis' column"):
        read_symptom_table(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("fever,prognosis\nyes,Flu\n")
    with pytest.raises(InvalidInputError, match="expected 0 or 1, got 'yes'"):
        read_symptom_table(tmp_path / "b.csv")
    with pytest.raises(InvalidInputError, match="No file"):
        read_symptom_table(tmp_path / "missing.csv")


def test_knowledge_joins_spelling_variants_and_keeps_the_larger_duplicate_weight(tmp_path):
    _write_table(tmp_path)
    knowledge = read_knowledge(
        tmp_path, ["Flu", "Gastro", "Migraine"], ["fever", "fluid_overload", "spotting_urination"]
    )
    assert knowledge["descriptions"]["Migraine"] == "Recurring headaches."  # 'Migrane' in the table
    assert knowledge["descriptions"]["Gastro"] == "Inflamed gut, vomiting."
    assert knowledge["precautions"] == {"Flu": ["rest", "drink fluids"], "Gastro": ["fluids"]}
    assert knowledge["severity"] == {"fever": 7, "fluid_overload": 6, "spotting_urination": 6}
    assert any("Migrane" in note for note in knowledge["notes"])


def test_hold_out_is_one_pattern_per_disease_and_seeded():
    diseases = ["a", "a", "a", "b", "b", "c"]
    mask = hold_out_patterns(diseases, seed=0)
    assert mask.sum() == 2 and not mask[5]  # 'c' has one pattern: never held out
    assert mask[:3].sum() == 1 and mask[3:5].sum() == 1
    np.testing.assert_array_equal(mask, hold_out_patterns(diseases, seed=0))


def test_partial_draws_keep_a_subset_of_each_pattern():
    patterns = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 0]], dtype=np.uint8)
    x, y = partial_draws(patterns, np.array([0, 1]), kept=3, draws=5, rng=np.random.default_rng(0))
    assert x.shape == (10, 5) and y.tolist() == [0] * 5 + [1] * 5
    assert (x.sum(axis=1) == [3] * 5 + [2] * 5).all()  # all of a 2-symptom pattern
    assert not (x * (1 - patterns[y])).any()


def test_fitted_profiles_are_the_mean_of_each_patterns_symptoms():
    patterns = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]], dtype=np.uint8)
    parameters = fit_parameters(patterns, np.array([0, 0, 1]), 2, background_mix=0.0, unticked_weight=0.0)
    np.testing.assert_allclose(parameters["tick_probability"], [[0.75, 0.25, 0, 0], [0, 0, 0.5, 0.5]])
    assert ((parameters["presence_probability"] > 0) & (parameters["presence_probability"] < 1)).all()
    with pytest.raises(InvalidInputError, match="No training pattern"):
        fit_parameters(patterns, np.array([0, 0, 0]), 2, 0.0, 0.0)


# -- the bundle --------------------------------------------------------------------------------
def test_bundle_is_complete_and_plain_json(tiny):
    path, model, _ = tiny
    card = json.loads((path / "card.json").read_text())
    assert [key for key in REQUIRED_CARD_KEYS if key not in card] == []
    assert card["kind"] == "checklist" and card["labels"] == ["Flu", "Gastro", "Migraine"]
    assert set(card["files"]) == {"model.json", "evaluation.json", "README.md"}
    validation = card["metrics"]["validation"]
    assert validation["split"] == "val" and validation["n"] > 0
    low, high = validation["accuracy_ci95"]
    assert low <= validation["accuracy"] <= high
    assert set(validation["top_k"]) == {"2", "3", "4"}
    assert all(set(row) == {"top1", "top3", "top5"} for row in validation["top_k"].values())
    # the temperature in the card is the one the shipped model applies, and it was fitted (not left at 1)
    shipped_temperature = json.loads((path / "model.json").read_text())["temperature"]
    assert card["calibration"]["temperature"] == pytest.approx(shipped_temperature)
    assert model.temperature == pytest.approx(shipped_temperature) and abs(shipped_temperature - 1.0) > 1e-3
    evaluation = json.loads((path / "evaluation.json").read_text())
    assert np.array(evaluation["confusion_matrix"]).shape == (3, 3) and len(evaluation["per_class"]) == 3
    assert evaluation["reliability"]["count"]
    parameters = json.loads((path / "model.json").read_text())
    assert parameters["symptoms"] == model.symptoms and len(model.symptoms) == 10


def test_training_is_deterministic_for_a_seed(tiny, tmp_path):
    _, _, folder = tiny
    first = train_checklist_model("a", folder, out_dir=tmp_path / "a", seed=3)
    second = train_checklist_model("b", folder, out_dir=tmp_path / "b", seed=3)
    assert sha256_file(first / "model.json") == sha256_file(second / "model.json")


def test_the_held_out_patterns_choose_nothing(tiny, tmp_path, monkeypatch):
    """Issue 29 item 9: the grid, the temperature and whether to keep it come from an inner split, so
    scrambling the held-out draws' labels changes the reported figures but not the model."""
    import medcore.checklist.train as trainer

    _, _, folder = tiny
    honest = train_checklist_model("a", folder, out_dir=tmp_path / "a", seed=3)
    real, calls = trainer.validation_draws, []

    def scrambled_outer(patterns, labels, seed):
        y, validation, draws = real(patterns, labels, seed)
        calls.append(seed)
        if len(calls) == 1:  # the outer (reporting) split: every held-out draw labelled wrongly
            draws = {kept: (x, (labels_ + 1) % len(labels)) for kept, (x, labels_) in draws.items()}
        return y, validation, draws

    monkeypatch.setattr(trainer, "validation_draws", scrambled_outer)
    scrambled = train_checklist_model("b", folder, out_dir=tmp_path / "b", seed=3)
    assert len(calls) == 2
    assert sha256_file(honest / "model.json") == sha256_file(scrambled / "model.json")
    reported = [json.loads((path / "card.json").read_text())["metrics"]["validation"] for path in (honest, scrambled)]
    assert reported[0]["accuracy"] > reported[1]["accuracy"]


def test_epochs_do_not_apply(tiny, tmp_path):
    with pytest.raises(InvalidInputError, match="epochs do not apply"):
        train_checklist_model("a", tiny[2], epochs=5, out_dir=tmp_path / "a")


def test_registry_loads_it_by_kind(tiny, monkeypatch):
    path, _, _ = tiny
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(path.parent))
    model = medcore.load_model("tiny-checklist")
    assert isinstance(model, ChecklistModel) and model.kind == "checklist" and model.name == "tiny-checklist"


# -- the model's contract --------------------------------------------------------------------
def test_predictions_rank_the_known_disease_first(tiny):
    _, model, _ = tiny
    proba = model.predict_proba([["fever", "cough"], ["headache", "blurred_vision"], ["vomiting", "diarrhoea"]])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert [model.labels[k] for k in proba.argmax(axis=1)] == ["Flu", "Migraine", "Gastro"]
    assert proba.max(axis=1).min() > 0.8


def test_names_are_normalised_and_duplicates_ignored(tiny):
    _, model, _ = tiny
    expected = model.predict_proba([["fever", "cough"]])
    np.testing.assert_allclose(model.predict_proba([[" Fever", "COUGH", "fever"]]), expected)
    np.testing.assert_allclose(model.predict_proba([("Blurred Vision",)]), model.predict_proba([["blurred_vision"]]))


def test_an_ambiguous_symptom_stays_ambiguous(tiny):
    _, model, _ = tiny
    proba = model.predict_proba([["nausea"]])[0]
    assert proba[model.labels.index("Flu")] < 0.05  # no Flu pattern has nausea
    # Migraine's training patterns all have nausea, Gastro's only one of two: both stay in play.
    assert proba[model.labels.index("Migraine")] > proba[model.labels.index("Gastro")] > 0.05


@pytest.mark.parametrize(
    "bad, message",
    [
        ([["fevr"]], r"Unknown symptom name: 'fevr' \(did you mean 'fever'"),
        ([["fever", "sneezing", "cogh"]], r"Unknown symptom names: 'sneezing'.*'cogh' \(did you mean 'cough'"),
        ([[]], "tick at least one symptom"),
        ([], "no patients"),
        (["fever", "cough"], "flat list of str"),
        ("fever", "got str"),
        ([[1, 2]], "must be strings"),
        ([None], "got NoneType"),
    ],
)
def test_bad_input_says_what_and_how_to_fix(tiny, bad, message):
    _, model, _ = tiny
    with pytest.raises(InvalidInputError, match=message):
        model.predict_proba(bad)


def test_explain_credits_the_distinguishing_symptom(tiny):
    _, model, _ = tiny
    contributions = model.explain(["Vomiting", "nausea"])
    assert list(contributions) == ["vomiting", "nausea"]
    # Every Gastro pattern has vomiting; nausea is shared with Migraine: vomiting carries the call.
    assert model.differential(["vomiting", "nausea"], top=1)[0]["disease"] == "Gastro"
    assert contributions["vomiting"] > max(contributions["nausea"], 0)
    assert model.explain(["vomiting", "nausea"], disease="Migraine")["vomiting"] < 0


def test_next_questions_ask_what_separates_the_candidates(tiny):
    _, model, _ = tiny
    questions = model.next_questions(["nausea"], k=3)
    assert len(questions) == 3 and [set(q) for q in questions] == [{"symptom", "information_gain", "p_yes"}] * 3
    gains = [q["information_gain"] for q in questions]
    assert gains == sorted(gains, reverse=True) and gains[-1] > 0
    assert all(0 < q["p_yes"] < 1 and q["symptom"] != "nausea" for q in questions)
    # Gastro vs Migraine: vomiting, diarrhoea or headache settle it; cough does not.
    assert questions[0]["symptom"] in {"vomiting", "diarrhoea", "headache"}
    asked = model.next_questions(["nausea"], k=9, absent=["vomiting"], min_gain=0.0)
    assert "vomiting" not in [q["symptom"] for q in asked] and len(asked) == 8


def test_questions_that_would_not_change_the_ranking_are_not_offered(tiny):
    _, model, _ = tiny
    every = model.next_questions(["nausea"], k=9, min_gain=0.0)
    offered = model.next_questions(["nausea"], k=9)
    assert any(q["information_gain"] < MIN_GAIN for q in every)  # such questions exist...
    assert offered == [q for q in every if q["information_gain"] >= MIN_GAIN]  # ...and are left out
    # Once the answers leave one disease, no question is worth asking.
    assert model.next_questions(["vomiting", "diarrhoea", "nausea"], k=3, min_gain=0.5) == []


def test_an_answered_no_moves_the_differential(tiny):
    _, model, _ = tiny
    gastro = model.labels.index("Gastro")
    before = model.predict_proba([["nausea"]])[0, gastro]
    after = model.predict_proba([["nausea"]], absent=[["vomiting", "diarrhoea"]])[0, gastro]
    assert after < before / 5
    with pytest.raises(InvalidInputError, match="one of each per patient"):
        model.predict_proba([["nausea"]], absent=[[], []])


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3", 10_000])
def test_bad_k_is_refused(tiny, k):
    _, model, _ = tiny
    with pytest.raises(InvalidInputError, match="k must be a whole number"):
        model.next_questions(["fever"], k=k)


def test_describe_and_triage_read_the_stored_tables(tiny):
    _, model, _ = tiny
    assert model.describe("migrane")["description"] == "Recurring headaches."
    assert model.describe(" flu ") == {
        "disease": "Flu",
        "description": "A viral infection.",
        "precautions": ["rest", "drink fluids"],
    }
    assert model.describe("Migraine")["precautions"] == []
    with pytest.raises(InvalidInputError, match="Unknown disease 'Cholera'"):
        model.describe("Cholera")
    high, low = model.triage(["fever"]), model.triage(["cough"])
    assert high["level"] == "high" and high["score_max"] == 7 and "not a clinical triage" in high["note"]
    assert low["level"] == "low" and low["weights"] == {"cough": 3}
    assert model.triage(["cough", "nausea"])["level"] == "moderate"  # heaviest weighs 5
    assert model.triage(["cough", "chills", "headache", "fluid_overload"])["level"] == "moderate"  # sum 15


def test_labelled_file_reads_as_inputs_and_label_indices(tiny):
    _, model, folder = tiny
    inputs, names, y_true = load_checklist_file(folder / "Training.csv", model.labels)
    assert len(inputs) == len(names) == len(y_true) == 27
    assert inputs[0] == ["fever", "cough", "chills"] and model.labels[y_true[0]] == "Flu"
    with pytest.raises(InvalidInputError, match="not labels of this model"):
        load_checklist_file(folder / "Training.csv", ["Flu", "Gastro"])


# -- the shipped bundle and the real data ------------------------------------------------------
def test_the_shipped_bundle_is_complete_and_matches_its_card():
    path = PROJECT_ROOT / "models" / "symptom-checklist"
    if not (path / "card.json").is_file():
        pytest.skip(
            "models/symptom-checklist not built yet: python -m medcore train symptom-checklist --data ../shared/data"
        )
    card = registry.verify_bundle(path)
    assert card["kind"] == "checklist" and len(card["labels"]) == 41
    assert {p.name for p in path.iterdir()} - {"card.json"} == set(card["files"])
    model = load_checklist_model(path, card)
    assert len(model.symptoms) == 131 and model.labels == sorted(model.labels)
    assert model.describe("Dimorphic hemorrhoids(piles)")["description"]
    with pytest.raises(InvalidInputError, match="Unknown disease 'Hepatitis F' \\(did you mean 'Hepatitis"):
        model.describe("Hepatitis F")  # as close to B, C, D and E: no guess


@pytest.mark.data
def test_real_table_has_the_documented_shape(data_dir):
    table = read_symptom_table(data_dir / "disease_symptom" / "Training_train.csv")
    assert table.matrix.shape == (3918, 131) and len(set(table.diseases)) == 41
    assert len(table.distinct().diseases) == 243
    assert "Diabetes" in table.diseases and "Diabetes " not in table.diseases
    assert table.matrix[:, table.symptoms.index("fluid_overload")].sum() > 0


@pytest.mark.data
@pytest.mark.slow
def test_real_model_beats_naive_bayes_with_few_symptoms(data_dir, tmp_path):
    path = train_checklist_model("symptom-checklist", data_dir, out_dir=tmp_path / "symptom-checklist")
    card = registry.verify_bundle(path)
    validation = card["metrics"]["validation"]
    ours, baseline = validation["top_k"], validation["baseline_naive_bayes"]["top_k"]
    assert ours["2"]["top3"] >= 0.93 and ours["3"]["top1"] >= 0.88
    for kept in ("2", "3", "4"):
        assert ours[kept]["top1"] > baseline[kept]["top1"]
    model = load_checklist_model(path, card)
    knowledge = json.loads((path / "model.json").read_text())["knowledge"]
    assert len(knowledge["descriptions"]) == len(knowledge["precautions"]) == 41 and len(knowledge["severity"]) == 131
    assert (
        model.differential(["itching", "skin_rash", "nodal_skin_eruptions"], top=1)[0]["disease"] == "Fungal infection"
    )


def test_screens_show_the_data_sets_labels_spelled_correctly():
    """Issue 28 item 17: the evaluation page read "(vertigo) Paroymsal  Positional Vertigo" and
    "Peptic ulcer diseae"; the model (API, CLI) keeps the data set's names, as ARCHITECTURE says."""
    from streamlit.testing.v1 import AppTest

    from medcore.checklist.data import DISPLAY_NAMES, readable

    model = medcore.load_model("symptom-checklist")
    assert "(vertigo) Paroymsal  Positional Vertigo" in model.labels  # the contract's label
    nested = readable({"labels": ["Peptic ulcer diseae", "GERD"], "per_class": {"Osteoarthristis": 0.9}})
    assert nested == {"labels": ["Peptic ulcer disease", "GERD"], "per_class": {"Osteoarthritis": 0.9}}
    app = AppTest.from_file(str(PROJECT_ROOT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("symptom-checklist").run()
    assert not app.exception
    shown = " ".join(
        [md.value for md in app.markdown]
        + [chart.proto.spec for chart in app.get("plotly_chart")]
        + [frame.value.to_csv() for frame in list(app.dataframe) + list(app.table)]
    )
    assert "Benign paroxysmal positional vertigo" in shown
    assert not [wrong for wrong in DISPLAY_NAMES if wrong in shown and " " in wrong]  # no misspelled name left
