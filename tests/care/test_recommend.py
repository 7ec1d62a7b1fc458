"""Care recommender: Synthea loading, the temporal protocol, the filters' maths on a tiny hand-made
cohort whose right answers are known, the recommend/explain/predict_proba contract, the bundle, and
(with MEDCORE_DATA_DIR) the real export and the shipped model."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from medcore.care.data import load_synthea, temporal_queries, timelines
from medcore.care.evaluate import evaluate_recommender, ranking_metrics
from medcore.care.model import CareRecommender, load_recommender_model
from medcore.care.train import cross_validate, fit_parameters, train_recommender_model
from medcore.cli import main
from medcore.core import registry
from medcore.core.errors import InvalidInputError
from medcore.core.evaluate import evaluate_upload
from medcore.core.registry import verify_bundle
from medcore.core.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "models" / "care-recommender"

# -- a tiny Synthea export, built in code ----------------------------------------------------------
# Six women with diabetes (condition 100) who then get HbA1c tests, metformin and a diet plan, and
# six men with asthma (condition 110) who then get spirometry, an inhaler and an asthma plan.
# Everyone had a flu shot, a check-up and a dental visit first; every woman has a mammogram.
_DESCRIPTIONS = {
    ("condition", "100"): "Diabetes mellitus type 2 (disorder)",
    ("condition", "110"): "Asthma (disorder)",
    ("procedure", "200"): "Hemoglobin A1c measurement (procedure)",
    ("medication", "300"): "Metformin 500 MG Oral Tablet",
    ("careplan", "500"): "Diabetic diet",
    ("procedure", "210"): "Spirometry (procedure)",
    ("medication", "310"): "Albuterol inhaler",
    ("careplan", "510"): "Asthma self management",
    ("immunization", "10"): "Influenza seasonal injectable",
    ("procedure", "400"): "General examination of patient (procedure)",
    ("procedure", "401"): "Dental care (regime/therapy)",
    ("procedure", "600"): "Screening mammography (procedure)",
}
_TABLE_HEADERS = {
    "conditions.csv": ["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"],
    "procedures.csv": ["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST"],
    "medications.csv": ["START", "STOP", "PATIENT", "PAYER", "ENCOUNTER", "CODE", "DESCRIPTION"],
    "immunizations.csv": ["DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST"],
    "careplans.csv": ["Id", "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"],
}
_FILE_OF = {
    "condition": "conditions.csv",
    "procedure": "procedures.csv",
    "medication": "medications.csv",
    "immunization": "immunizations.csv",
    "careplan": "careplans.csv",
}


def _tiny_patients() -> list[dict]:
    patients = []
    for n in range(12):
        female = n < 6
        birth_year = 1960 + n
        start = 2000 + n % 3
        events = [("immunization", "10", start), ("procedure", "400", start), ("procedure", "401", start + 1)]
        if female:
            events += [
                ("procedure", "600", start + 2),
                ("condition", "100", start + 3),
                ("procedure", "200", start + 4),
                ("medication", "300", start + 5),
                ("careplan", "500", start + 6),
            ]
        else:
            events += [
                ("condition", "110", start + 3),
                ("procedure", "210", start + 4),
                ("medication", "310", start + 5),
                ("careplan", "510", start + 6),
            ]
        patients.append(
            {
                "id": f"00000000-0000-0000-0000-{n:012d}",
                "birth": f"{birth_year}-03-0{1 + n % 9}",
                "sex": "F" if female else "M",
                "first": f"Name{n}",
                "ssn": f"999-00-{n:04d}",
                "events": events,
            }
        )
    return patients


def write_synthea(folder: Path, patients: list[dict] | None = None) -> Path:
    """Write a Synthea-layout CSV export of ``patients`` (default: the tiny cohort) into ``folder``."""
    patients = patients or _tiny_patients()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "patients.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "BIRTHDATE", "DEATHDATE", "SSN", "FIRST", "LAST", "GENDER", "ADDRESS"])
        for p in patients:
            writer.writerow([p["id"], p["birth"], "", p["ssn"], p["first"], "Smith", p["sex"], "1 Main St"])
    rows: dict[str, list] = {name: [] for name in _TABLE_HEADERS}
    for p in patients:
        for kind, code, year in p["events"]:
            name = _FILE_OF[kind]
            # Timestamps in some tables, plain dates in others, as Synthea writes them.
            date = f"{year}-06-15" if kind in ("condition", "careplan") else f"{year}-06-15T08:00:00Z"
            for repeat in range(2):  # a repeat a year later collapses to the first date
                when = date.replace(str(year), str(year + repeat), 1)
                fields = {
                    "START": when,
                    "DATE": when,
                    "STOP": "",
                    "PATIENT": p["id"],
                    "ENCOUNTER": "e",
                    "PAYER": "x",
                    "CODE": code,
                    "DESCRIPTION": _DESCRIPTIONS[(kind, code)],
                    "BASE_COST": "1",
                    "Id": "c",
                }
                rows[name].append([fields[column] for column in _TABLE_HEADERS[name]])
    for name, header in _TABLE_HEADERS.items():
        with open(folder / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows[name])
    return folder


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recommender")
    folder = write_synthea(root / "synthea")
    return train_recommender_model("tiny-recommender", folder, out_dir=root / "bundle", command="test")


@pytest.fixture(scope="module")
def tiny_model(tiny_bundle) -> CareRecommender:
    return load_recommender_model(tiny_bundle, verify_bundle(tiny_bundle))


# -- loading ---------------------------------------------------------------------------------------
def test_loader_collapses_repeats_to_first_dates_and_reads_every_kind(tmp_path):
    data = load_synthea(write_synthea(tmp_path / "s"))
    events = data.events
    assert set(events["kind"]) == {"condition", "procedure", "medication", "immunization", "careplan"}
    assert len(events) == len(events.drop_duplicates(["patient", "item"]))  # one event per patient and item
    first = events[(events["patient"] == "00000000-0000-0000-0000-000000000000") & (events["item"] == "procedure:200")]
    assert first["day"].item() == (np.datetime64("2004-06-15") - np.datetime64("1970-01-01")).astype(int)
    assert data.descriptions["immunization:10"] == "Influenza seasonal injectable"
    assert list(data.patients["sex"]).count("F") == 6


def test_loader_accepts_the_data_root_and_explains_a_missing_table(tmp_path):
    write_synthea(tmp_path / "synthea_unmc")
    assert load_synthea(tmp_path).folder == tmp_path / "synthea_unmc"
    (tmp_path / "synthea_unmc" / "careplans.csv").unlink()
    with pytest.raises(InvalidInputError, match="has no careplans.csv"):
        load_synthea(tmp_path)
    with pytest.raises(InvalidInputError, match="No file or folder at"):
        load_synthea(tmp_path / "nothing-here")


def test_loader_names_a_missing_column_and_a_bad_date(tmp_path):
    folder = write_synthea(tmp_path / "s")
    text = (folder / "immunizations.csv").read_text()
    (folder / "immunizations.csv").write_text(text.replace("CODE", "KODE", 1))
    with pytest.raises(InvalidInputError, match=r"immunizations.csv lacks the column\(s\) \['CODE'\]"):
        load_synthea(folder)
    write_synthea(folder)
    text = (folder / "procedures.csv").read_text()
    (folder / "procedures.csv").write_text(text.replace("2001-06-15T08:00:00Z", "yesterday", 1))
    with pytest.raises(InvalidInputError, match="not dates.*yesterday"):
        load_synthea(folder)


def test_folder_without_patients_csv_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no patients.csv"):
        load_synthea(tmp_path / "empty")


# -- protocol and metrics --------------------------------------------------------------------------
def test_temporal_protocol_splits_at_the_80th_percentile(tmp_path):
    patient = {
        "id": "p",
        "birth": "1990-01-01",
        "sex": "F",
        "first": "A",
        "ssn": "1",
        "events": [
            ("immunization", "10", 2000),
            ("procedure", "400", 2001),
            ("procedure", "401", 2002),
            ("procedure", "600", 2003),
            ("condition", "100", 2003),
            ("procedure", "200", 2004),
        ],
    }
    queries, skipped = temporal_queries(timelines(load_synthea(write_synthea(tmp_path / "s", [patient]))))
    assert skipped == 0 and len(queries) == 1
    query = queries[0]
    # Service first days 2000..2004 (one a year): the 80th percentile falls in 2003, after its
    # mid-June items, so 2003's items are history and 2004's procedure is the only target.
    assert query.targets == ["procedure:200"]
    assert query.history == ["immunization:10", "procedure:400", "procedure:401", "condition:100", "procedure:600"]
    assert 13.0 < query.age < 15.0 and query.sex == "F"


def test_protocol_skips_patients_with_too_few_service_items(tmp_path):
    patient = {
        "id": "p",
        "birth": "1990-01-01",
        "sex": "M",
        "first": "A",
        "ssn": "1",
        "events": [("immunization", "10", 2000), ("procedure", "400", 2001), ("procedure", "401", 2002)],
    }
    queries, skipped = temporal_queries(timelines(load_synthea(write_synthea(tmp_path / "s", [patient]))))
    assert queries == [] and skipped == 1


def test_ranking_metrics_by_hand():
    figures = ranking_metrics([["a", "b", "c"], ["x", "y", "z"]], [["b"], ["x", "z"]], ks=[1, 2, 3])
    assert figures["n"] == 2
    assert figures["hr@1"] == pytest.approx(0.5)  # only the second patient's first item is a target
    assert figures["hr@2"] == pytest.approx(1.0)
    assert figures["ndcg@2"] == pytest.approx(((1 / np.log2(3)) / 1 + 1 / (1 + 1 / np.log2(3))) / 2)
    assert figures["recall@3"] == pytest.approx(1.0)
    assert figures["recall@1"] == pytest.approx((0 + 0.5) / 2)
    with pytest.raises(InvalidInputError, match="at least one target"):
        ranking_metrics([["a"]], [[]])


# -- the filters' maths ----------------------------------------------------------------------------
def test_sequential_counts_follow_time_order(tmp_path):
    cohort = timelines(load_synthea(write_synthea(tmp_path / "s")))
    parameters = fit_parameters(cohort)
    column = {item: j for j, item in enumerate(cohort.items)}
    counts = parameters["sequential_counts"]
    assert counts[column["condition:100"], column["medication:300"]] == 6  # all six women: diabetes, then metformin
    assert counts[column["medication:300"], column["condition:100"]] == 0  # never the other way round
    assert counts[column["condition:100"], column["medication:310"]] == 0  # no woman had an inhaler
    assert counts.diagonal().sum() == 0
    cosine = parameters["item_cosine"]
    assert cosine[column["condition:100"], column["procedure:200"]] == pytest.approx(1.0)  # always together
    assert cosine[column["condition:100"], column["procedure:210"]] == pytest.approx(0.0)


def test_history_points_to_its_own_pathway(tiny_model):
    diabetes = {item["item"] for item in tiny_model.recommend(["condition:100"], k=3)["items"]}
    asthma = {item["item"] for item in tiny_model.recommend(["condition:110"], k=3)["items"]}
    assert diabetes == {"procedure:200", "medication:300", "careplan:500"}
    assert asthma == {"procedure:210", "medication:310", "careplan:510"}


def test_new_patient_folds_in_without_retraining(tiny_model):
    # A history no training patient had: half a diabetes pathway plus a flu shot.
    result = tiny_model.recommend(["condition:100", "procedure:200", "immunization:10"], k=2)
    assert {item["item"] for item in result["items"]} == {"medication:300", "careplan:500"}


def test_never_recommends_history_or_conditions(tiny_model):
    history = ["condition:100", "procedure:200", "medication:300"]
    result = tiny_model.recommend(history, k=50)
    recommended = [item["item"] for item in result["items"]]
    assert not set(recommended) & set(history)
    assert all(item["kind"] != "condition" for item in result["items"])
    assert all(not item.startswith("condition:") for item in tiny_model.labels)
    assert len(recommended) == len(set(recommended))
    scores = [item["score"] for item in result["items"]]
    assert scores == sorted(scores, reverse=True)


def test_sex_filter_drops_items_only_the_other_sex_had(tiny_model):
    for_men = [item["item"] for item in tiny_model.recommend(["immunization:10"], k=50, sex="male")["items"]]
    for_women = [item["item"] for item in tiny_model.recommend(["immunization:10"], k=50, sex="F")["items"]]
    assert "procedure:600" not in for_men and "procedure:600" in for_women


def test_reasons_name_the_history_and_similar_patients(tiny_model):
    top = tiny_model.recommend(["condition:100"], k=1, age=45, sex="F")["items"][0]
    assert "Diabetes mellitus type 2" in top["reason"]
    assert "similar patients" in top["reason"]
    explained = tiny_model.explain(["condition:100"], k=1)[0]
    assert explained["item"] == top["item"]
    assert explained["drivers"][0]["item"] == "condition:100"
    assert explained["drivers"][0]["patients_after"] == 6
    assert explained["similar_patients"]["had"] == explained["similar_patients"]["of"] == 6


# -- contract --------------------------------------------------------------------------------------
def test_unknown_ids_are_reported_not_dropped(tiny_model):
    result = tiny_model.recommend(["condition:100", "procedure:999", "nonsense"], k=3)
    assert result["unknown"] == ["procedure:999", "nonsense"]
    assert any("not known" in notice for notice in result["notices"])
    assert len(result["items"]) == 3


@pytest.mark.parametrize("history", [[], ["procedure:999"]])
def test_empty_history_falls_back_to_popularity_with_a_notice(tiny_model, history):
    result = tiny_model.recommend(history, k=5, age=40, sex="F")
    assert len(result["items"]) == 5
    assert any("No known history items" in notice for notice in result["notices"])
    assert all(item["reason"] for item in result["items"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"history": ["condition:100"], "k": 0}, "k must be from 1 to 50"),
        ({"history": ["condition:100"], "k": 51}, "k must be from 1 to 50"),
        ({"history": ["condition:100"], "k": "10"}, "k must be a whole number"),
        ({"history": "condition:100"}, "history must be a list"),
        ({"history": [100]}, "must be an item id string"),
        ({"history": ["condition:100"], "age": -1}, "age must be between"),
        ({"history": ["condition:100"], "age": "forty"}, "age must be a number"),
        ({"history": ["condition:100"], "sex": "x"}, "sex must be 'F', 'M'"),
    ],
)
def test_bad_input_raises_a_clear_error(tiny_model, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        tiny_model.recommend(**kwargs)


def test_predict_proba_rows_sum_to_one(tiny_model):
    proba = tiny_model.predict_proba([["condition:100"], [], ["condition:110", "procedure:210"]])
    assert proba.shape == (3, len(tiny_model.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[2, tiny_model.labels.index("procedure:210")] == 0.0
    assert proba[0].argmax() in [
        tiny_model.labels.index(i) for i in ("procedure:200", "medication:300", "careplan:500")
    ]


def test_patients_are_pseudonymous_and_items_searchable(tiny_model, tiny_bundle):
    patients = tiny_model.patients()
    assert [p["id"] for p in patients] == [f"P{n:03d}" for n in range(1, 13)]
    assert {"age", "sex", "timeline", "deceased"} <= set(patients[0])
    assert {"item", "kind", "description", "date"} == set(patients[0]["timeline"][0])
    stored = "".join(path.read_text() for path in tiny_bundle.iterdir() if path.suffix == ".json")
    for secret in ("00000000-0000-0000-0000-", "Name1", "999-00-", "Smith", "Main St"):
        assert secret not in stored
    found = tiny_model.search_items("DIABET")
    assert [entry["item"] for entry in found] == ["condition:100", "careplan:500"]
    assert [entry["item"] for entry in tiny_model.search_items("tablet metformin")] == ["medication:300"]
    assert tiny_model.search_items("diabet", kinds=["careplan"])[0]["patients"] == 6
    with pytest.raises(InvalidInputError, match="query must be text"):
        tiny_model.search_items(None)
    assert tiny_model.items["procedure:200"]["kind"] == "procedure"


def test_bundle_is_complete_safe_and_loads_through_the_registry(tiny_bundle, monkeypatch):
    from medcore.core.bundle import REQUIRED_CARD_KEYS

    card = json.loads((tiny_bundle / "card.json").read_text())
    assert [key for key in REQUIRED_CARD_KEYS if key not in card] == []
    assert card["kind"] == "recommender"
    validation = card["metrics"]["validation"]
    assert {"split", "n", "hr@10", "ndcg@10", "recall@10", "baselines"} <= set(validation)
    assert "popularity" in validation["baselines"]
    with np.load(tiny_bundle / "model.npz", allow_pickle=False) as stored:
        assert "sequential_counts" in stored.files
    evaluation = json.loads((tiny_bundle / "evaluation.json").read_text())
    assert len(evaluation["curves"]["blend"]["hr"]) == len(evaluation["curves"]["popularity"]["ndcg"]) == 20
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tiny_bundle.parent))
    model = registry.load_model(tiny_bundle.name)
    assert model.kind == "recommender" and model.name == "tiny-recommender"


def test_evaluate_reports_model_and_popularity_in_one_run(tiny_model, tiny_bundle):
    folder = tiny_bundle.parent / "synthea"
    result = evaluate_recommender(tiny_model, folder)
    assert result["n"] == 12
    assert {"hr@10", "ndcg@10", "recall@10"} <= set(result) and "popularity" in result["baseline"]
    assert result["ndcg@10"] >= result["baseline"]["popularity"]["ndcg@10"]
    assert any("trained on" in note for note in result["notes"])


def _zipped(folder: Path, prefix: str = "export/csv/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.glob("*.csv")):
            archive.write(path, prefix + path.name)
    return buffer.getvalue()


def test_a_zipped_export_evaluates_as_its_folder(tiny_model, tiny_bundle, monkeypatch, capsys):
    """The page's upload path (a zip, in memory) and the CLI's folder path give the same figures."""
    folder = tiny_bundle.parent / "synthea"
    from_folder = evaluate_recommender(tiny_model, folder)
    from_zip = evaluate_upload(tiny_model, "export.zip", _zipped(folder))
    assert from_zip["n"] == from_folder["n"] and from_zip["curves"] == from_folder["curves"]
    assert from_zip["notes"] == from_folder["notes"]  # recognised as the training data either way
    archive = tiny_bundle.parent / "export.zip"
    archive.write_bytes(_zipped(folder))
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tiny_bundle.parent))
    assert main(["evaluate", tiny_bundle.name, str(archive), "--json"]) == 0  # the CLI reads the zip too
    assert json.loads(capsys.readouterr().out)["n"] == from_folder["n"]


@pytest.mark.parametrize(
    "name, data, match",
    [
        ("export.zip", b"not a zip", "not a readable zip"),
        ("export.csv", b"Id,BIRTHDATE", "Expected .zip"),
        ("export.zip", None, "holds no patients.csv"),
    ],
)
def test_bad_export_uploads_say_what_is_wrong(tiny_model, name, data, match):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("export/conditions.csv", "PATIENT,CODE,DESCRIPTION\n")
        data = buffer.getvalue()
    with pytest.raises(InvalidInputError, match=match):
        evaluate_upload(tiny_model, name, data)


def test_an_export_zip_missing_a_table_names_it(tiny_bundle, tiny_model):
    folder = tiny_bundle.parent / "synthea"
    data = _zipped(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for member in source.namelist():
            if not member.endswith("careplans.csv"):
                target.writestr(member, source.read(member))
    with pytest.raises(InvalidInputError, match="uploaded export has no careplans.csv"):
        evaluate_upload(tiny_model, "export.zip", buffer.getvalue())


# -- real data -------------------------------------------------------------------------------------
@pytest.mark.data
def test_real_export_matches_its_source_notes(data_dir):
    data = load_synthea(data_dir)
    assert len(data.patients) == 111
    pairs = data.events["kind"].value_counts().to_dict()
    assert pairs == {"procedure": 2205, "condition": 1697, "medication": 625, "immunization": 576, "careplan": 327}
    queries, skipped = temporal_queries(timelines(data))
    assert len(queries) + skipped == 111 and len(queries) >= 100


@pytest.mark.data
@pytest.mark.slow
def test_held_out_patients_beat_the_classic_filters(data_dir):
    result = cross_validate(timelines(load_synthea(data_dir)), seed=0)
    candidates = result["candidates"]
    assert candidates["blend"]["ndcg@10"] > candidates["user-knn"]["ndcg@10"] > candidates["popularity"]["ndcg@10"]
    assert candidates["blend"]["hr@10"] >= 0.9


@pytest.mark.data
def test_evaluation_page_on_the_zipped_real_export(data_dir):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(PROJECT_ROOT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("care-recommender").run()
    app.file_uploader[0].set_value(("synthea.zip", _zipped(data_dir / "synthea_unmc"), "application/zip")).run()
    assert not app.exception and not app.error
    table = app.table[0].value
    assert table.loc["your data", "n"] >= 100 and "popularity baseline (your data)" in table.index
    assert any("trained on" in warning.value for warning in app.warning)  # the shipped model saw these patients


@pytest.mark.data
def test_shipped_bundle_on_the_real_export(data_dir):
    if not (SHIPPED / "card.json").is_file():
        pytest.skip("models/care-recommender has not been trained yet")
    model = load_recommender_model(SHIPPED, verify_bundle(SHIPPED))
    result = evaluate_recommender(model, data_dir)
    assert result["n"] >= 100 and result["hr@10"] > result["baseline"]["popularity"]["hr@10"]
    patient = model.patients()[0]
    history = [event["item"] for event in patient["timeline"]]
    recommended = model.recommend(history, k=10, age=patient["age"], sex=patient["sex"])
    assert len(recommended["items"]) == 10 and not {i["item"] for i in recommended["items"]} & set(history)


# -- drugs that belong to a procedure are never recommended on their own ------------------------------
def test_encounter_bound_medications_are_those_stopped_within_their_visit():
    from medcore.care.data import encounter_bound_medications

    tables = {
        "encounters.csv": b"Id,START,STOP\n"
        b"op,2020-01-01T08:00:00Z,2020-01-01T12:00:00Z\n"
        b"gp,2020-02-01T08:00:00Z,2020-02-01T08:15:00Z\n",
        "medications.csv": b"START,STOP,PATIENT,ENCOUNTER,CODE\n"
        b"2020-01-01T09:00:00Z,2020-01-01T09:00:00Z,p1,op,111\n"  # propofol: given and stopped in theatre
        b"2020-01-01T09:00:00Z,2020-01-01T09:00:00Z,p2,op,111\n"
        b"2020-02-01T08:10:00Z,,p1,gp,222\n"  # a prescription that goes on after the visit
        b"2020-02-01T08:10:00Z,2020-05-01T00:00:00Z,p2,gp,222\n"
        b"2020-01-01T09:00:00Z,2020-01-01T09:00:00Z,p3,op,333\n"  # half and half
        b"2020-02-01T08:10:00Z,,p4,gp,333\n",
    }
    shares = encounter_bound_medications(tables)
    assert shares == {"medication:111": 1.0, "medication:222": 0.0, "medication:333": 0.5}
    assert encounter_bound_medications({"medications.csv": tables["medications.csv"]}) == {}  # no encounters: no rule


def test_excluded_items_are_never_candidates_but_stay_in_histories():
    from medcore.care.collaborative import RecommenderScorer

    items = ["condition:1", "medication:111", "medication:222", "procedure:9"]
    first_age = np.array([[30.0, 31.0, 32.0, 33.0], [40.0, 41.0, np.nan, 42.0]])
    arrays = {"first_age": first_age, "end_age": np.array([50.0, 50.0]), "sex": np.array([0, 1], dtype=np.int8)}
    scorer = RecommenderScorer(items, arrays, {}, excluded=("medication:111",))
    candidates = scorer.candidates(np.array([0]))
    assert candidates.tolist() == [False, False, True, True]
    assert scorer.index["medication:111"] == 1  # still a known history item


def test_the_shipped_recommender_offers_no_procedure_bound_drug_for_a_chronic_patient():
    """Hypertension + type 2 diabetes + metformin, a man of 67: the case where anaesthetics used to top the list."""
    model = registry.load_model("care-recommender")
    card = model.card
    excluded = {entry["item"] for entry in card["excluded"]["items"]}
    assert card["excluded"]["applied"] and len(excluded) >= 10
    history = ["condition:59621000", "condition:44054006", "medication:860975"]
    result = model.recommend(history, k=20, age=67, sex="M")
    offered = [item["item"] for item in result["items"]]
    assert not set(offered) & excluded
    text = " ".join(item["description"].lower() for item in result["items"])
    for drug in ("remifentanil", "lorazepam", "rocuronium", "propofol", "heparin", "midazolam"):
        assert drug not in text
    # The held-out HR@10 is recomputed by test_held_out_patients_beat_the_classic_filters, not read back here.
