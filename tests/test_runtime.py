"""Streamlit's per-run housekeeping that would cost every click a full garbage collection is off."""

from __future__ import annotations

import tomllib

import keras
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT


def test_the_server_config_turns_off_the_garbage_collection_after_every_run():
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False


def test_a_page_run_does_not_clear_the_keras_session(monkeypatch):
    import medcore

    medcore.load_model("symptom-text")  # Keras imported and a model loaded, as on a running server
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: calls.append(1))
    app = AppTest.from_file(str(PROJECT / "pages" / "Record_Classification.py"), default_timeout=60)
    app.run()
    app.text_area[0].set_value("An itchy rash on my arms for a week").run()
    assert not app.exception
    assert calls == [], "Streamlit's clean-up called keras.backend.clear_session (a full gc.collect) after a run"
