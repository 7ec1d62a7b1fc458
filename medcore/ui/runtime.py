"""Streamlit's per-run housekeeping, tuned for a server that keeps its models loaded.

After every script run (every click, every fragment rerun) Streamlit calls
``keras.backend.clear_session()`` when Keras is imported. In Keras 3 that resets Keras's global
state and runs a full garbage collection: 200-260 ms holding the interpreter, with the models
loaded, on every interaction of every session (a third of the server's time under load). medcore
loads its models once per process and never builds one in a page, so there is no Keras state to
clear: ``keep_keras_state`` makes that step skip Keras (matplotlib figures are still closed, as
Streamlit does).
"""

from __future__ import annotations

import sys

__all__ = ["keep_keras_state"]


def _clean_problem_modules_but_keras() -> None:
    """Streamlit's post-run clean-up without ``keras.backend.clear_session``."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001, S110 - as Streamlit: a failed close never stops the app
            pass


def keep_keras_state() -> bool:
    """Replace Streamlit's post-run clean-up (``script_runner._clean_problem_modules``) in this process.

    Returns:
        True when the clean-up is (now) the one without Keras; False when this Streamlit has no
        such step (then nothing is changed).
    """
    from streamlit.runtime.scriptrunner import script_runner

    if not hasattr(script_runner, "_clean_problem_modules"):
        return False
    script_runner._clean_problem_modules = _clean_problem_modules_but_keras
    return True
