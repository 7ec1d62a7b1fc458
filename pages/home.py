"""Home: what the dashboard is for, the decision-support notice, and every shipped model."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import streamlit as st  # noqa: E402

from medcore import ui  # noqa: E402
from medcore.core.cards import NOTICE, models_table  # noqa: E402

ui.leave_pages_folder_mode()  # opened as /home on a fresh server: through app.py
ui.require_login()
st.title("medcore: clinical decision support")
st.warning(NOTICE)
st.markdown(
    "Upload a medical image, type a patient's symptoms or pick a patient's history and get "
    "a model's answer with **calibrated probabilities**, **an explanation** of what drove it, "
    "and **the evidence** of how good the model is. Everything runs on this machine: no "
    "patient data leaves it and nothing you upload is written to disk."
)
if ui.login_mode() == "none":
    st.caption(
        "Access: no login is configured, so this server listens on 127.0.0.1 only (this machine). "
        "To serve it to others, configure users in .streamlit/secrets.toml first (see medcore/core/access.py)."
    )
st.subheader("Models")
cards = ui.model_cards()
if not cards:
    st.info("No model bundles were found. Train one with `python -m medcore train MODEL --data PATH`.")
    st.stop()
st.table(models_table(cards).set_index("model"))
st.caption(
    "Figures are on held-out data each model never trained on (its validation split, or cross-validation where "
    "data are small), with their 95 % interval and n; the model card says which data chose the model. "
    "Open a page on the left to use a model."
)
