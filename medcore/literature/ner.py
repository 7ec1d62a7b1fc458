"""Mentions from text: sentences -> token pieces -> tagger probabilities -> well-formed spans.

``units`` splits a text into the pieces the tagger reads (a sentence, or a MAX_TOKENS slice of a
long one) with exact character offsets; ``gold_tags`` gives the training tags of a document's
pieces; ``tag_documents`` runs a trained tagger over many texts in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from medcore.literature.data import Mention, sentences, tokens
from medcore.literature.features import MAX_TOKENS, TAGS, Lexicon, Vocab, encode, spans_of, viterbi
from medcore.literature.network import predict_batches

__all__ = ["Unit", "units", "gold_tags", "lexicon_flags", "tag_documents"]


@dataclass
class Unit:
    """A piece of text the tagger reads: token character spans and the token strings."""

    doc: int
    spans: list[tuple[int, int]]
    words: list[str]


def units(text: str, title_end: int = 0, doc: int = 0) -> list[Unit]:
    """The tagger's pieces of ``text``: one per sentence, long sentences cut every MAX_TOKENS tokens."""
    out = []
    for s, e in sentences(text, title_end):
        spans = tokens(text, s, e)
        for lo in range(0, len(spans), MAX_TOKENS):
            piece = spans[lo : lo + MAX_TOKENS]
            out.append(Unit(doc, piece, [text[a:b] for a, b in piece]))
    return out


def gold_tags(pieces: list[Unit], mentions: list[Mention]) -> list[np.ndarray]:
    """BIO tag ids of each piece's tokens from a document's annotated mentions."""
    out = []
    for unit in pieces:
        tags = np.zeros(len(unit.spans), dtype=np.int32)
        for m in mentions:
            inside = [j for j, (a, b) in enumerate(unit.spans) if a >= m.start and b <= m.end]
            if inside:
                tags[inside[0]] = TAGS.index("B-" + m.type)
                tags[inside[1:]] = TAGS.index("I-" + m.type)
        out.append(tags)
    return out


def lexicon_flags(pieces: list[Unit], lexicon: Lexicon) -> list[np.ndarray]:
    """The lexicon's match flags for each piece."""
    return [lexicon.features([w.lower() for w in u.words]) for u in pieces]


def tag_documents(
    network,
    vocab: Vocab,
    lexicon: Lexicon,
    texts: list[str],
    title_ends: list[int] | None = None,
    progress: Callable[[float], None] | None = None,
    batch_docs: int = 64,
) -> list[list[tuple[int, int, str, float]]]:
    """(start, end, type, score) of every mention found in each text, in text order."""
    title_ends = title_ends or [0] * len(texts)
    found: list[list[tuple[int, int, str, float]]] = [[] for _ in texts]
    for lo in range(0, len(texts), batch_docs):
        pieces = [u for i in range(lo, min(lo + batch_docs, len(texts))) for u in units(texts[i], title_ends[i], i)]
        pieces = [u for u in pieces if u.spans]
        if pieces:
            inputs = encode([u.words for u in pieces], vocab, lexicon_flags(pieces, lexicon))
            for unit, proba in zip(pieces, predict_batches(network, inputs)):
                for a, b, kind, score in spans_of(viterbi(proba), proba):
                    found[unit.doc].append((unit.spans[a][0], unit.spans[b - 1][1], kind, score))
        if progress:
            progress(min(1.0, (lo + batch_docs) / max(1, len(texts))))
    return found


def propagate(
    text: str, found: list[tuple[int, int, str, float]], short_forms: dict[str, tuple[int, int]]
) -> list[tuple[int, int, str, float]]:
    """Mentions made consistent within one text.

    A spelling tagged somewhere is tagged wherever else it stands as whole tokens (with its mean
    score), and an abbreviation defined as "long form (SF)" takes the type of a mention ending its
    long form. Spans already tagged are kept.
    """
    import re

    taken = np.zeros(len(text) + 1, dtype=bool)
    for a, b, _, _ in found:
        taken[a:b] = True
    typed: dict[str, list[tuple[str, float]]] = {}
    for a, b, kind, score in found:
        typed.setdefault(text[a:b], []).append((kind, score))
    for short, (lo, hi) in short_forms.items():
        ending = [f for f in found if lo <= f[0] and f[1] == hi]
        if ending and short not in typed:
            typed[short] = [(ending[0][2], ending[0][3])]
    extra = []
    for spelling, kinds in typed.items():
        if len(spelling) < 2:
            continue
        names = [k for k, _ in kinds]
        kind = max(set(names), key=names.count)
        score = float(np.mean([s for k, s in kinds if k == kind]))
        for match in re.finditer(re.escape(spelling), text):
            a, b = match.span()
            if taken[a:b].any():
                continue
            if (a > 0 and text[a - 1].isalnum()) or (b < len(text) and text[b].isalnum()):
                continue
            taken[a:b] = True
            extra.append((a, b, kind, score))
    return sorted(found + extra)
