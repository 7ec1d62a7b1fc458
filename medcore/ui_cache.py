"""The only module that imports streamlit: process-wide cached model loading for the pages.

Pages call ``ui_cache.get_model(name)`` (through the module, so tests can patch it). The
model object is shared by every session (``st.cache_resource``); medcore models hold no
per-request state, so that is safe.
"""

from __future__ import annotations

import streamlit as st

import medcore

__all__ = ["get_model", "model_cards", "session_memo", "audit"]


@st.cache_resource(show_spinner="Loading and verifying the model...")
def get_model(name: str):
    """The verified model ``name`` (raises ``medcore.MedcoreError`` subclasses)."""
    return medcore.load_model(name)


@st.cache_data(ttl=60, show_spinner=False)
def model_cards() -> list[dict]:
    """Every bundle's card (refreshed at most once a minute)."""
    return medcore.list_models()


def session_memo(slot: str, key: tuple, compute):
    """``compute()`` once per session and ``slot`` for the same ``key`` (in memory, this session only).

    Pages use it so that moving a slider does not re-run a prediction; uploaded content is
    never written anywhere by this.
    """
    memo = st.session_state.setdefault(f"_medcore_memo_{slot}", {})
    if memo.get("key") != key:
        memo["key"], memo["value"] = key, compute()
    return memo["value"]


def audit(page: str, card: dict | None, input_sha256: str, summary: dict) -> None:
    """Record an action in the audit log under the signed-in user (or "local"); never content."""
    from medcore import audit as audit_log

    user = "local"
    try:
        if st.user.is_logged_in:
            user = str(st.user.get("email") or st.user.get("name") or "signed-in user")
    except (AttributeError, KeyError, RuntimeError):  # no identity provider configured
        pass
    audit_log.record(page, card, input_sha256, summary, user=user)
