"""Token features for the tagger: word and character ids, word shape and lexicon matches.

Tags are BIO over the two entity types (``TAGS``). ``Lexicon`` maps token sequences of the
training mentions to their type and MeSH ids; on the training abstracts its matches are
cross-fitted (each fold's lexicon leaves that fold out) so the network learns how far a match
can be trusted on text it has not seen. ``encode`` turns sentences into the arrays the network
reads; ``viterbi`` decodes per-token probabilities into well-formed spans.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TAGS",
    "MAX_CHARS",
    "MAX_TOKENS",
    "SHAPES",
    "Lexicon",
    "Vocab",
    "normal_word",
    "shape_of",
    "encode",
    "viterbi",
    "spans_of",
]

TAGS = ("O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease")
MAX_CHARS = 20  # characters read per token
MAX_TOKENS = 96  # a longer sentence is tagged in pieces of this many tokens
MAX_LEXICON_TOKENS = 8
SHAPES = 7  # lower, upper, title, mixed, digit, punctuation, one character


def normal_word(token: str) -> str:
    """The word the embedding reads: lower case, every digit 0."""
    return "".join("0" if c.isdigit() else c for c in token.lower())


def shape_of(token: str) -> np.ndarray:
    """A token's shape as SHAPES binary flags."""
    flags = np.zeros(SHAPES, dtype=np.float32)
    if token.isdigit():
        flags[4] = 1
    elif not token.isalpha():
        flags[5] = 1
    elif token.islower():
        flags[0] = 1
    elif token.isupper():
        flags[1] = 1
    elif token[0].isupper() and token[1:].islower():
        flags[2] = 1
    else:
        flags[3] = 1
    flags[6] = float(len(token) == 1)
    return flags


@dataclass
class Vocab:
    """Word and character ids (0 = padding, 1 = unknown)."""

    words: dict[str, int]
    chars: dict[str, int]

    @classmethod
    def build(cls, token_lists: list[list[str]], min_count: int = 2) -> Vocab:
        counts = Counter(normal_word(t) for tokens in token_lists for t in tokens)
        chars = Counter(c for tokens in token_lists for t in tokens for c in t)
        words = {w: i + 2 for i, w in enumerate(sorted(w for w, n in counts.items() if n >= min_count))}
        char_ids = {c: i + 2 for i, c in enumerate(sorted(c for c, n in chars.items() if n >= 2))}
        return cls(words, char_ids)

    def to_json(self) -> dict:
        return {"words": self.words, "chars": self.chars}


class Lexicon:
    """Token sequences seen as mentions: type counts and MeSH id counts, matched greedily (longest first)."""

    def __init__(self) -> None:
        self.types: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.ids: dict[tuple[str, ...], Counter] = defaultdict(Counter)

    def add(self, words: tuple[str, ...], kind: str, ident: str | None) -> None:
        if 0 < len(words) <= MAX_LEXICON_TOKENS:
            self.types[words][kind] += 1
            if ident:
                self.ids[words][ident] += 1

    def match(self, words: list[str]) -> list[tuple[int, int, str]]:
        """Non-overlapping (first token, end token, type) matches of the lower-cased ``words``."""
        out, i = [], 0
        while i < len(words):
            for n in range(min(MAX_LEXICON_TOKENS, len(words) - i), 0, -1):
                found = self.types.get(tuple(words[i : i + n]))
                if found:
                    out.append((i, i + n, found.most_common(1)[0][0]))
                    i += n
                    break
            else:
                i += 1
        return out

    def features(self, words: list[str]) -> np.ndarray:
        """(len(words), 4) flags: begins/inside a Chemical match, begins/inside a Disease match."""
        flags = np.zeros((len(words), 4), dtype=np.float32)
        for lo, hi, kind in self.match(words):
            col = 0 if kind == "Chemical" else 2
            flags[lo, col] = 1
            flags[lo + 1 : hi, col + 1] = 1
        return flags

    def to_json(self) -> list:
        return [[list(k), dict(v), dict(self.ids.get(k, {}))] for k, v in self.types.items()]

    @classmethod
    def from_json(cls, rows: list) -> Lexicon:
        lex = cls()
        for words, types, ids in rows:
            key = tuple(words)
            lex.types[key] = Counter(types)
            if ids:
                lex.ids[key] = Counter(ids)
        return lex


def encode(token_lists: list[list[str]], vocab: Vocab, lexicon_flags: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Network inputs for sentences (each at most MAX_TOKENS tokens), padded to the longest."""
    n = len(token_lists)
    width = max(1, max((len(t) for t in token_lists), default=1))
    words = np.zeros((n, width), dtype=np.int32)
    chars = np.zeros((n, width, MAX_CHARS), dtype=np.int32)
    shapes = np.zeros((n, width, SHAPES), dtype=np.float32)
    lex = np.zeros((n, width, 4), dtype=np.float32)
    for i, toks in enumerate(token_lists):
        for j, tok in enumerate(toks):
            words[i, j] = vocab.words.get(normal_word(tok), 1)
            chars[i, j, : min(len(tok), MAX_CHARS)] = [vocab.chars.get(c, 1) for c in tok[:MAX_CHARS]]
            shapes[i, j] = shape_of(tok)
        lex[i, : len(toks)] = lexicon_flags[i]
    return {"words": words, "chars": chars, "shapes": shapes, "lexicon": lex}


def _allowed() -> np.ndarray:
    """log-space transition mask: an I- tag only after B- or I- of its own type."""
    allowed = np.zeros((len(TAGS), len(TAGS)))
    for a, prev in enumerate(TAGS):
        for b, cur in enumerate(TAGS):
            if cur.startswith("I-") and prev[2:] != cur[2:]:
                allowed[a, b] = -np.inf
    return allowed


_ALLOWED = _allowed()


def viterbi(proba: np.ndarray) -> np.ndarray:
    """The most probable well-formed tag sequence for per-token probabilities (T, len(TAGS))."""
    logp = np.log(np.clip(proba, 1e-9, 1.0))
    t_len = len(proba)
    score = logp[0] + np.where([t.startswith("I-") for t in TAGS], -np.inf, 0.0)
    back = np.zeros((t_len, len(TAGS)), dtype=np.int32)
    for t in range(1, t_len):
        total = score[:, None] + _ALLOWED
        back[t] = total.argmax(axis=0)
        score = total.max(axis=0) + logp[t]
    path = np.zeros(t_len, dtype=np.int32)
    path[-1] = int(score.argmax())
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def spans_of(tags: np.ndarray, proba: np.ndarray) -> list[tuple[int, int, str, float]]:
    """(first token, end token, type, score) per decoded span; score = mean probability of its tags."""
    out, i = [], 0
    while i < len(tags):
        name = TAGS[tags[i]]
        if name.startswith("B-"):
            j = i + 1
            while j < len(tags) and TAGS[tags[j]] == "I-" + name[2:]:
                j += 1
            score = float(np.mean([proba[k, tags[k]] for k in range(i, j)]))
            out.append((i, j, name[2:], score))
            i = j
        else:
            i += 1
    return out
