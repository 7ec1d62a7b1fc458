"""Settings: where models live and the limits every input is checked against.

One table (``LIMITS``) holds every limit, so pages, the CLI and the API refuse the same
things with the same words (``medcore.core.validate`` checks them). ``.streamlit/config.toml``'s
``server.maxUploadSize`` must equal ``max_file_bytes`` (a test checks it). ``MEDCORE_MODELS_DIR`` points medcore at another models folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "LIMITS", "models_dir", "audit_log_path"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # medcore/core/settings.py -> the project

LIMITS: dict[str, int] = {
    # One uploaded or read file, in bytes (Streamlit's server.maxUploadSize is 50 MB too).
    "max_file_bytes": 50 * 1024 * 1024,
    # Pixels one decoded image may declare (width x height x frames); larger is refused
    # before decoding, as a decompression-bomb guard.
    "max_image_pixels": 64 * 1024 * 1024,
    # Smallest side we accept at all; smaller images carry no usable detail.
    "min_image_side": 8,
    # Files handled in one batch (page upload or CLI call).
    "max_batch_files": 200,
    # What an uploaded evaluation zip may unpack to (zip-bomb guard).
    "max_unpacked_bytes": 200 * 1024 * 1024,
    # Characters of one free text; longer is refused (text models read only the first
    # ``max_chars`` of their card, 5,000, and say so).
    "max_text_chars": 100_000,
    # Characters of one symptom description (symptom assessment): the page, the API, the CLI and
    # the service refuse longer text with the same words (it is a description, not a record).
    "max_symptom_chars": 5_000,
    # Items in one list: a patient's symptoms, or the events of one history.
    "max_list_items": 5_000,
    # Services one recommendation may return.
    "max_recommendations": 50,
    # Molecules (SMILES) in one batch or file.
    "max_batch_molecules": 20_000,
    # One request to the model service (all its files or its JSON), checked before it is read.
    "max_request_bytes": 100 * 1024 * 1024,
}


def models_dir() -> Path:
    """The folder holding one sub-folder (bundle) per model.

    Returns:
        ``$MEDCORE_MODELS_DIR`` when set, else ``models/`` in the project.
    """
    configured = os.environ.get("MEDCORE_MODELS_DIR")
    return Path(configured).expanduser() if configured else PROJECT_ROOT / "models"


def audit_log_path() -> Path | None:
    """The audit log file (JSON lines, no patient content; see ``medcore.core.audit``).

    Returns:
        ``$MEDCORE_AUDIT_LOG`` when set (``off`` disables auditing: None), else
        ``audit/audit.jsonl`` in the project.
    """
    configured = os.environ.get("MEDCORE_AUDIT_LOG")
    if configured and configured.strip().lower() == "off":
        return None
    return Path(configured).expanduser() if configured else PROJECT_ROOT / "audit" / "audit.jsonl"


def map_tiles() -> str | None:
    """A raster tile server for the care plan's map, if one is configured (none by default: the map
    is then drawn without a basemap and needs no internet).

    Returns:
        ``$MEDCORE_MAP_TILES`` (a URL template with ``{z}``, ``{x}`` and ``{y}``), or None.

    Raises:
        ValueError: the variable is set but is not such a template.
    """
    template = os.environ.get("MEDCORE_MAP_TILES", "").strip()
    if not template:
        return None
    if not template.startswith(("http://", "https://")) or not all(part in template for part in ("{z}", "{x}", "{y}")):
        raise ValueError(
            f"MEDCORE_MAP_TILES must be an http(s) URL template with {{z}}, {{x}} and {{y}}; got {template!r}."
        )
    return template
