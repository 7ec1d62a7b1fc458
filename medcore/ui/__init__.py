"""The only package that imports streamlit: what pages share (models, memos, audit, login, sections, navigation).

Pages import it as ``from medcore import ui`` and call ``ui.get_model(...)`` through the
package, so tests can patch one name. Everything here is UI glue; the work is done by the
capability packages and ``medcore.core``.
"""

from __future__ import annotations

import streamlit as st

from medcore.core.cards import NOTICE
from medcore.ui.cache import (
    audit,
    audited,
    choose_model,
    evaluation,
    get_model,
    memo_each,
    model_cards,
    session_memo,
    verified_card,
)
from medcore.ui.care import built_history, care_evidence, lifestyle_inputs, plan_tables, where_section
from medcore.ui.login import login_mode, require_login
from medcore.ui.navigation import PAGES, SECTIONS, favicon, leave_pages_folder_mode, navigation
from medcore.ui.runtime import keep_keras_state
from medcore.ui.sections import (
    assessment_figures,
    evaluation_charts,
    evaluation_result,
    gradcam_panel,
    lesion_section,
    model_card,
    threshold_explorer,
    validation_charts,
)
from medcore.ui.survival import what_if_section

__all__ = [
    "PAGES",
    "built_history",
    "care_evidence",
    "lifestyle_inputs",
    "plan_tables",
    "where_section",
    "SECTIONS",
    "assessment_figures",
    "audit",
    "audited",
    "choose_model",
    "evaluation",
    "evaluation_charts",
    "evaluation_result",
    "get_model",
    "gradcam_panel",
    "lesion_section",
    "login_mode",
    "memo_each",
    "model_card",
    "model_cards",
    "navigation",
    "leave_pages_folder_mode",
    "favicon",
    "page_header",
    "require_login",
    "session_memo",
    "threshold_explorer",
    "validation_charts",
    "what_if_section",
    "verified_card",
]


keep_keras_state()  # no Keras clear_session (a full garbage collection) after every script run


def page_header(title: str) -> None:
    """Every page's first lines: through app.py's navigation (a bookmark on a fresh server), sign-in
    (when configured), the title and the decision-support notice."""
    leave_pages_folder_mode()
    require_login()
    st.title(title)
    st.caption(NOTICE)
