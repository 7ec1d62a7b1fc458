"""Sign-in for every page: password users from secrets, or Streamlit's own OIDC login.

``require_login`` is the first call of every page (and of the navigation), so it also starts
the background model warm-up once per process.
"""

from __future__ import annotations

import streamlit as st

from medcore.core.access import verify_password
from medcore.core.registry import warm_up
from medcore.ui.cache import remote_kinds

__all__ = ["login_mode", "require_login"]


def login_mode() -> str:
    """``"password"`` when users are configured in secrets, ``"oidc"`` for an identity provider, else ``"none"``."""
    try:
        if st.secrets.get("medcore_users"):
            return "password"
        if st.secrets.get("auth"):
            return "oidc"
    except FileNotFoundError:  # no secrets.toml at all
        pass
    return "none"


def require_login() -> None:
    """Stop the page until the user has signed in, when access control is configured.

    Every page calls this first, so it also starts the background model warm-up once per
    process (``medcore.core.registry.warm_up``). Password users come from ``[medcore_users]`` in
    ``.streamlit/secrets.toml`` (hashes from ``python -m medcore.core.access``); an ``[auth]``
    section uses Streamlit's own OIDC ``st.login``. Without either, nothing is asked.
    """
    warm_up(remote_kinds())
    mode = login_mode()
    if mode == "none" or st.session_state.get("medcore_user"):
        return
    if mode == "oidc":
        if st.user.is_logged_in:
            return
        st.info("Sign in to use medcore.")
        st.button("Sign in", on_click=st.login)
        st.stop()
    users = dict(st.secrets["medcore_users"])
    with st.form("login"):
        st.markdown("### Sign in to medcore")
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted and name in users and verify_password(password, str(users[name])):
        st.session_state["medcore_user"] = name
        st.rerun()
    if submitted:
        st.error("Unknown user name or wrong password.")
    st.stop()
