"""End to end: `python -m medcore serve` on a free port, and medcore's client of it
(``MEDCORE_MODEL_SERVER``) answering as the in-process models do."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

import medcore
from medcore.api import predict as predict_module
from medcore.api.client import RemoteModel
from medcore.cli import main
from tests.appserver import PROJECT, running_server
from tests.conftest import png_bytes

pytestmark = pytest.mark.slow

SERVED = (
    "pneumonia-cxr",
    "image-modality",
    "symptom-text",
    "symptom-checklist",
    "survival-gbsg",
    "warfarin-dose",
    "literature-extraction",
    "symptom-assessment",
    "care-recommender",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The service over a models folder of a few shipped bundles, asked to bind 0.0.0.0 without tokens."""
    root = tmp_path_factory.mktemp("served")
    models = root / "models"
    models.mkdir()
    for name in SERVED:
        (models / name).symlink_to(PROJECT / "models" / name)
    (root / "tokens.toml").write_text("# no tokens\n")
    env = {"MEDCORE_MODELS_DIR": str(models), "MEDCORE_API_TOKENS": str(root / "tokens.toml")}
    with running_server(service=True, env=env, timeout=240, extra_args=("--host", "0.0.0.0")) as running:
        yield running


def _count(server, model: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    series = f'medcore_requests_total{{endpoint="/v1/models/{{name}}/predict",model="{model}",status="200"}}'
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(series)), 0.0)


def test_without_tokens_the_service_binds_to_loopback_only_and_says_so(server):
    log = server.log_tail(5000)
    assert "binds to 127.0.0.1 only" in log and f"Uvicorn running on http://127.0.0.1:{server.port}" in log
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "alive"}
    assert httpx.get(f"{server.url}/readyz").json()["models"] == sorted(SERVED)


@pytest.mark.data
def test_an_image_and_a_text_over_http_match_the_in_process_models(server, genuine):
    image = png_bytes(genuine["pneumonia-cxr"][1])
    response = httpx.post(
        f"{server.url}/v1/models/pneumonia-cxr/predict", files=[("files", ("x.png", image))], timeout=60
    )
    (row,) = response.json()["results"]
    (expected,) = medcore.load_model("pneumonia-cxr").analyse([("x.png", image)])
    assert row["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
    assert row["decision"] == expected.decision
    text = "Sneezing, a runny nose and a sore throat for two days"
    (row,) = httpx.post(f"{server.url}/v1/models/symptom-text/predict", json={"texts": [text]}, timeout=60).json()[
        "results"
    ]
    expected = medcore.load_model("symptom-text").predict_proba([text])[0]
    assert [row["probabilities"][label] for label in medcore.load_model("symptom-text").labels] == pytest.approx(
        expected, abs=1e-6
    )


@pytest.mark.data
def test_load_model_returns_a_client_with_the_same_api(server, genuine, monkeypatch):
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", server.url)
    remote = medcore.load_model("pneumonia-cxr")
    assert isinstance(remote, RemoteModel) and remote.labels == ["normal", "pneumonia"]
    monkeypatch.delenv("MEDCORE_MODEL_SERVER")
    local = medcore.load_model("pneumonia-cxr")
    assert not isinstance(local, RemoteModel)
    images = genuine["pneumonia-cxr"][:4]
    assert remote.predict_proba(images) == pytest.approx(local.predict_proba(images), abs=1e-6)
    assert np.abs(remote.explain(images[0]) - local.explain(images[0])).max() <= 1 / 255 + 1e-6
    fundus = genuine["retina-dr"][0]
    assert np.isnan(remote.predict_proba(fundus[None])).all(), "no answer outside the model's domain"
    with pytest.raises(medcore.InvalidInputError, match="retina-dr"):
        remote.explain(fundus)
    good, bad = remote.analyse([("a.png", png_bytes(images[0])), ("b.png", b"junk")])
    assert good.decision == local.analyse([("a.png", png_bytes(images[0]))])[0].decision
    assert good.prepared.original.shape == images[0].shape and bad.error and bad.decision is None


def test_remote_records_checklists_and_errors(server, monkeypatch):
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", server.url)
    survival, checklist, dose, assessment = (
        medcore.load_model(n) for n in ("survival-gbsg", "symptom-checklist", "warfarin-dose", "symptom-assessment")
    )
    monkeypatch.delenv("MEDCORE_MODEL_SERVER")
    local = medcore.load_model("survival-gbsg")
    row = dict(local.reference_row)
    assert survival.risk([row]) == pytest.approx(local.risk([row]))
    times, curves = survival.predict_survival([row, {**row, "age": 100}])
    local_times, local_curves = local.predict_survival([row])
    assert times == pytest.approx(local_times) and curves[0] == pytest.approx(local_curves[0])
    assert np.isnan(curves[1]).all(), "a patient outside the cohort gets no curve"
    symptoms = ["itching", "skin_rash", "nodal_skin_eruptions"]
    assert checklist.differential(symptoms, 3) == medcore.load_model("symptom-checklist").differential(symptoms, 3)
    patient = {"Age": "50 - 59", "Height (cm)": 165, "Weight (kg)": 70}
    assert dose.predict_dose([patient]) == pytest.approx(medcore.load_model("warfarin-dose").predict_dose([patient]))
    with pytest.raises(medcore.InvalidInputError, match="unknown|not a symptom|known"):
        checklist.differential(["no_such_symptom"])
    text = "chest pain since this morning"
    local_assessment = medcore.load_model("symptom-assessment")
    assert assessment.conditions == local_assessment.conditions
    assert assessment.assess(text, symptoms=["sweating"]) == predict_module.plain(
        local_assessment.assess(text, symptoms=["sweating"])
    )
    with pytest.raises(medcore.InvalidInputError, match="impossible"):
        assessment.assess(text, age=150)
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", server.url)
    with pytest.raises(medcore.ModelNotFoundError):
        medcore.load_model("drug-bbbp")  # shipped, but not on this service
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(medcore.MedcoreError, match="could not be reached"):
        medcore.load_model("symptom-text")


def test_remote_care_plan_and_where(server, monkeypatch):
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", server.url)
    remote = medcore.load_model("care-recommender")
    monkeypatch.delenv("MEDCORE_MODEL_SERVER")
    local = medcore.load_model("care-recommender")
    history = ["condition:59621000", {"item": "immunization:140", "date": "2026-10-01"}]
    kwargs = {"age": 70, "sex": "F", "location": "Lincoln, NE", "lifestyle": {"bmi": 31}}
    assert remote.plan(history, **kwargs) == predict_module.plain(local.plan(history, **kwargs))
    assert remote.where((40.81, -96.70), "dialysis", k=2) == predict_module.plain(
        local.where((40.81, -96.70), "dialysis", k=2)
    )
    with pytest.raises(medcore.InvalidInputError, match="lifestyle.sleep"):
        remote.plan(history, lifestyle={"sleep": 40})


@pytest.mark.data
def test_the_cli_predicts_through_the_service(server, genuine, monkeypatch, tmp_path, capsys):
    path = tmp_path / "xray.png"
    path.write_bytes(png_bytes(genuine["pneumonia-cxr"][2]))
    before = _count(server, "pneumonia-cxr")
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", server.url)
    assert main(["predict", "pneumonia-cxr", str(path), "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert _count(server, "pneumonia-cxr") == before + 1, "the prediction ran on the service"
    monkeypatch.delenv("MEDCORE_MODEL_SERVER")
    assert main(["predict", "pneumonia-cxr", str(path), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert remote["decision"] == local["decision"]
    assert remote["probabilities"] == pytest.approx(local["probabilities"], abs=1e-6)


def test_remote_text_and_literature_read_as_the_local_models(server, monkeypatch):
    monkeypatch.setenv("MEDCORE_MODEL_SERVER", server.url)
    text, literature = medcore.load_model("symptom-text"), medcore.load_model("literature-extraction")
    monkeypatch.delenv("MEDCORE_MODEL_SERVER")
    local_text, local_literature = medcore.load_model("symptom-text"), medcore.load_model("literature-extraction")
    note = "Fever\u200b and a rash " + "itchy " * 2000  # an invisible character, and longer than max_chars
    assert text.prepare(note) == local_text.prepare(note) and text.max_chars == local_text.max_chars
    abstracts = ["Lithium toxicity. Lithium-induced tremor was seen.", "Cisplatin-induced nephrotoxicity in rats."]
    done = []
    remote = literature.extract_many(abstracts, [17, 0], done.append)
    assert remote == predict_module.plain(local_literature.extract_many(abstracts, [17, 0])) and done[-1] == 1.0
    assert literature.threshold == local_literature.threshold and literature.max_chars == local_literature.max_chars
