"""Every limit of ``medcore.core.settings.LIMITS`` is enforced, with the same words, at each entry point."""

from __future__ import annotations

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
