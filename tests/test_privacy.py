"""Nothing a user uploads or types is written to disk; the served config keeps its protections."""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT, png_bytes

NOTE = "Jane Doe (MRN 884213) has silvery scaly itchy patches on her elbows and knees"


def _files(root: Path) -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d for d in dirs if d not in (".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "screenshots")
        ]
        found.update(os.path.join(folder, name) for name in files)
    return found


def test_page_flows_write_nothing_to_disk(rng, ct_small, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", "off")  # the audit log is the one file allowed (tested below)
    # A temp folder of this process's own, so other programs writing to /tmp cannot confuse the check.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    for variable in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(variable, str(private_tmp))
    roots = [PROJECT, private_tmp, Path.home()]
    before = {root: _files(root) for root in roots}
    image_page = AppTest.from_file(str(PROJECT / "pages/Image_Diagnosis.py"), default_timeout=60).run()
    image_page.file_uploader[0].set_value(
        [
            ("private.png", png_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8)), "image/png"),
            ("private.dcm", ct_small, "application/dicom"),
        ]
    ).run()
    assert not image_page.exception
    record_page = AppTest.from_file(str(PROJECT / "pages/Record_Classification.py"), default_timeout=60).run()
    _analyse(record_page, NOTE)
    assert not record_page.exception and record_page.get("plotly_chart")
    assessment_page = _assessed(NOTE)
    assert not assessment_page.exception and assessment_page.get("plotly_chart")
    evaluation_page = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    evaluation_page.selectbox[0].set_value("symptom-text").run()
    evaluation_page.file_uploader[0].set_value(
        ("ward.csv", f"text,label\n{NOTE},Psoriasis\n".encode(), "text/csv")
    ).run()
    assert not evaluation_page.exception and evaluation_page.table
    for root in roots:
        new = _files(root) - before[root]
        assert not new, f"new files appeared under {root}: {sorted(new)[:5]}"


def _analyse(page, note: str) -> None:
    """Type a note in the free-text tab and press Analyse (one run, as a form submits)."""
    page.text_area[0].input(note)
    next(button for button in page.button if button.label == "Analyse").click()
    page.run()


def _assessed(note: str) -> AppTest:
    """The Symptom assessment page with ``note`` typed and Assess pressed."""
    page = AppTest.from_file(str(PROJECT / "pages/Symptom_Assessment.py"), default_timeout=60).run()
    page.text_area[0].input(note)
    next(button for button in page.button if button.label == "Assess").click()
    return page.run()


def test_served_config_keeps_xsrf_cors_and_loopback():
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks in the browser
    assert config["browser"]["gatherUsageStats"] is False


@pytest.mark.data
def test_audit_log_records_hashes_and_results_but_no_content(tmp_path, monkeypatch, genuine):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    image = png_bytes(genuine["pneumonia-cxr"][5])
    app = AppTest.from_file(str(PROJECT / "pages/Image_Diagnosis.py"), default_timeout=60).run()
    app.file_uploader[0].set_value(("jane_doe_mrn_12345.png", image, "image/png")).run()
    app.slider[0].set_value(0.8).run()  # a rerun must not audit the same file again
    import hashlib
    import json

    lines = log.read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["page"] == "image diagnosis" and entry["user"] == "local"
    assert entry["model"] and entry["model_version"]
    assert entry["input_sha256"] == hashlib.sha256(image).hexdigest()
    text = log.read_text()
    assert "jane_doe" not in text and "12345" not in text  # not even the file name


def test_every_page_audits_each_input_once_without_content(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    record_page = AppTest.from_file(str(PROJECT / "pages/Record_Classification.py"), default_timeout=60).run()
    _analyse(record_page, NOTE)
    record_page.run()  # reruns the text: no second record
    assessment_page = _assessed(NOTE)
    assessment_page.run()  # the same case again: no second record
    service_page = AppTest.from_file(str(PROJECT / "pages/Service_Recommendation.py"), default_timeout=60).run()
    service_page.slider[0].set_value(5).run()  # same patient, same input
    evaluation_page = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    evaluation_page.selectbox[0].set_value("symptom-text").run()
    evaluation_page.file_uploader[0].set_value(
        ("ward.csv", f"text,label\n{NOTE},Psoriasis\n".encode(), "text/csv")
    ).run()
    for page in (record_page, assessment_page, service_page, evaluation_page):
        assert not page.exception
    import json

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["page"] for e in entries] == [
        "record classification: free text",
        "symptom assessment",
        "service recommendation",
        "service recommendation: where to go",
        "model evaluation",
    ]
    assert all(len(e["input_sha256"]) == 64 and e["model_version"] and e["summary"] for e in entries)
    assert entries[0]["summary"]["top3"] and entries[4]["summary"]["n"] == 1
    text = log.read_text().lower()
    assert not any(word in text for word in ("jane", "884213", "silvery", "elbows", "ward.csv"))


def test_audit_can_be_switched_off(monkeypatch):
    from medcore.core import audit

    monkeypatch.setenv("MEDCORE_AUDIT_LOG", "off")
    assert audit.record("cli", None, "0" * 64, {}) is None


def test_survival_page_writes_nothing_and_audits_without_content(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    before = _files(PROJECT)
    page = AppTest.from_file(str(PROJECT / "pages/Survival_Risk.py"), default_timeout=60).run()
    page.number_input(key="survival-gbsg-age").set_value(61.25)
    next(b for b in page.button if b.label == "Predict").click().run()
    page.toggle[0].set_value(True).run()  # the what-if reruns the page: no second record
    batch = "age,positive_nodes,hormone_therapy,tumor_size_cat,postmenopausal,progesterone_receptor,estrogen_receptor\n"
    batch += "47.5,3,1,1,0,12,87\n63,8,0,2,1,0,4\n"
    page.file_uploader[0].set_value(("ward_patients.csv", batch.encode(), "text/csv")).run()
    assert not page.exception and page.dataframe
    assert _files(PROJECT) - before == set()
    import json

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["page"] for e in entries] == ["survival and risk", "survival and risk (batch)"]
    assert entries[1]["summary"] == {"rows": 2, "out_of_domain": 0, "unreadable": 0}
    text = log.read_text()
    assert not any(value in text for value in ("61.25", "47.5", "ward_patients"))


def test_drug_activity_page_writes_nothing_and_audits_without_content(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    before = _files(PROJECT)
    page = AppTest.from_file(str(PROJECT / "pages/Drug_Activity.py"), default_timeout=60).run()
    page.text_input[0].set_value("CCOC(=O)c1ccccc1N").run()
    page.file_uploader[0].set_value(("secret_compounds.csv", b"smiles\nCCCCO\nC1CC(\n", "text/csv")).run()
    assert not page.exception and page.dataframe
    assert _files(PROJECT) - before == set()
    import json

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["page"] for e in entries] == ["drug activity", "drug activity (batch)"]
    assert entries[1]["summary"] == {"rows": 2, "errors": 1}
    text = log.read_text()
    assert not any(value in text for value in ("CCOC(=O)", "CCCCO", "secret_compounds"))


def test_literature_page_writes_nothing_and_audits_without_content(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    before = _files(PROJECT)
    page = AppTest.from_file(str(PROJECT / "pages/Literature_Extraction.py"), default_timeout=60).run()
    page.text_area[0].input("Mr John Keating developed neutropenia after clozapine; call 020 7946 0958.")
    next(b for b in page.button if b.label == "Extract").click()
    page.run()
    csv = b"pmid,text\n77,Gentamicin-induced ototoxicity in a secret_ward patient.\n"
    page.file_uploader[0].set_value(("secret_ward.csv", csv, "text/csv")).run()
    assert not page.exception
    assert _files(PROJECT) - before == set()
    import json

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["page"] for e in entries] == ["literature extraction", "literature extraction (batch)"]
    assert entries[1]["summary"] == {"texts": 1, "refused": 0}
    text = log.read_text()
    assert not any(value in text for value in ("Keating", "clozapine", "Gentamicin", "secret_ward", "7946"))


def test_dosing_page_writes_nothing_and_audits_without_content(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    before = _files(PROJECT)
    page = AppTest.from_file(str(PROJECT / "pages/Warfarin_Dosing.py"), default_timeout=60).run()
    next(n for n in page.number_input if n.label.startswith("Weight")).set_value(83.7)
    next(b for b in page.button if b.label == "Recommend a dose").click()
    page.run()
    batch = b"Age,Weight (kg),CYP2C9 consensus\n50 - 59,61.3,*1/*3\n"
    page.file_uploader[0].set_value(("ward_secret.csv", batch, "text/csv")).run()
    assert not page.exception
    assert _files(PROJECT) - before == set()
    import json

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["page"] for e in entries] == ["warfarin dosing", "warfarin dosing (batch)"]
    assert entries[1]["summary"] == {"rows": 1, "out_of_domain": 0}
    text = log.read_text()
    assert not any(value in text for value in ("83.7", "61.3", "ward_secret", "*1/*3"))
