"""Audit log: who did what and when, as JSON lines, with no patient content.

Each record holds the time, the user (or "local"), the page, the model's name and version,
the sha256 of the input (never the input itself) and a short prediction summary (labels and
probabilities). The file is set by ``MEDCORE_AUDIT_LOG`` (default ``audit/audit.jsonl`` in the
project; ``off`` disables it). Writes are serialised by a lock, so concurrent sessions append
whole lines.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import threading
from pathlib import Path

from medcore.core.settings import audit_log_path

__all__ = ["input_digest", "record"]

_LOCK = threading.Lock()


def input_digest(*parts: bytes | str) -> str:
    """sha256 of the input (bytes, or text encoded as UTF-8): identifies it without keeping it."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else bytes(part))
    return digest.hexdigest()


def record(page: str, model: dict | None, input_sha256: str, summary: dict, user: str = "local") -> Path | None:
    """Append one audit record; returns the log file, or None when auditing is off.

    Args:
        page: the page or command that acted.
        model: the model's card (name and version are kept), or None.
        input_sha256: ``input_digest`` of what was analysed.
        summary: the result in a few numbers/labels (no free text from the user).
        user: the signed-in user, or "local".
    """
    path = audit_log_path()
    if path is None:
        return None
    entry = {
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "user": user,
        "page": page,
        "model": model.get("name") if model else None,
        "model_version": model.get("version") if model else None,
        "input_sha256": input_sha256,
        "summary": summary,
    }
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
    return path
