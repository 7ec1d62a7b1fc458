"""Mentions -> MeSH ids: the training mentions' ids, abbreviations resolved within the text.

``abbreviations`` finds "long form (SF)" definitions (Schwartz & Hearst 2003). ``Normaliser``
looks a mention up by its tokens, then by a squashed spelling (no case, spaces or hyphens,
singular), then through the abbreviation's long form, then through an earlier mention of the
same spelling in the same text; otherwise the id is None (the page says "no MeSH id").
"""

from __future__ import annotations

import re
from collections import Counter

from medcore.literature.data import tokens
from medcore.literature.features import Lexicon

__all__ = ["abbreviations", "squash", "Normaliser"]

_PAREN = re.compile(r"\(([^()]{1,12})\)")


def _long_form(short: str, before: str) -> int | None:
    """Index in ``before`` where the long form of ``short`` starts, or None (Schwartz & Hearst)."""
    s, pos = len(short) - 1, len(before) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while pos >= 0 and (before[pos].lower() != c or (s == 0 and pos > 0 and before[pos - 1].isalnum())):
            pos -= 1
        if pos < 0:
            return None
        pos -= 1
        s -= 1
    start = before.rfind(" ", 0, pos + 1) + 1
    return start


def abbreviations(text: str) -> dict[str, tuple[int, int]]:
    """Short form -> (start, end) of its long form in ``text``, for each "long form (SF)" definition."""
    found: dict[str, tuple[int, int]] = {}
    for match in _PAREN.finditer(text):
        short = match.group(1).strip()
        if not (2 <= len(short) <= 10) or len(short.split()) > 2 or not short[0].isalnum():
            continue
        if not any(c.isalpha() for c in short) or short in found:
            continue
        end = match.start()
        while end > 0 and text[end - 1] == " ":
            end -= 1
        words = text[:end].split(" ")
        window = min(len(short) + 5, len(short) * 2)
        lo = max(0, end - len(" ".join(words[-window:])))
        start = _long_form(short, text[lo:end])
        if start is None:
            continue
        long_start = lo + start
        if end - long_start > len(short) and text[long_start:end].strip():
            found[short] = (long_start, end)
    return found


def squash(text: str) -> str:
    """A spelling key: lower case letters and digits only, a final plural 's' dropped."""
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    return key[:-1] if len(key) > 4 and key.endswith("s") and not key.endswith("ss") else key


class Normaliser:
    """MeSH ids of mention spellings learnt from the training mentions."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.by_tokens = {k: v.most_common(1)[0][0] for k, v in lexicon.ids.items() if v}
        spelled: dict[str, Counter] = {}
        for key, ids in lexicon.ids.items():
            spelled.setdefault(squash(" ".join(key)), Counter()).update(ids)
        self.by_spelling = {k: v.most_common(1)[0][0] for k, v in spelled.items() if k}

    def lookup(self, mention: str) -> str | None:
        """The id of a spelling seen in training (tokens, then squashed spelling), or None."""
        key = tuple(mention[a:b].lower() for a, b in tokens(mention))
        return self.by_tokens.get(key) or self.by_spelling.get(squash(mention))

    def ids_of(self, text: str, spans: list[tuple[int, int]]) -> list[str | None]:
        """The MeSH id of each mention span of ``text`` (in text order), or None where unknown."""
        short_forms = abbreviations(text)
        seen: dict[str, str] = {}
        out: list[str | None] = []
        for start, end in spans:
            mention = text[start:end]
            ident = self.lookup(mention)
            if ident is None and mention in short_forms:
                lo, hi = short_forms[mention]
                ident = self.lookup(text[lo:hi])
                if ident is None:  # the long form may carry extra words before the mention proper
                    ident = next((seen[squash(text[s:hi])] for s in range(lo, hi) if squash(text[s:hi]) in seen), None)
            if ident is None:
                ident = seen.get(squash(mention))
            if ident is not None:
                seen.setdefault(squash(mention), ident)
            out.append(ident)
        return out
