"""``python -m medcore``: listing, prediction, evaluation and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from medcore.cli import main
from tests.conftest import PROJECT, png_bytes


def test_models_lists_each_shipped_model(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("pneumonia-cxr", "breast-ultrasound", "retina-dr"):
        assert name in out
    assert "AUC 0." in out


def test_predict_json_for_png_and_bad_file(tmp_path, rng, capsys):
    good = tmp_path / "xray.png"
    good.write_bytes(png_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8)))
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    code = main(["predict", "pneumonia-cxr", str(good), str(bad), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 1  # one file failed
    assert rows[0]["out_of_domain"] is True  # noise is no chest X-ray: no answer
    assert rows[0]["decision"] is None and rows[0]["probabilities"] == {}
    assert rows[0]["warnings"][0].startswith("Not analysed")
    assert "text file" in rows[1]["error"]


@pytest.mark.data
def test_predict_a_genuine_xray_gives_a_decision(tmp_path, genuine, capsys):
    image = tmp_path / "xray.png"
    image.write_bytes(png_bytes(genuine["pneumonia-cxr"][0]))
    assert main(["predict", "pneumonia-cxr", str(image), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["out_of_domain"] is False and row["decision"] in ("normal", "pneumonia")
    assert sum(row["probabilities"].values()) == pytest.approx(1.0)
    assert main(["predict", "image-modality", str(image)]) == 0
    assert "chest X-ray" in capsys.readouterr().out


def test_evaluate_json_on_an_npz_matches_sklearn(tmp_path, rng, capsys):
    from sklearn.metrics import accuracy_score, roc_auc_score

    import medcore

    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 2, (50, 1)).astype(np.uint8)
    path = tmp_path / "mine.npz"
    np.savez(path, test_images=images, test_labels=labels)
    assert main(["evaluate", "breast-ultrasound", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    proba = medcore.load_model("breast-ultrasound").predict_proba(images)
    assert result["n"] == 50
    assert result["auc"] == pytest.approx(roc_auc_score(labels.ravel(), proba[:, 1]))
    assert result["accuracy"] == pytest.approx(accuracy_score(labels.ravel(), proba.argmax(1)))
    point = result["operating_point"]  # at the card's threshold, on P(malignant)
    malignant = labels.ravel() == 0
    assert point["positive_label"] == "malignant"
    assert point["sensitivity"] == pytest.approx(np.mean(proba[malignant, 0] >= point["threshold"]))


def test_evaluate_text_csv_prints_metrics_and_names_bad_lines(tmp_path, capsys):
    path = tmp_path / "notes.csv"
    path.write_text(
        "label,text\nPsoriasis,silvery scaly itchy patches on my elbows and knees\nMalaria,fever chills sweating\n"
    )
    assert main(["evaluate", "symptom-text", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 2 and sum(map(sum, result["confusion_matrix"])) == 2
    path.write_text("label,text\nPsoriasis,silvery scaly patches\nGout,sore toe\n")
    assert main(["evaluate", "symptom-text", str(path)]) == 2
    assert "'Gout' (line 3)" in capsys.readouterr().err


def test_evaluate_reports_a_missing_split(tmp_path, capsys):
    path = tmp_path / "mine.npz"
    np.savez(path, val_images=np.zeros((2, 28, 28), np.uint8), val_labels=np.zeros((2, 1), np.uint8))
    assert main(["evaluate", "breast-ultrasound", str(path)]) == 2
    assert "no 'test' split" in capsys.readouterr().err


def test_unknown_model_exits_2_with_a_message_and_no_traceback():
    completed = subprocess.run(
        [sys.executable, "-m", "medcore", "predict", "no-such-model", "x.png"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "No model named 'no-such-model'" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_predict_checklist_and_recommender_json(capsys):
    assert main(["predict", "symptom-checklist", "itching,skin_rash", "nodal_skin_eruptions", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["differential"][0]["disease"] == "Fungal infection"
    assert result["next_questions"] == []  # three telling symptoms: no answer would change the ranking
    assert main(["predict", "symptom-checklist", "itching,skin_rash"]) == 0
    out = capsys.readouterr().out
    assert out.count("ask about:") == 1 and out.count("then about:") == 2 and "Fungal infection" in out
    assert "bits" not in out and "gain" not in out  # no information theory in a clinician's words (issue 28 item 17)
    assert main(["predict", "symptom-checklist", "itching,skin_rash,nodal_skin_eruptions"]) == 0
    assert "no further question would change the ranking" in capsys.readouterr().out
    assert main(["predict", "care-recommender", "condition:195967001", "medication:not-a-code", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["unknown"] == ["medication:not-a-code"] and len(result["items"]) == 10


def test_predict_unknown_symptom_suggests_the_right_name(capsys):
    assert main(["predict", "symptom-checklist", "itchy"]) == 2
    assert "did you mean 'itching'" in capsys.readouterr().err


def test_predict_is_audited_under_the_os_user_without_content(tmp_path, monkeypatch, capsys):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MEDCORE_AUDIT_LOG", str(log))
    assert main(["predict", "symptom-text", "Jane Doe has itchy silvery patches on her elbows"]) == 0
    entry = json.loads(log.read_text())
    assert entry["page"] == "cli predict" and entry["user"].startswith("cli:") and entry["model"] == "symptom-text"
    assert "Jane" not in log.read_text() and "elbows" not in log.read_text()


def test_the_week_of_warfarin_tablets_uses_the_strengths_given(tmp_path, capsys):
    """Issue 28 items 3 and 5: the CLI plans from the stocked strengths as the page and the API do."""
    path = tmp_path / "patients.csv"
    path.write_text("Age,Height (cm),Weight (kg),Race (Reported)\n60 - 69,170,80,White\n")
    assert main(["predict", "warfarin-dose", str(path), "--json", "--strengths", "2.5"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["schedule"]["strengths"] == [2.5] and all(
        t == 2.5 for d in row["schedule"]["doses"] for t in d["tablets"]
    )
    assert main(["predict", "warfarin-dose", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert set(row["schedule"]["strengths"]) <= {1.0, 3.0, 5.0}
    assert main(["predict", "warfarin-dose", str(path), "--strengths", "big"]) == 2
    assert "Tablet strength 'big'" in capsys.readouterr().err
