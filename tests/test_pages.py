"""Page tests with Streamlit's AppTest (no browser): the home page and image diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT, png_bytes

TIMEOUT = 60  # the first run imports TensorFlow, far beyond AppTest's 3 s default


def _page(path: str) -> AppTest:
    return AppTest.from_file(str(PROJECT / path), default_timeout=TIMEOUT).run()


def test_home_page_lists_every_model_with_the_notice():
    app = _page("app.py")
    assert not app.exception
    assert any("not a diagnosis" in warning.value for warning in app.warning)
    table = app.dataframe[0].value
    assert {"pneumonia-cxr", "breast-ultrasound", "retina-dr"} <= set(table["model"])
    assert table["headline metric"].str.contains("AUC").all()


def test_image_page_asks_for_an_upload_first():
    app = _page("pages/1_Image_Diagnosis.py")
    assert not app.exception
    assert any("Upload an image" in info.value for info in app.info)


def test_image_page_shows_probabilities_heatmap_and_per_file_errors(rng, ct_small):
    app = _page("pages/1_Image_Diagnosis.py")
    app.selectbox[0].set_value(next(o for o in app.selectbox[0].options if "Chest X-ray" in o)).run()
    xray = png_bytes(rng.integers(0, 256, (120, 100), dtype=np.uint8))
    app.file_uploader[0].set_value(
        [
            ("xray.png", xray, "image/png"),
            ("ct.dcm", ct_small, "application/dicom"),
            ("notes.png", b"this is a text file renamed to png", "image/png"),
            ("empty.png", b"", "image/png"),
        ]
    ).run()
    assert not app.exception
    errors = [error.value for error in app.error]
    assert any("notes.png" in e and "text file" in e for e in errors)
    assert any("empty.png" in e and "empty" in e for e in errors)
    table = app.dataframe[0].value
    assert list(table["file"]) == ["xray.png", "ct.dcm", "notes.png", "empty.png"]
    assert list(table["status"]) == ["ok", "ok", "error", "error"]
    assert len(app.get("plotly_chart")) == 2  # probability bars and the Grad-CAM overlay
    assert any("Result:" in md.value for md in app.markdown)
    assert any("modality CT" in w.value for w in app.warning) is False  # xray.png is shown first
    app.selectbox[1].set_value(1).run()  # details of the DICOM
    assert not app.exception
    assert any("modality CT" in w.value for w in app.warning)


@pytest.mark.parametrize("opacity", [0.0, 1.0])
def test_opacity_slider_reruns_without_error(rng, opacity):
    app = _page("pages/1_Image_Diagnosis.py")
    app.file_uploader[0].set_value(
        ("one.png", png_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8)), "image/png")
    ).run()
    app.slider[0].set_value(opacity).run()
    assert not app.exception and len(app.get("plotly_chart")) == 2
