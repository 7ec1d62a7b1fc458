"""Every limit of ``medcore.core.settings.LIMITS`` is enforced, with the same words, at each entry point."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest

import medcore
from medcore.core.evaluate import load_labelled_upload
from medcore.core.settings import LIMITS
from medcore.imaging.decode import as_image_list, decode_image
from tests.conftest import PROJECT


def test_streamlit_upload_limit_is_the_settings_limit():
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == LIMITS["max_file_bytes"]


def test_oversized_image_and_evaluation_uploads_are_refused_before_decoding():
    big = b"\x89PNG\r\n\x1a\n" + bytes(LIMITS["max_file_bytes"])
    with pytest.raises(medcore.InvalidInputError, match=r"'huge.png' is 50\.0 MB; the limit is 50 MB"):
        decode_image(big, "huge.png")
    model = medcore.load_model("symptom-checklist")
    with pytest.raises(medcore.InvalidInputError, match=r"'huge.csv' is 50\.0 MB; the limit is 50 MB"):
        load_labelled_upload(model, "huge.csv", big)


def test_too_many_files_in_one_batch():
    images = [np.zeros((16, 16), np.uint8)] * (LIMITS["max_batch_files"] + 1)
    with pytest.raises(medcore.InvalidInputError, match=f"{LIMITS['max_batch_files'] + 1} files were given"):
        as_image_list(images)


def test_text_over_the_limit_is_refused_and_under_it_is_truncated():
    model = medcore.load_model("symptom-text")
    with pytest.raises(medcore.InvalidInputError, match="at most 100,000 are accepted"):
        model.prepare("fever " * (LIMITS["max_text_chars"] // 6 + 1))
    cleaned, notes = model.prepare("fever " * 2000)
    assert len(cleaned) == model.max_chars and "truncated" in notes[0]


def test_symptom_lists_and_histories_over_the_limit():
    checklist = medcore.load_model("symptom-checklist")
    with pytest.raises(medcore.InvalidInputError, match="symptoms were given; at most 5,000"):
        checklist.differential(["itching"] * (LIMITS["max_list_items"] + 1))
    recommender = medcore.load_model("care-recommender")
    with pytest.raises(medcore.InvalidInputError, match="history items were given; at most 5,000"):
        recommender.recommend(["condition:44054006"] * (LIMITS["max_list_items"] + 1))
    with pytest.raises(medcore.InvalidInputError, match="k must be from 1 to 50"):
        recommender.recommend(["condition:44054006"], k=LIMITS["max_recommendations"] + 1)


def test_every_limit_is_documented_in_the_readme():
    readme = (PROJECT / "README.md").read_text()
    missing = [key for key in LIMITS if f"`{key}`" not in readme]
    assert not missing, f"document these limits in README.md's Safety section: {missing}"


def test_every_environment_setting_is_documented_in_the_readme():
    import re

    used = set()
    for folder in ("medcore", "tests", "benchmarks", "pages"):
        for path in (PROJECT / folder).rglob("*.py"):
            used |= set(re.findall(r"\bMEDCORE_[A-Z_]+\b", path.read_text()))
    readme = (PROJECT / "README.md").read_text()
    assert used and not [name for name in sorted(used) if f"`{name}`" not in readme]


# -- medcore's own limits act below every third-party guard ------------------------------------------
def test_an_image_declaring_more_pixels_than_the_limit_but_fewer_than_pillows_guard_is_refused():
    """9,000 x 9,000 = 81 M pixels: over max_image_pixels (67 M), under Pillow's own default guard (89 M)."""
    from tests.imaging.test_decode import _png_declaring

    assert 9_000 * 9_000 > LIMITS["max_image_pixels"]
    with pytest.raises(medcore.InvalidInputError, match=f"declares more than {LIMITS['max_image_pixels']:,} pixels"):
        decode_image(_png_declaring(9_000, 9_000), "large.png")


def test_a_dicom_declaring_more_pixels_than_the_limit_is_refused(ct_small):
    import io

    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(ct_small))
    dataset.Rows, dataset.Columns = 9_000, 9_000  # the pixel data stays small: only the header lies
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(medcore.InvalidInputError, match=f"{LIMITS['max_image_pixels']:,} pixels"):
        decode_image(buffer.getvalue(), "large.dcm")


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_image_zip_that_unpacks_past_the_limit_is_refused(monkeypatch):
    """A zip bomb: a few kB packed, more than max_unpacked_bytes unpacked (the limit is lowered to keep it small)."""
    from medcore.core import settings

    monkeypatch.setitem(settings.LIMITS, "max_unpacked_bytes", 1_000_000)
    bomb = _zip({f"malignant/{i}.png": bytes(400_000) for i in range(3)})  # 1.2 MB of zeros
    assert len(bomb) < 20_000
    model = medcore.load_model("breast-ultrasound")
    with pytest.raises(medcore.InvalidInputError, match="unpacks to 1 MB; the limit is 1 MB"):
        load_labelled_upload(model, "bomb.zip", bomb)


def test_a_synthea_zip_that_unpacks_past_the_limit_is_refused(monkeypatch):
    from medcore.core import settings
    from medcore.core.evaluate import evaluate_upload

    monkeypatch.setitem(settings.LIMITS, "max_unpacked_bytes", 1_000_000)
    bomb = _zip({"export/patients.csv": b"Id,BIRTHDATE,GENDER\n" + b" " * 1_200_000})
    assert len(bomb) < 20_000
    with pytest.raises(medcore.InvalidInputError, match="unpacks to 1 MB of tables; the limit is 1 MB"):
        evaluate_upload(medcore.load_model("care-recommender"), "bomb.zip", bomb)


# -- the shipped limits, as the README documents them (issue 29 item 4) ------------------------
def _documented() -> dict[str, int]:
    """The README Safety table's number for each limit: '50 MB' -> bytes (MB = 1,048,576), '67,108,864' -> int."""
    readme = (PROJECT / "README.md").read_text()
    rows = re.findall(r"\|\s*`((?:max|min)_\w+)`\s*\|\s*([\d,]+)( MB)?", readme)
    return {key: int(number.replace(",", "")) * (1024 * 1024 if mb else 1) for key, number, mb in rows}


def test_the_readme_states_each_shipped_limit():
    assert _documented() == LIMITS  # a changed setting is a changed contract: the README must follow


def test_one_more_file_than_documented_is_refused_with_both_numbers():
    limit = _documented()["max_batch_files"]
    with pytest.raises(medcore.InvalidInputError) as refused:
        as_image_list([np.zeros((16, 16), np.uint8)] * (limit + 1))
    assert str(refused.value).startswith(f"{limit + 1:,} files were given; at most {limit:,} are accepted at once.")


def test_one_more_molecule_than_documented_is_refused_with_both_numbers():
    limit = _documented()["max_batch_molecules"]
    with pytest.raises(medcore.InvalidInputError) as refused:
        medcore.load_model("drug-esol").analyse(["CCO"] * (limit + 1))
    assert str(refused.value).startswith(f"{limit + 1:,} molecules were given; at most {limit:,} are accepted")


def test_one_more_recommendation_than_documented_is_refused_with_the_exact_range():
    limit = _documented()["max_recommendations"]
    recommender = medcore.load_model("care-recommender")
    with pytest.raises(medcore.InvalidInputError) as refused:
        recommender.recommend(["condition:44054006"], k=limit + 1)
    assert str(refused.value).startswith(f"k must be from 1 to {limit}; got {limit + 1}.")
    assert len(recommender.recommend(["condition:44054006"], k=limit)["items"]) <= limit


def test_zips_one_byte_over_the_documented_unpacked_size_are_refused():
    """The shipped limit, not a lowered one: 200 MB + 1 of zeros packs to about 200 kB."""
    from medcore.core.evaluate import evaluate_upload

    limit = _documented()["max_unpacked_bytes"]
    words = f"the limit is {limit // (1024 * 1024)} MB"
    images = _zip({"malignant/big.png": bytes(limit + 1)})
    with pytest.raises(medcore.InvalidInputError, match=f"unpacks to 200 MB; {words}"):
        load_labelled_upload(medcore.load_model("breast-ultrasound"), "bomb.zip", images)
    tables = _zip({"export/patients.csv": b"Id,BIRTHDATE,GENDER\n" + b" " * limit})
    with pytest.raises(medcore.InvalidInputError, match=f"of tables; {words}"):
        evaluate_upload(medcore.load_model("care-recommender"), "bomb.zip", tables)


def test_a_request_one_byte_over_the_documented_size_is_413_with_the_number():
    import asyncio

    from starlette.requests import Request

    from medcore.api.app import ApiError, _read_body

    limit = _documented()["max_request_bytes"]

    async def receive():
        raise AssertionError("the body was read")

    headers = [(b"content-length", str(limit + 1).encode())]
    with pytest.raises(ApiError) as refused:
        asyncio.run(_read_body(Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)))
    assert refused.value.status == 413 and f"over the limit of {limit // (1024 * 1024)} MB" in str(refused.value)
