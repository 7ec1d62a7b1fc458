"""The one evaluation path (CLI and page) on in-memory uploads, checked against scikit-learn."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

import medcore
from medcore.core.evaluate import evaluate, load_labelled_upload
from tests.conftest import png_bytes


@pytest.fixture(scope="module")
def breast():
    return medcore.load_model("breast-ultrasound")


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_of_class_folders_matches_sklearn(breast, rng):
    images = rng.integers(0, 256, (12, 40, 40), dtype=np.uint8)
    labels = np.array([0, 1] * 6)
    data = _zip(
        {f"data/{breast.labels[y]}/img{i}.png": png_bytes(img) for i, (img, y) in enumerate(zip(images, labels))}
    )
    inputs, names, y_true = load_labelled_upload(breast, "mine.zip", data)
    result = evaluate(breast, inputs, y_true, names)
    proba = breast.predict_proba(inputs)
    assert result["n"] == 12
    assert result["accuracy"] == pytest.approx(accuracy_score(y_true, proba.argmax(1)))
    assert result["auc"] == pytest.approx(roc_auc_score(y_true, proba[:, 1]))
    assert result["confusion_matrix"] == confusion_matrix(y_true, proba.argmax(1), labels=[0, 1]).tolist()
    assert len(result["predictions"]) == 12 and result["predictions"][0]["name"].endswith(".png")


def test_progress_reaches_one(breast, rng):
    seen = []
    images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    evaluate(breast, images, np.zeros(10, int), progress=seen.append, batch_size=4)
    assert seen[-1] == 1.0 and len(seen) == 3


@pytest.mark.parametrize(
    "name, data, match",
    [
        ("notes.txt", b"hello", "Expected .npz"),
        ("empty.npz", b"", "empty"),
        ("broken.npz", b"PK\x03\x04 not really", "not a readable .npz"),
        ("broken.zip", b"not a zip", "not a readable zip"),
        ("wrong.zip", None, "not one of this model's labels"),
    ],
)
def test_bad_uploads_say_what_is_wrong(breast, rng, name, data, match):
    if data is None:
        data = _zip({"cats/a.png": png_bytes(rng.integers(0, 256, (30, 30), dtype=np.uint8))})
    with pytest.raises(medcore.InvalidInputError, match=match):
        load_labelled_upload(breast, name, data)


def test_labels_the_model_does_not_know_are_refused(breast, rng):
    buffer = io.BytesIO()
    np.savez(
        buffer, test_images=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), test_labels=np.array([[0], [1], [7]])
    )
    inputs, names, y_true = load_labelled_upload(breast, "mine.npz", buffer.getvalue())
    with pytest.raises(medcore.InvalidInputError, match=r"Labels \[7\]"):
        evaluate(breast, inputs, y_true, names)


def test_checklist_csv_upload():
    model = medcore.load_model("symptom-checklist")
    header = ",".join(model.symptoms) + ",prognosis"
    row = ["1" if s in ("itching", "skin_rash", "nodal_skin_eruptions") else "0" for s in model.symptoms]
    data = (header + "\n" + ",".join(row) + ",Fungal infection\n").encode()
    inputs, names, y_true = load_labelled_upload(model, "mine.csv", data)
    result = evaluate(model, inputs, y_true, names)
    assert result["n"] == 1 and result["predictions"][0]["label"] == "Fungal infection"


@pytest.fixture(scope="module")
def symptom_text():
    return medcore.load_model("symptom-text")


def _csv(rows: list[tuple[str, str]], header: str = "label,text") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header.split(","), *rows])
    return buffer.getvalue().encode()


def test_text_csv_matches_sklearn(symptom_text):
    """A CSV of label + text, in any column order and label case, scored as scikit-learn scores it."""
    notes = {
        "psoriasis": "My skin has silvery scaly patches on my elbows and knees that itch and crack",
        "Malaria": "I have high fever with chills and shivering every other day, sweating and headache",
        "diabetes": "I am always thirsty, urinate very often, feel tired and my vision is blurry",
        "Common Cold": "runny nose, sneezing, a mild sore throat and a slight cough since yesterday",
    }
    rows = [(text, label) for label, text in notes.items()] * 2
    data = _csv(rows, header="Note,Diagnosis")
    texts, names, y_true = load_labelled_upload(symptom_text, "notes.csv", data)
    assert names[0] == "line 2" and texts[0] == rows[0][0]
    expected = [
        symptom_text.labels.index(next(x for x in symptom_text.labels if x.lower() == k.lower())) for k in notes
    ]
    assert y_true.tolist() == expected * 2
    result = evaluate(symptom_text, texts, y_true, names)
    proba = symptom_text.predict_proba(texts)
    present = sorted(set(y_true) | set(proba.argmax(1)))
    assert result["accuracy"] == pytest.approx(accuracy_score(y_true, proba.argmax(1)))
    assert result["macro_f1"] == pytest.approx(f1_score(y_true, proba.argmax(1), labels=present, average="macro"))
    assert all("text" not in key for key in result["predictions"][0])  # the per-sample table never echoes a note


def test_abstract_codes_map_to_the_label_order():
    model = medcore.load_model("abstract-topic")
    data = _csv(
        [("1", "Carcinoma of the breast treated with tamoxifen in a phase II trial of tumour response")],
        header="condition_label,medical_abstract",
    )
    _, _, y_true = load_labelled_upload(model, "abstracts.csv", data)
    assert model.labels[y_true[0]] == "neoplasms"


@pytest.mark.parametrize(
    "rows, header, match",
    [
        ([("itchy rash", "Psoriasis")], "words,label", "no text column"),
        ([("itchy rash", "Psoriasis")], "text,comment", "no label column"),
        (
            [("itchy rash", "Broken heart"), ("fever", "Flu")],
            "text,label",
            r"2 label\(s\) the model does not know: 'Broken heart'",
        ),
        ([("", "Psoriasis")], "text,label", "line\\(s\\) 2 have no text"),
        ([("зуд и сыпь на коже", "Psoriasis")], "text,label", "1 text\\(s\\) cannot be read.*line 2"),
    ],
)
def test_bad_text_csvs_say_what_is_wrong(symptom_text, rows, header, match):
    with pytest.raises(medcore.InvalidInputError, match=match):
        load_labelled_upload(symptom_text, "notes.csv", _csv(rows, header))


def test_evaluation_page_runs_on_an_uploaded_npz(rng):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import PROJECT

    app = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("breast-ultrasound").run()
    assert not app.exception and len(app.get("plotly_chart")) >= 4
    buffer = io.BytesIO()
    np.savez(
        buffer, test_images=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), test_labels=rng.integers(0, 2, (20, 1))
    )
    app.file_uploader[0].set_value(("mine.npz", buffer.getvalue(), "application/octet-stream")).run()
    assert not app.exception
    table = app.table[0].value
    card = medcore.read_card("breast-ultrasound")
    assert table.loc["your data", "n"] == 20
    assert table.loc["shipped (held-out data of its card)", "n"] == card["metrics"]["validation"]["n"]
    assert {"sensitivity", "specificity"} <= set(table.columns)  # at the shipped threshold
    assert any(button.label.startswith("Download per-sample") for button in app.get("download_button"))


def test_evaluation_page_runs_on_an_uploaded_text_csv_and_explains_a_bad_one():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import PROJECT

    app = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("symptom-text").run()
    rows = [
        ("I have itchy silvery scaly patches on my elbows", "Psoriasis"),
        ("constant thirst and urination", "diabetes"),
    ]
    app.file_uploader[0].set_value(("notes.csv", _csv(rows, "text,label"), "text/csv")).run()
    assert not app.exception and not app.error
    assert app.table[0].value.loc["your data", "n"] == 2
    app.file_uploader[0].set_value(("notes.csv", _csv(rows, "text,outcome"), "text/csv")).run()
    assert not app.exception and "no label column" in app.error[0].value
