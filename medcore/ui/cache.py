"""Models and results for the pages: process-wide cached models, per-session memos, audited calls.

Pages call ``ui.get_model(name)`` (through the package, so tests can patch it). The model
object is shared by every session (``st.cache_resource``); medcore models hold no
per-request state, so that is safe. Memos keep results in this session's memory only.
"""

from __future__ import annotations

import os

import streamlit as st

import medcore
from medcore.core.registry import load_model
from medcore.core.settings import LIMITS, models_dir

__all__ = [
    "remote_kinds",
    "get_model",
    "evaluation",
    "choose_model",
    "model_cards",
    "session_memo",
    "memo_each",
    "audited",
    "audit",
]


# With MEDCORE_MODEL_SERVER set, models of these kinds run on the model service: their pages use
# only what its HTTP contract carries (the TensorFlow ones: the lesion U-Net, the text and literature
# networks; the image networks too). The other pages read more of their model (survival what-ifs,
# checklist symptom lists, molecule neighbours, the dosing genotype grid), so they still load it here.
REMOTE_KINDS = ("image", "modality", "segmentation", "text", "literature")


def remote_kinds() -> tuple[str, ...]:
    """The kinds of model this dashboard runs on the model service: ``REMOTE_KINDS`` when
    ``MEDCORE_MODEL_SERVER`` is set, else none."""
    return REMOTE_KINDS if os.environ.get("MEDCORE_MODEL_SERVER", "").strip() else ()


def get_model(name: str):
    """The verified model ``name`` from the configured models folder, or its client on the model service
    (``remote_kinds``); raises ``medcore.MedcoreError`` subclasses."""
    kind = next((c["kind"] for c in model_cards() if c["name"] == name), None)
    server = os.environ.get("MEDCORE_MODEL_SERVER", "").strip() if kind in remote_kinds() else ""
    return _model_in(str(models_dir()), name, server)


@st.cache_resource(show_spinner="Loading and verifying the model...")
def _model_in(folder: str, name: str, server: str):
    # Keyed by folder and server too, so a changed MEDCORE_MODELS_DIR never serves another folder's model.
    if server:
        return medcore.load_model(name)  # the client of $MEDCORE_MODEL_SERVER
    return load_model(name)


def choose_model(kind: str, label: str):
    """A select box over the bundles of one ``kind`` and the chosen, loaded model.

    Stops the page with a message when there is no such bundle or the chosen one cannot be loaded.
    """
    cards = {card["name"]: card for card in model_cards() if card["kind"] == kind}
    if not cards:
        st.info(f"No {kind} model bundles were found in the models folder.")
        st.stop()
    name = st.selectbox(label, list(cards), format_func=lambda n: f"{n}: {cards[n]['task']}")
    try:
        return get_model(name)
    except medcore.MedcoreError as err:
        st.error(str(err))
        st.stop()


def verified_card(name: str) -> dict:
    """The card of bundle ``name`` once every file matches its sha256 (checked at most once a minute),
    without loading the model: a page can refuse a damaged bundle before anything is uploaded.

    Raises:
        BundleIntegrityError, ModelNotFoundError: as ``load_model`` would.
    """
    return _verified_in(str(models_dir()), name)


@st.cache_data(ttl=60, show_spinner=False)
def _verified_in(folder: str, name: str) -> dict:
    from medcore.core.registry import bundle_path, verify_bundle

    return verify_bundle(bundle_path(name))


def evaluation(name: str) -> dict:
    """The bundle's ``evaluation.json`` (verified), read at most once a minute: verifying hashes every
    file of the bundle, too slow for every rerun."""
    return _evaluation_in(str(models_dir()), name)


@st.cache_data(ttl=60, show_spinner=False)
def _evaluation_in(folder: str, name: str) -> dict:
    return medcore.read_evaluation(name)


def model_cards() -> list[dict]:
    """Every bundle's card in the configured models folder (refreshed at most once a minute)."""
    return _cards_in(str(models_dir()))


@st.cache_data(ttl=60, show_spinner=False)
def _cards_in(folder: str) -> list[dict]:
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


def memo_each(slot: str, key: tuple, compute):
    """``compute()`` once per session for each ``key`` of ``slot`` (e.g. one per uploaded file).

    Unlike ``session_memo``, earlier keys are kept (up to ``LIMITS['max_batch_files']``, oldest
    dropped first), so adding a file to a batch analyses only the new one. In memory only.
    """
    memo = st.session_state.setdefault(f"_medcore_each_{slot}", {})
    if key not in memo:
        if len(memo) >= LIMITS["max_batch_files"]:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


def audited(slot: str, page: str, card: dict, input_sha256: str, compute, summarise):
    """``compute()`` once per session for this input, recorded once in the audit log.

    Args:
        slot: the page's memo slot (see ``session_memo``).
        page: the page name the audit record carries.
        card: the model's card.
        input_sha256: ``medcore.core.audit.input_digest`` of the input.
        compute: makes the result.
        summarise: result -> a short summary for the log (labels and numbers, no content).
    """

    def run():
        value = compute()
        audit(page, card, input_sha256, summarise(value))
        return value

    return session_memo(slot, (card["name"], input_sha256), run)


def audit(page: str, card: dict | None, input_sha256: str, summary: dict) -> None:
    """Record an action in the audit log under the signed-in user (or "local"); never content."""
    from medcore.core import audit as audit_log

    user = st.session_state.get("medcore_user", "local")
    try:
        if st.user.is_logged_in:
            user = str(st.user.get("email") or st.user.get("name") or "signed-in user")
    except (AttributeError, KeyError, RuntimeError):  # no identity provider configured
        pass
    audit_log.record(page, card, input_sha256, summary, user=user)
