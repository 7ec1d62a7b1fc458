"""medcore's entry point (``streamlit run app.py``): sign-in, then the sectioned navigation over pages/.

The pages and their sections are listed once, in ``medcore.ui.navigation.PAGES``.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import streamlit as st  # noqa: E402

from medcore import ui  # noqa: E402

st.set_page_config(page_title="medcore", page_icon=ui.favicon(), layout="wide")  # drawn: no outside host
ui.require_login()
ui.navigation().run()
