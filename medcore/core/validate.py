"""The size checks every input kind goes through, against the one ``LIMITS`` table.

Format checks live with each capability (``medcore.imaging.decode``, ``medcore.text.model``,
``medcore.checklist.model``, ``medcore.care.model``, their ``evaluate`` modules); the limits
they share are checked here, so a file, a batch, a text or a list is refused with the same
words wherever it comes in.
"""

from __future__ import annotations

from collections.abc import Sized

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS

__all__ = ["megabytes", "check_file_bytes", "check_count", "check_text_length"]

_MB = 1024 * 1024  # Streamlit's server.maxUploadSize counts megabytes of this size


def check_file_bytes(name: str, data: bytes, hint: str) -> None:
    """Refuse an empty file or one over ``LIMITS['max_file_bytes']``; ``hint`` says what to do instead."""
    if not data:
        raise InvalidInputError(f"'{name}' is empty (0 bytes). {hint}")
    if len(data) > LIMITS["max_file_bytes"]:
        raise InvalidInputError(
            f"'{name}' is {len(data) / _MB:.1f} MB; the limit is {LIMITS['max_file_bytes'] / _MB:.0f} MB. {hint}"
        )


def megabytes(size: float) -> str:
    """A byte count in the MB the limits and the README use (1 MB = 1,048,576 bytes, as Streamlit counts)."""
    return f"{size / _MB:.0f} MB"


def check_count(items: Sized, limit: str, what: str) -> None:
    """Refuse more than ``LIMITS[limit]`` items; ``what`` names them ("files", "history items")."""
    if len(items) > LIMITS[limit]:
        raise InvalidInputError(
            f"{len(items):,} {what} were given; at most {LIMITS[limit]:,} are accepted at once. "
            "Split them into smaller parts."
        )


def check_text_length(text: str) -> None:
    """Refuse text over ``LIMITS['max_text_chars']`` characters (models read far less)."""
    if len(text) > LIMITS["max_text_chars"]:
        raise InvalidInputError(
            f"The text has {len(text):,} characters; at most {LIMITS['max_text_chars']:,} are accepted. "
            "Paste the relevant part of the note."
        )
