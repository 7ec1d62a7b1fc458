"""The model service's endpoints, answers and errors, through FastAPI's TestClient (no network)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
import pytest

import medcore
from medcore.api import predict as predict_module
from medcore.api.app import Backend, create_app
from medcore.api.tokens import TokenTable
from medcore.core import audit
from medcore.core.settings import LIMITS
from tests.api.conftest import LOOPBACK_CLIENT, wait_ready
from tests.conftest import PROJECT, png_bytes

pytestmark = pytest.mark.slow  # loads every shipped model once per test session


def _audit_lines() -> list[dict]:
    path = os.environ["MEDCORE_AUDIT_LOG"]
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# -- health, models, cards -------------------------------------------------------------------
def test_health_readiness_and_the_model_list(service):
    assert service.get("/healthz").json() == {"status": "alive"}
    ready = service.get("/readyz")
    shipped = sorted(card["name"] for card in medcore.list_models())
    assert ready.status_code == 200 and ready.json()["models"] == shipped and not ready.json()["unavailable"]
    listed = service.get("/v1/models").json()
    assert [m["name"] for m in listed] == shipped
    assert set(listed[0]) == {"name", "kind", "task", "version", "metrics"}
    card = service.get("/v1/models/pneumonia-cxr").json()
    assert card == medcore.read_card("pneumonia-cxr")


def test_readiness_waits_for_loading_and_names_unavailable_models():
    class Loading(Backend):
        state = {"a": "loading", "b": "ready"}

        def status(self):
            return dict(self.state)

    from fastapi.testclient import TestClient

    backend = Loading()
    with TestClient(create_app(backend, TokenTable([])), client=LOOPBACK_CLIENT) as client:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["loading"] == ["a"]
        assert response.headers["retry-after"]
        backend.state = {"a": "Model 'a' refused: 'model.keras' does not match", "b": "ready"}
        response = client.get("/readyz")
        assert response.status_code == 200 and "refused" in response.json()["unavailable"]["a"]


def test_unknown_models_and_routes_are_json_404s_that_do_not_reveal_the_server(service):
    for response in (
        service.get("/v1/models/no-such-model"),
        service.post("/v1/models/no-such-model/predict", json={"texts": ["x"]}),
        service.get("/v1/models/..%2F..%2Fetc"),
        service.get("/nowhere"),
    ):
        assert response.status_code == 404
        message = response.json()["error"]
        assert str(PROJECT) not in message and "Traceback" not in message
    assert "GET /v1/models" in service.get("/v1/models/no-such-model").json()["error"]
    assert service.delete("/v1/models").status_code == 405


# -- the same answers as the Python API ------------------------------------------------------
@pytest.mark.data
def test_image_predictions_match_the_python_api_and_explain_gives_the_grad_cam(service, genuine):
    model = medcore.load_model("pneumonia-cxr")
    files = [("xray.png", png_bytes(genuine["pneumonia-cxr"][0])), ("broken.png", b"\x89PNG\r\n\x1a\nbroken")]
    response = service.post("/v1/models/pneumonia-cxr/predict?explain=true", files=[("files", f) for f in files])
    assert response.status_code == 200
    good, bad = response.json()["results"]
    expected = model.analyse(files)[0]
    assert good["probabilities"] == pytest.approx(expected.probabilities, abs=1e-9)
    assert good["decision"] == expected.decision and good["out_of_domain"] is False
    assert bad["error"] and bad["decision"] is None and "explanation" not in bad
    heatmap = predict_module.read_png_data_url(good["explanation"]["heatmap"])
    assert heatmap.shape == genuine["pneumonia-cxr"][0].shape
    assert np.abs(heatmap - model.explain(expected.prepared)).max() <= 1 / 255 + 1e-9
    plain = service.post("/v1/models/pneumonia-cxr/predict", files=[("files", files[0])]).json()["results"][0]
    assert "explanation" not in plain


@pytest.mark.data
def test_an_image_of_another_kind_gets_no_answer(service, genuine):
    fundus = ("fundus.png", png_bytes(genuine["retina-dr"][0]))
    (row,) = service.post("/v1/models/pneumonia-cxr/predict?explain=true", files=[("files", fundus)]).json()["results"]
    assert row["out_of_domain"] is True and row["decision"] is None and row["probabilities"] == {}
    assert "retina-dr" in row["warnings"][0] and "explanation" not in row


@pytest.mark.data
def test_segmentation_returns_the_mask_and_measures_of_the_python_api(service, data_dir):
    with np.load(data_dir / "medmnist" / "breastmnist_trainval.npz") as archive:
        image = archive["val_images"][3]
    model = medcore.load_model("breast-lesion-segmentation")
    (row,) = service.post(
        "/v1/models/breast-lesion-segmentation/predict", files=[("files", ("us.png", png_bytes(image)))]
    ).json()["results"]
    (expected,) = model.analyse([image])
    mask = predict_module.read_png_data_url(row["mask"])
    assert np.array_equal(mask >= 0.5, expected["mask"] == 1)
    assert row["measures"] == pytest.approx(expected["measures"])


def test_text_probabilities_and_word_weights_match_the_python_api(service):
    model = medcore.load_model("symptom-text")
    text = "I have an itchy rash on my arms and a fever since yesterday"
    (row,) = service.post("/v1/models/symptom-text/predict?explain=true", json={"texts": [text]}).json()["results"]
    expected = dict(zip(model.labels, model.predict_proba([text])[0]))
    assert row["probabilities"] == pytest.approx(expected, abs=1e-9)
    assert row["decision"] == max(expected, key=expected.get)
    words, weights = zip(*row["explanation"]["words"])
    expected_words, expected_weights = zip(*model.explain(text))
    assert words == expected_words and weights == pytest.approx(expected_weights)


def test_checklist_recommender_and_literature_answer_as_the_python_api(service):
    checklist = medcore.load_model("symptom-checklist")
    (row,) = service.post("/v1/models/symptom-checklist/predict", json={"symptoms": [["itching", "skin_rash"]]}).json()[
        "results"
    ]
    assert row["differential"] == predict_module.plain(checklist.differential(["itching", "skin_rash"], top=5))
    assert row["next_questions"] == predict_module.plain(checklist.next_questions(["itching", "skin_rash"], 3))

    care = medcore.load_model("care-recommender")
    body = {"history": ["condition:444814009"], "k": 4, "age": 40, "sex": "F"}
    answer = service.post("/v1/models/care-recommender/predict", json=body).json()
    assert answer == predict_module.plain(care.recommend(["condition:444814009"], k=4, age=40, sex="F"))

    literature = medcore.load_model("literature-extraction")
    text = "Cisplatin-induced nephrotoxicity was seen in two patients."
    (row,) = service.post("/v1/models/literature-extraction/predict", json={"texts": [text]}).json()["results"]
    assert row == predict_module.plain(literature.extract(text))
    assert {(e["start"], e["end"]) for e in row["entities"]} and all(
        text[e["start"] : e["end"]] == e["text"] for e in row["entities"]
    )


def test_records_and_molecules_answer_as_the_python_api_and_refuse_out_of_domain(service):
    survival = medcore.load_model("survival-gbsg")
    typical = dict(survival.reference_row)
    odd = {**typical, "age": 100}  # plausible, but older than anyone in the training cohort (24-90)
    rows = service.post("/v1/models/survival-gbsg/predict?explain=true", json={"records": [typical, odd]}).json()
    first, second = rows["results"]
    expected = survival.analyse([typical])[0]
    assert first["risk"] == pytest.approx(expected["risk"]) and first["risk_percentile"] == pytest.approx(
        expected["risk_percentile"]
    )
    assert first["explanation"]["contributions"] and second["out_of_domain"] is True
    assert "explanation" not in second and "risk" not in second

    dose = medcore.load_model("warfarin-dose")
    patient = {"Age": "60 - 69", "Height (cm)": 170, "Weight (kg)": 80, "Race (Reported)": "White"}
    (row,) = service.post("/v1/models/warfarin-dose/predict", json={"records": [patient]}).json()["results"]
    assert row["dose"] == pytest.approx(float(dose.predict_dose([patient])[0]))
    assert set(row["schedule"]["strengths"]) <= {1.0, 3.0, 5.0}  # the page's default strengths, one rule everywhere
    body = {"records": [patient], "strengths": [2.5]}
    (row,) = service.post("/v1/models/warfarin-dose/predict", json=body).json()["results"]
    assert row["schedule"]["strengths"] == [2.5] and row["schedule"] == dose.analyse([patient], [2.5])[0]["schedule"]
    refused = service.post("/v1/models/warfarin-dose/predict", json={"records": [patient], "strengths": ["big"]})
    assert refused.status_code == 422 and "Tablet strength 'big'" in refused.json()["error"]

    esol = medcore.load_model("drug-esol")
    rows = service.post("/v1/models/drug-esol/predict", json={"smiles": ["CCO", "not a smiles"]}).json()["results"]
    assert rows[0]["predictions"]["log_solubility_mol_per_L"] == pytest.approx(float(esol.predict(["CCO"])[0, 0]))
    assert rows[1]["error"] and rows[1]["predictions"] == {}


# -- bad input -------------------------------------------------------------------------------
def test_wrong_content_types_are_415_with_what_to_send(service):
    as_json = service.post("/v1/models/pneumonia-cxr/predict", json={"texts": ["x"]})
    assert as_json.status_code == 415 and "multipart/form-data" in as_json.json()["error"]
    as_files = service.post("/v1/models/symptom-text/predict", files=[("files", ("a.txt", b"fever"))])
    assert as_files.status_code == 415 and "application/json" in as_files.json()["error"]
    plain_text = service.post(
        "/v1/models/symptom-text/predict", content=b"fever", headers={"content-type": "text/plain"}
    )
    assert plain_text.status_code == 415


def test_malformed_or_misshapen_bodies_are_400_and_422_with_the_api_s_words(service):
    broken = service.post(
        "/v1/models/symptom-text/predict", content=b'{"texts": [', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    for body in ([1, 2], {"texts": "fever"}, {"texts": []}, {"texts": [3]}, {"text": ["fever"]}):
        response = service.post("/v1/models/symptom-text/predict", json=body)
        assert response.status_code == 422, body
        assert '{"texts": [' in response.json()["error"], "the message shows a valid body"
    empty = service.post("/v1/models/symptom-text/predict", json={"texts": ["   "]})
    assert empty.status_code == 422 and "empty" in empty.json()["error"]
    long = service.post("/v1/models/symptom-text/predict", json={"texts": ["a" * (LIMITS["max_text_chars"] + 1)]})
    assert long.status_code == 422 and f"{LIMITS['max_text_chars']:,}" in long.json()["error"]
    unknown = service.post("/v1/models/symptom-checklist/predict", json={"symptoms": [["no_such_symptom"]]})
    assert unknown.status_code == 422
    k = service.post("/v1/models/care-recommender/predict", json={"history": ["condition:444814009"], "k": 10**6})
    assert k.status_code == 422 and str(LIMITS["max_recommendations"]) in k.json()["error"]
    flag = service.post("/v1/models/symptom-text/predict?explain=maybe", json={"texts": ["fever"]})
    assert flag.status_code == 422 and "explain" in flag.json()["error"]
    titles = service.post("/v1/models/literature-extraction/predict", json={"texts": ["a", "b"], "title_ends": [1]})
    assert titles.status_code == 422 and "title_ends" in titles.json()["error"]
    no_parts = service.post("/v1/models/pneumonia-cxr/predict", files=[("other", ("a.png", b"x"))])
    assert no_parts.status_code == 422 and "'files'" in no_parts.json()["error"]
    empty_file = service.post("/v1/models/pneumonia-cxr/predict", files=[("files", ("a.png", b""))])
    assert empty_file.status_code == 200 and "empty" in empty_file.json()["results"][0]["error"]


def test_too_many_files_are_refused_with_the_batch_limit(service, monkeypatch):
    monkeypatch.setitem(LIMITS, "max_batch_files", 2)
    response = service.post("/v1/models/pneumonia-cxr/predict", files=[("files", ("a.png", b"x"))] * 3)
    assert response.status_code == 422 and "at most 2" in response.json()["error"]


def test_oversized_requests_are_413_before_the_body_is_read(service, monkeypatch):
    monkeypatch.setitem(LIMITS, "max_request_bytes", 1000)
    declared = service.post("/v1/models/symptom-text/predict", json={"texts": ["fever " * 400]})
    assert declared.status_code == 413 and "limit" in declared.json()["error"]

    def chunks():  # no Content-Length: the limit is counted while streaming
        for _ in range(100):
            yield b"x" * 500

    streamed = service.post(
        "/v1/models/symptom-text/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    monkeypatch.setitem(LIMITS, "max_request_bytes", 10_000)
    monkeypatch.setitem(LIMITS, "max_file_bytes", 100)
    one_file = service.post("/v1/models/pneumonia-cxr/predict", files=[("files", ("big.png", b"x" * 200))])
    assert one_file.status_code == 413 and "big.png" in one_file.json()["error"]


def test_a_declared_oversized_body_is_refused_without_reading_it(monkeypatch):
    import asyncio

    from starlette.requests import Request

    from medcore.api.app import ApiError, _read_body

    async def receive():
        raise AssertionError("the body was read")

    headers = [(b"content-length", str(LIMITS["max_request_bytes"] + 1).encode())]
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)
    with pytest.raises(ApiError) as refused:
        asyncio.run(_read_body(request))
    assert refused.value.status == 413


def test_uploads_are_parsed_in_memory_never_spooled_to_disk(service, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an upload was about to be written to a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(3 * 1024 * 1024)  # over Starlette's 1 MB spooling threshold
    response = service.post("/v1/models/pneumonia-cxr/predict", files=[("files", ("big.png", big))])
    assert response.status_code == 200 and response.json()["results"][0]["error"]


def test_unexpected_failures_are_a_json_500_without_the_message(monkeypatch, caplog):
    class Failing(Backend):
        def status(self):
            return {"symptom-text": "ready"}

        async def predict(self, name, payload):
            raise RuntimeError("patient Jane Doe, 12 Oak Lane")

    from fastapi.testclient import TestClient

    with TestClient(
        create_app(Failing(), TokenTable([])), client=LOOPBACK_CLIENT, raise_server_exceptions=False
    ) as client:
        response = client.post("/v1/models/symptom-text/predict", json={"texts": ["fever"]})
    assert response.status_code == 500 and "Jane" not in response.text and "Traceback" not in response.text
    assert response.json()["error"] and "Jane" not in caplog.text


def test_a_model_that_fails_its_integrity_check_is_503_and_the_others_still_answer(monkeypatch, tmp_path):
    for name in ("symptom-text", "symptom-checklist"):
        shutil.copytree(PROJECT / "models" / name, tmp_path / name)
    (tmp_path / "symptom-text" / "evaluation.json").write_text("{}")
    monkeypatch.setenv("MEDCORE_MODELS_DIR", str(tmp_path))
    from fastapi.testclient import TestClient

    with TestClient(create_app(tokens=TokenTable([])), client=LOOPBACK_CLIENT) as client:
        ready = wait_ready(client, 120)
        assert ready["models"] == ["symptom-checklist"] and "sha256" in ready["unavailable"]["symptom-text"]
        refused = client.post("/v1/models/symptom-text/predict", json={"texts": ["fever"]})
        assert refused.status_code == 503 and "symptom-text" in refused.json()["error"]
        fine = client.post("/v1/models/symptom-checklist/predict", json={"symptoms": [["itching"]]})
        assert fine.status_code == 200


# -- access, audit, metrics ------------------------------------------------------------------
def test_without_tokens_only_callers_on_this_machine_are_served():
    from fastapi.testclient import TestClient

    app = create_app(backend=_Ready(), tokens=TokenTable([]))
    with TestClient(app, client=("192.168.1.20", 40000)) as remote:
        response = remote.get("/v1/models")
        assert response.status_code == 403 and "tokens" in response.json()["error"]
        assert remote.get("/healthz").status_code == 200
    with TestClient(app, client=LOOPBACK_CLIENT) as local:
        assert local.get("/v1/models").status_code == 200


class _Ready(Backend):
    def status(self):
        return {card["name"]: "ready" for card in medcore.list_models()}


def test_bearer_tokens_are_required_checked_and_limited_to_their_models(guarded, token_values):
    missing = guarded.get("/v1/models")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = guarded.get("/v1/models", headers={"Authorization": "Bearer mc_guess"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]
    basic = guarded.get("/v1/models", headers={"Authorization": f"Basic {token_values['pacs']}"})
    assert basic.status_code == 401
    pacs = {"Authorization": f"Bearer {token_values['pacs']}"}
    assert len(guarded.get("/v1/models", headers=pacs).json()) == len(medcore.list_models())
    triage = {"Authorization": f"Bearer {token_values['triage']}"}
    assert {m["name"] for m in guarded.get("/v1/models", headers=triage).json()} == {
        "symptom-text",
        "symptom-checklist",
    }
    denied = guarded.post("/v1/models/drug-bbbp/predict", json={"smiles": ["CCO"]}, headers=triage)
    assert denied.status_code == 403 and "symptom-text" in denied.json()["error"]
    assert guarded.get("/v1/models/drug-bbbp", headers=triage).status_code == 403
    allowed = guarded.post("/v1/models/symptom-text/predict", json={"texts": ["fever and cough"]}, headers=triage)
    assert allowed.status_code == 200


def test_every_prediction_is_audited_with_the_token_name_and_no_content(guarded, token_values):
    before = len(_audit_lines())
    text = "Mrs Example has had a dry cough and fever for a week"
    headers = {"Authorization": f"Bearer {token_values['triage']}"}
    guarded.post("/v1/models/symptom-text/predict", json={"texts": [text]}, headers=headers)
    guarded.post("/v1/models/symptom-text/predict", json={"texts": 5}, headers=headers)  # refused: not audited
    lines = _audit_lines()[before:]
    assert len(lines) == 1
    (entry,) = lines
    assert entry["user"] == "api:triage" and entry["model"] == "symptom-text" and entry["page"] == "api predict"
    payload = predict_module.Payload(body={"texts": [text]})
    assert entry["input_sha256"] == predict_module.digest(payload) != audit.input_digest("")
    assert "Example" not in json.dumps(entry) and "cough" not in json.dumps(entry)
    assert entry["summary"]["texts"] == 1


def _metric(text: str, series: str) -> float:
    """The value of one series in Prometheus text (0 when absent)."""
    return next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series + " ")), 0.0)


def test_metrics_count_requests_latency_and_errors_per_model(guarded, token_values):
    labels = 'endpoint="/v1/models/{name}/predict",model="drug-esol"'
    ok, bad = f'medcore_requests_total{{{labels},status="200"}}', f'medcore_errors_total{{{labels},status="422"}}'
    count, fast = (
        f"medcore_request_seconds_count{{{labels}}}",
        'medcore_request_seconds_bucket{endpoint="/v1/models/{name}/predict",le="30.0",model="drug-esol"}',
    )
    headers = {"Authorization": f"Bearer {token_values['pacs']}"}
    before = guarded.get("/metrics", headers=headers).text
    guarded.post("/v1/models/drug-esol/predict", json={"smiles": ["CCO"]}, headers=headers)
    guarded.post("/v1/models/drug-esol/predict", json={"smiles": "CCO"}, headers=headers)
    after = guarded.get("/metrics", headers=headers).text
    assert _metric(after, ok) - _metric(before, ok) == 1 and _metric(after, bad) - _metric(before, bad) == 1
    assert _metric(after, count) - _metric(before, count) == 2 and _metric(after, fast) - _metric(before, fast) == 2
    assert _metric(after, f'medcore_errors_total{{{labels},status="200"}}') == 0, "a 200 is not an error"


def test_metrics_and_docs_need_a_token_when_tokens_are_configured(guarded, token_values):
    """Issue 28 item 18: with tokens configured, /metrics, /docs and /openapi.json answer token holders only."""
    headers = {"Authorization": f"Bearer {token_values['triage']}"}
    for path in ("/metrics", "/docs", "/openapi.json"):
        refused = guarded.get(path)
        assert refused.status_code == 401 and "Bearer" in refused.json()["error"], path
        assert guarded.get(path, headers=headers).status_code == 200, path
    assert guarded.get("/healthz").status_code == 200  # liveness stays open for the orchestrator


def test_the_openapi_docs_are_served_without_a_cdn(service):
    docs = service.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    assert service.get("/openapi.json").json()["paths"]["/v1/models/{name}/predict"]["post"]


def test_symptom_assessment_answers_as_the_python_api_and_refuses_bad_input(service):
    model = medcore.load_model("symptom-assessment")
    text = "Headache, stiff neck, light hurts my eyes, vomiting"
    (row,) = service.post("/v1/models/symptom-assessment/predict", json={"text": text}).json()["results"]
    assert row == predict_module.plain(model.assess(text))
    assert row["triage"]["level"] == "emergency"
    refused = service.post("/v1/models/symptom-assessment/predict", json={"text": "fever", "age": 150})
    assert refused.status_code == 422 and "impossible" in refused.json()["error"]


def test_care_plan_and_where_answer_as_the_python_api(service):
    care = medcore.load_model("care-recommender")
    body = {
        "plan": True,
        "history": ["condition:44054006", {"item": "procedure:73761001", "date": "2020-01-02"}],
        "age": 67,
        "sex": "M",
        "location": [40.8136, -96.7026],
        "lifestyle": {"smoking": "former", "pack_years": 30, "quit_years": 5},
        "k": 5,
    }
    answer = service.post("/v1/models/care-recommender/predict", json=body).json()
    local = care.plan(body["history"], age=67, sex="M", location=(40.8136, -96.7026), lifestyle=body["lifestyle"], k=5)
    assert answer == predict_module.plain(local)
    assert {gap["id"] for gap in answer["care_gaps"]} >= {"diabetes-hba1c", "lung-screening", "aaa-screening"}
    where = {"where": {"location": "68510", "need": "emergency", "k": 3}}
    places = service.post("/v1/models/care-recommender/predict", json=where).json()["results"]
    assert places == predict_module.plain(care.where("68510", "emergency", k=3))
    bad = service.post(
        "/v1/models/care-recommender/predict", json={"where": {"location": "99999", "need": "emergency"}}
    )
    assert bad.status_code == 422 and "Nearest known ZIP codes" in bad.json()["error"]
    bad = service.post("/v1/models/care-recommender/predict", json={**body, "lifestyle": {"bmi": 900}})
    assert bad.status_code == 422 and "lifestyle.bmi" in bad.json()["error"]
    bad = service.post("/v1/models/care-recommender/predict", json={**body, "colour": "blue"})
    assert bad.status_code == 422 and "colour" in bad.json()["error"]


def test_the_literature_service_masks_a_planted_name_phone_and_record_number(service):
    """Issue 29 item 2: the service path masks as the page does."""
    from tests.literature.test_truthful import LEAKS, PLANTED

    response = service.post("/v1/models/literature-extraction/predict", json={"texts": [PLANTED]})
    assert response.status_code == 200 and not any(leak in response.text for leak in LEAKS)
    (result,) = response.json()["results"]
    assert {f["kind"] for f in result["masked"]} >= {"name", "phone number", "record number"}
