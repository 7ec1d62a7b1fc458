"""Placeholders left by identifier masking are never read as mentions.

``placeholder_spans`` finds the tags a masker leaves ("[NAME]", "[DATE]", "[REDACTED]"), so the
model never reports one as a chemical or disease. (Numbers are kept by the masker itself:
``medcore.core.deid.mask_identifiers``.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["PLACEHOLDER", "placeholder_spans"]

# A masking tag: capitals (words joined by _ or a space) in square brackets, e.g. [NAME], [PHONE], [DATE].
PLACEHOLDER = re.compile(r"\[[A-Z]{2,}(?:[_ ][A-Z]{2,})*\]")


def placeholder_spans(text: str, known: Callable[[str], bool] = lambda word: False) -> list[tuple[int, int]]:
    """(start, end) of every masking tag in ``text``; ``known(word)`` keeps a bracketed name the model
    knows as a mention (e.g. "[ATP]", a concentration)."""
    return [m.span() for m in PLACEHOLDER.finditer(text) if not known(m.group()[1:-1])]
