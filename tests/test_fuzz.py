"""Property-based tests: random and mutated input never escapes as anything but InvalidInputError.

Every public entry point that takes user input either returns a valid result or raises
``medcore.InvalidInputError`` with a message; inputs are bounded so nothing can hang. The
number of cases run is reported at the end of the test output (conftest.py).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medcore
from medcore.core.errors import InvalidInputError
from medcore.imaging.decode import decode_image
from tests.conftest import jpeg_bytes, png_bytes

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SEED_PNG = png_bytes(np.random.default_rng(1).integers(0, 256, (32, 32), dtype=np.uint8))
_SEED_JPEG = jpeg_bytes(np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8))
COUNTS: dict[str, int] = {}


def _count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


def _ok_or_invalid(function, *args):
    try:
        return function(*args)
    except InvalidInputError as err:
        assert str(err).strip(), "an InvalidInputError needs a message"
        return None


@SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes_decode_or_refuse(data):
    _count("random bytes")
    _ok_or_invalid(decode_image, data, "random.bin")


@SETTINGS
@given(
    st.sampled_from([_SEED_PNG, _SEED_JPEG, None]), st.integers(0, 10_000), st.integers(0, 255), st.integers(1, 4096)
)
def test_mutated_images_decode_or_refuse(seed, position, value, cut):
    _count("flipped/truncated PNG, JPEG, DICOM")
    if seed is None:
        from pydicom.data import get_testdata_file

        with open(get_testdata_file("CT_small.dcm"), "rb") as handle:
            seed = handle.read()
    data = bytearray(seed[: max(cut, 8) + len(seed) // 2])
    data[position % len(data)] = value
    result = _ok_or_invalid(decode_image, bytes(data), "mutated")
    if result is not None:
        assert result.pixels.dtype == np.uint8 and result.pixels.ndim in (2, 3)


@SETTINGS
@given(st.integers(1, 70_000), st.integers(1, 70_000))
def test_declared_giant_dimensions_are_refused_or_decoded_small(width, height):
    _count("giant declared dimensions")
    from medcore.core.settings import LIMITS
    from tests.imaging.test_decode import _png_declaring

    data = _png_declaring(width, height)  # 64 bytes of pixel data: never enough for the size declared
    with pytest.raises(InvalidInputError) as refused:
        decode_image(data, "declared.png")
    message = str(refused.value)
    if width * height > LIMITS["max_image_pixels"]:  # refused for its size, before any decoding
        assert f"declares more than {LIMITS['max_image_pixels']:,} pixels" in message
    elif min(width, height) < LIMITS["min_image_side"]:
        assert "at least" in message or "truncated or corrupt" in message
    else:
        assert "truncated or corrupt" in message


@SETTINGS
@given(
    st.sampled_from(["uint8", "uint16", "int32", "float32", "float64", "bool", "complex64"]),
    st.lists(st.integers(0, 40), min_size=1, max_size=5),
    st.sampled_from([0.0, np.nan, np.inf, -1.0, 300.0, 0.5]),
)
def test_odd_arrays_predict_or_refuse(dtype, shape, fill):
    _count("odd arrays")
    model = medcore.load_model("breast-ultrasound")
    array = np.full(shape, fill).astype(dtype) if dtype != "bool" else np.zeros(shape, bool)
    proba = _ok_or_invalid(model.predict_proba, array)
    if proba is not None:
        assert np.allclose(proba.sum(axis=1), 1.0)


@SETTINGS
@given(st.lists(st.text(max_size=30), max_size=6))
def test_checklist_symptoms_predict_or_refuse(symptoms):
    _count("checklist symptom lists")
    model = medcore.load_model("symptom-checklist")
    proba = _ok_or_invalid(model.predict_proba, [symptoms])
    if proba is not None:
        assert np.isclose(proba.sum(), 1.0)


@SETTINGS
@given(st.lists(st.text(max_size=40), max_size=8), st.integers(-5, 80), st.one_of(st.none(), st.floats(allow_nan=True)))
def test_recommender_histories_recommend_or_refuse(history, k, age):
    _count("recommender histories")
    model = medcore.load_model("care-recommender")
    result = _ok_or_invalid(model.recommend, history, k, age, None)
    if result is not None:
        assert not set(item["item"] for item in result["items"]) & set(history)


@SETTINGS
@given(st.binary(max_size=2048), st.sampled_from(["a.npz", "b.zip", "c.csv", "d.txt", "synthea.zip"]))
def test_evaluation_uploads_load_or_refuse(data, name):
    _count("evaluation uploads")
    from medcore.core.evaluate import evaluate_upload

    kind = {"c.csv": "symptom-checklist", "synthea.zip": "care-recommender"}
    _ok_or_invalid(evaluate_upload, medcore.load_model(kind.get(name, "breast-ultrasound")), name, data)


@SETTINGS
@given(st.text(max_size=500))
def test_identifier_masking_never_fails(text):
    _count("text masking")
    from medcore.core.deid import mask_identifiers

    masked, findings = mask_identifiers(text)
    assert isinstance(masked, str) and all(f["count"] > 0 for f in findings)


_WORDS = st.sampled_from(["fever", "cough", "rash", "itchy", "pain", "chest", "the", "and", "tumour", "ℵ", "🙂"])


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=400),  # any unicode: other scripts, control and zero-width characters, surrogates
        st.lists(_WORDS, max_size=60).map(" ".join),  # mostly words the models know
    ),
    st.sampled_from(["symptom-text", "abstract-topic"]),
)
def test_text_models_predict_and_explain_or_refuse(text, name):
    _count("text model inputs")
    model = medcore.load_model(name)
    proba = _ok_or_invalid(model.predict_proba, [text])
    if proba is not None:
        assert proba.shape == (1, len(model.labels)) and np.isclose(proba.sum(), 1.0)
        assert all(np.isfinite(weight) for _, weight in model.explain(text))


@SETTINGS
@given(st.text(max_size=300), st.sampled_from(["label,text", "text,condition_label", "note;label", ""]))
def test_text_evaluation_csvs_load_or_refuse(body, header):
    _count("text evaluation CSVs")
    from medcore.core.evaluate import load_labelled_upload

    _ok_or_invalid(load_labelled_upload, medcore.load_model("symptom-text"), "notes.csv", f"{header}\n{body}".encode())


def test_npz_with_object_arrays_is_refused_without_unpickling():
    buffer = io.BytesIO()
    np.savez(buffer, test_images=np.array([object()], dtype=object), test_labels=np.array([0]))
    from medcore.core.evaluate import load_labelled_upload

    with pytest.raises(InvalidInputError, match="cannot read safely|not a readable"):
        load_labelled_upload(medcore.load_model("breast-ultrasound"), "pickled.npz", buffer.getvalue())


# -- properties of successful results, at every public entry point ----------------------------------
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(
    st.sampled_from(["pneumonia-cxr", "breast-ultrasound", "retina-dr"]),
    st.lists(
        st.tuples(st.sampled_from([_SEED_PNG, _SEED_JPEG, b""]), st.integers(0, 3000), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_analyse_gives_one_coherent_result_per_file(name, mutations):
    """Each file ends in exactly one state: an error, no answer (out of domain), or calibrated probabilities and a decision."""
    _count("analyse batches")
    model = medcore.load_model(name)
    files = []
    for index, (seed, position, value) in enumerate(mutations):
        data = bytearray(seed)
        if data:
            data[position % len(data)] = value
        files.append((f"f{index}.png", bytes(data)))
    results = model.analyse(files)
    assert [r.name for r in results] == [name_ for name_, _ in files]
    for result in results:
        if result.error:
            assert result.error.strip() and result.decision is None and not result.probabilities
        elif result.out_of_domain:
            assert result.decision is None and result.predicted is None and result.probabilities == {}
            assert result.warnings[0].startswith("Not analysed")
        else:
            assert list(result.probabilities) == model.labels
            assert np.isclose(sum(result.probabilities.values()), 1.0) and result.decision in model.labels


@FEW
@given(st.integers(8, 300), st.integers(8, 300), st.booleans())
def test_explain_returns_a_heatmap_the_size_of_the_input(height, width, colour):
    _count("explain shapes")
    model = medcore.load_model("retina-dr" if colour else "pneumonia-cxr")
    image = np.random.default_rng(height * 1000 + width).integers(
        0, 256, (height, width, 3) if colour else (height, width), dtype=np.uint8
    )
    heatmap = model.explain(image)
    assert heatmap.shape == (height, width) and heatmap.min() >= 0.0 and heatmap.max() <= 1.0


@FEW
@given(st.binary(max_size=600), st.sampled_from(["pneumonia-cxr", "image-modality"]), st.booleans())
def test_cli_predict_on_any_file_answers_without_a_traceback(tmp_path_factory, data, name, as_json):
    import contextlib
    import json as json_module

    from medcore.cli import main

    _count("CLI predict")
    path = tmp_path_factory.mktemp("cli") / "upload.png"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["predict", name, str(path)] + (["--json"] if as_json else []))
    assert code in (0, 1, 2) and "Traceback" not in out.getvalue() + err.getvalue()
    if as_json and code != 2:
        row = json_module.loads(out.getvalue())
        assert row["input"] == "upload.png"


_SYMPTOMS = st.sampled_from(
    ["itching", "skin_rash", "vomiting", "nausea", "headache", "cough", "high_fever", "chills", "fatigue"]
)


@FEW
@given(
    st.lists(_SYMPTOMS, min_size=1, max_size=4, unique=True),
    st.lists(_SYMPTOMS, max_size=3, unique=True),
    st.integers(1, 8),
)
def test_next_questions_are_new_informative_and_ranked(ticked, absent, k):
    from medcore.checklist.model import MIN_GAIN

    _count("next questions")
    model = medcore.load_model("symptom-checklist")
    absent = [s for s in absent if s not in ticked]
    questions = model.next_questions(ticked, k=k, absent=absent)
    gains = [q["information_gain"] for q in questions]
    assert len(questions) <= k and gains == sorted(gains, reverse=True) and all(g >= MIN_GAIN for g in gains)
    assert not {q["symptom"] for q in questions} & (set(ticked) | set(absent))
    assert all(0.0 < q["p_yes"] < 1.0 for q in questions)


@FEW
@given(
    st.text(max_size=30),
    st.integers(1, 40),
    st.one_of(st.none(), st.sampled_from([["procedure"], ["medication", "careplan"]])),
)
def test_search_items_finds_only_items_with_every_word(query, limit, kinds):
    _count("recommender search")
    model = medcore.load_model("care-recommender")
    found = model.search_items(query, limit, kinds)
    assert len(found) <= limit
    for entry in found:
        text = f"{entry['description']} {entry['item']}".lower()
        assert all(word in text for word in query.lower().split())
        assert kinds is None or entry["kind"] in kinds


@FEW
@given(
    st.lists(
        st.sampled_from(
            ["condition:44054006", "condition:59621000", "medication:860975", "condition:195967001", "immunization:140"]
        ),
        max_size=4,
    ),
    st.integers(1, 15),
)
def test_recommender_explanations_name_only_history_drivers(history, k):
    _count("recommender explanations")
    model = medcore.load_model("care-recommender")
    explained = model.explain(history, k=k, age=50, sex="F")
    assert len(explained) <= k and [e["score"] for e in explained] == sorted(
        (e["score"] for e in explained), reverse=True
    )
    excluded = {entry["item"] for entry in model.card["excluded"]["items"]}
    for entry in explained:
        assert entry["item"] not in history and entry["item"] not in excluded and entry["reason"]
        assert all(driver["item"] in history for driver in entry["drivers"])


_SURVIVAL_COLUMNS = [
    "hormone_therapy",
    "tumor_size_cat",
    "postmenopausal",
    "age",
    "positive_nodes",
    "progesterone_receptor",
    "estrogen_receptor",
]


@SETTINGS
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                name: st.one_of(
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-(10**6), 10**6),
                    st.text(max_size=5),
                    st.none(),
                )
                for name in _SURVIVAL_COLUMNS
            },
        ),
        max_size=5,
    )
)
def test_survival_rows_analyse_or_refuse(rows):
    _count("survival rows")
    model = medcore.load_model("survival-gbsg")
    results = _ok_or_invalid(model.analyse, rows)
    if results is not None:
        assert len(results) == len(rows)
        for result in results:
            assert result["out_of_domain"] == (result["decision"] is None)
            if not result["out_of_domain"]:
                assert 0 <= result["survival@5y"] <= result["survival@1y"] <= 1


@SETTINGS
@given(st.binary(max_size=1024), st.text(max_size=300))
def test_survival_csv_uploads_analyse_or_refuse(data, text):
    _count("survival CSV uploads")
    model = medcore.load_model("survival-gbsg")
    header = ",".join(_SURVIVAL_COLUMNS) + "\n"
    for body in (data, (header + text).encode()):
        _ok_or_invalid(model.analyse, body)


_SMILES_PARTS = st.sampled_from(
    ["C", "c", "1", "(", ")", "=", "#", "O", "N", "[Na+]", ".", "Cl", "[Pt]", "@", "/", "\\", "ℵ", " "]
)


@SETTINGS
@given(st.lists(st.one_of(st.lists(_SMILES_PARTS, max_size=30).map("".join), st.text(max_size=20)), max_size=4))
def test_smiles_analyse_or_refuse_one_by_one(smiles):
    _count("SMILES batches")
    model = medcore.load_model("drug-esol")
    results = _ok_or_invalid(model.analyse, smiles)
    assert results is not None and len(results) == len(smiles)  # a bad SMILES never sinks the batch
    for result in results:
        if result["error"]:
            assert result["predictions"] == {}
        elif not result["out_of_domain"]:
            low, high = result["interval"]["log_solubility_mol_per_L"]
            assert low <= result["predictions"]["log_solubility_mol_per_L"] <= high


_WORDS = st.sampled_from(
    [
        "cisplatin",
        "-induced",
        "nephrotoxicity",
        "Haloperidol",
        "(HAL)",
        "HAL",
        "parkinsonism",
        ".",
        " ",
        "\n",
        "after",
        "the",
        "Der",
        "Patient",
        "ℵ",
        "<b>",
        "&amp;",
        "12",
        "mg",
        "(",
        ")",
        "|",
        "\t",
        "é",
    ]
)


@SETTINGS
@given(st.one_of(st.lists(_WORDS, max_size=60).map(" ".join), st.text(max_size=400)))
def test_literature_extraction_indexes_any_text_exactly(text):
    _count("literature texts")
    model = medcore.load_model("literature-extraction")
    result = model.extract(text)
    assert result["out_of_domain"] == (result["reason"] is not None)
    if result["out_of_domain"]:
        assert result["entities"] == [] and result["relations"] == []
    for e in result["entities"]:
        assert text[e["start"] : e["end"]] == e["text"] and e["type"] in ("Chemical", "Disease")
    ends = [0]
    for e in sorted(result["entities"], key=lambda e: e["start"]):
        assert e["start"] >= ends[-1]  # mentions never overlap
        ends.append(e["end"])
    chemicals = {e["id"] for e in result["entities"] if e["type"] == "Chemical"}
    for r in result["relations"]:
        assert any(r["chemical"] in (i or "").split("|") for i in chemicals)
        assert r["score"] >= model.threshold


@SETTINGS
@given(st.binary(max_size=600), st.text(max_size=300))
def test_pubtator_uploads_parse_or_refuse(data, text):
    _count("PubTator uploads")
    from medcore.literature.data import parse_pubtator, read_texts

    for body in (data, ("1|t|A title.\n1|a|" + text + "\n").encode("utf-8", "replace")):
        _ok_or_invalid(read_texts, "upload.txt", body)
    _ok_or_invalid(parse_pubtator, text)


_IWPC_VALUES = {
    "Age": st.one_of(st.sampled_from(["10 - 19", "50 - 59", "90+", "300", ""]), st.none()),
    "Height (cm)": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.just("tall")),
    "Weight (kg)": st.one_of(st.floats(-10, 400), st.none()),
    "Race (OMB)": st.sampled_from(["White", "Asian", "Black or African American", "Unknown", "Martian", None]),
    "CYP2C9 consensus": st.sampled_from(["*1/*1", "*1/*3", "*3/*3", "*1/*11", "*9/*9", None]),
    "VKORC1 -1639 consensus": st.sampled_from(["G/G", "A/G", "A/A", "T/T", None]),
    "Amiodarone (Cordarone)": st.sampled_from([0, 1, 2, None]),
}


@SETTINGS
@given(st.lists(st.fixed_dictionaries({}, optional=_IWPC_VALUES), min_size=1, max_size=4))
def test_warfarin_patients_get_a_dose_or_a_reason(rows):
    _count("warfarin patients")
    model = medcore.load_model("warfarin-dose")
    results = _ok_or_invalid(model.analyse, rows)
    if results is not None:
        assert len(results) == len(rows)
        for result in results:
            assert result["out_of_domain"] == (result["dose"] is None)
            if result["dose"] is not None:
                low, high = result["interval"]
                assert 0 <= low <= result["dose"] <= high
