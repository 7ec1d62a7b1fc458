"""The literature model: chemicals and diseases in text, their MeSH ids, and which chemical induced which disease.

``extract(text)`` runs, in order: the length limit (longer text is cut, with a notice) -> the
language check (text that is not English biomedical prose gets no answer) -> the tagger
(``tagger.keras``, BiLSTM over words, characters, shape and lexicon flags) -> consistency
within the text (``ner.propagate``) -> MeSH ids (``normalise.Normaliser``) -> relation scores
for every chemical-disease pair (``relations.RelationScorer``, boosted trees as node arrays) ->
the pairs at or above the card's threshold, each with its evidence sentences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from medcore.core.deid import mask_identifiers, masking_notice
from medcore.core.errors import InvalidInputError
from medcore.literature.data import MAX_DOCUMENTS, sentences
from medcore.literature.features import Lexicon, Vocab
from medcore.literature.masking import placeholder_spans
from medcore.literature.ner import propagate, tag_documents
from medcore.literature.normalise import Normaliser, abbreviations
from medcore.literature.relations import Candidate, Priors, RelationScorer, candidates, reasons

__all__ = ["LiteratureModel", "load_literature_model", "english_share", "result_rows", "frequent_pairs"]

_WORD = re.compile(r"[A-Za-z]{2,}")
_MIN_WORDS = 8  # shorter texts are not judged on their language


def english_share(text: str, known: set[str]) -> tuple[float, int]:
    """(share of the words of ``text`` that the training abstracts use, number of words)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return 0.0, 0
    return sum(w in known for w in words) / len(words), len(words)


class LiteratureModel:
    """A loaded literature bundle (stateless after loading; one object serves every session)."""

    kind = "literature"
    labels = ("Chemical", "Disease")

    def __init__(self, name: str, card: dict, network, resources: dict, trees: dict[str, np.ndarray]):
        self.name = name
        self.card = card
        self.tasks = ["Chemical", "Disease", "CID"]
        self._network = network
        self._vocab = Vocab(resources["vocab"]["words"], resources["vocab"]["chars"])
        self._lexicon = Lexicon.from_json(resources["lexicon"])
        self._normaliser = Normaliser(self._lexicon)
        self._priors = Priors.from_json(resources["priors"])
        self._known = set(resources["known_words"])
        self.training_pmids = set(resources.get("training_pmids", []))
        rel = card["relations"]
        self._scorer = RelationScorer(trees, float(rel["base"]), float(rel["rate"]))
        self.threshold = float(card["operating_point"]["threshold"])
        self.max_chars = int(card["input"]["max_chars"])
        self._min_share = float(card["domain_check"]["threshold"])
        self._propagate = bool(card["architecture"].get("propagate", True))

    # ----- checks --------------------------------------------------------------------------------
    @staticmethod
    def _masked(text, title_end: int) -> tuple[str, int, list[dict]]:
        """``text`` with identifiers masked (title and abstract apart, so the title keeps its end), the
        title's new end and what was masked. Numbers, doses and intervals stay as written."""
        if not isinstance(text, str):
            raise InvalidInputError(f"Expected text (a string), got {type(text).__name__}. Pass the abstract as text.")
        title, title_found = mask_identifiers(text[:title_end]) if title_end else ("", [])
        body, body_found = mask_identifiers(text[title_end:])
        found: dict[tuple[str, str], int] = {}
        for finding in title_found + body_found:
            key = (finding["kind"], finding["tag"])
            found[key] = found.get(key, 0) + finding["count"]
        return title + body, len(title), [{"kind": k, "tag": t, "count": n} for (k, t), n in found.items()]

    def _prepared(self, text) -> tuple[str, list[str]]:
        if not isinstance(text, str):
            raise InvalidInputError(f"Expected text (a string), got {type(text).__name__}. Pass the abstract as text.")
        notices = []
        if len(text) > self.max_chars:
            notices.append(
                f"The text has {len(text):,} characters; only the first {self.max_chars:,} or so were read. "
                "Paste one abstract at a time, or upload a file of abstracts."
            )
            cut = text.rfind(" ", 0, self.max_chars + 1)  # at a space, so no word is read half
            text = text[: cut if cut > self.max_chars // 2 else self.max_chars]
        return text, notices

    def domain_reason(self, text: str) -> str | None:
        """Why ``text`` is outside what the model knows (not English biomedical prose), or None."""
        if not text.strip():
            return "The text is empty. Paste an abstract or clinical text."
        share, words = english_share(text, self._known)
        if words >= _MIN_WORDS and share < self._min_share:
            return (
                f"Only {share:.0%} of its words are words the training abstracts use (English PubMed abstracts "
                f"read at least {self._min_share:.0%}): this does not look like English biomedical text, so no "
                "mentions or relations are given. Paste the English text."
            )
        return None

    # ----- extraction ----------------------------------------------------------------------------
    def extract(self, text: str) -> dict:
        """Chemicals, diseases and chemical-induced-disease relations in ``text``.

        Returns:
            ``{"entities": [{"start", "end", "text", "type", "id", "score"}], "relations": [{"chemical",
            "disease", "chemical_text", "disease_text", "score", "evidence": [[start, end], ...], "why": [...]}],
            "out_of_domain", "reason", "notices", "chars_read"}``. Identifiers are masked first (names,
            dates, phones, record numbers; never numbers): then ``masked`` says what and ``masked_text``
            is the text the offsets index; otherwise offsets index ``text``.

        Raises:
            InvalidInputError: ``text`` is not a string.
        """
        return self.extract_many([text])[0]

    def extract_many(
        self,
        texts: list[str],
        title_ends: list[int] | None = None,
        progress: Callable[[float], None] | None = None,
        mask: bool = True,
    ) -> list[dict]:
        """``extract`` for each text, the tagger run in batches.

        Args:
            texts: the texts.
            title_ends: per text, where a title ends (a PubTator title is its own sentence); optional.
            progress: called with the fraction done.
            mask: mask identifiers first (every clinical path). False only for published abstracts
                scored against their own gold offsets (evaluation, training).

        Raises:
            InvalidInputError: not a list of strings, or more than ``MAX_DOCUMENTS`` texts.
        """
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
            raise InvalidInputError("Expected a list of texts. Use extract(text) for one text.")
        if len(texts) > MAX_DOCUMENTS:
            raise InvalidInputError(f"{len(texts):,} texts given; at most {MAX_DOCUMENTS:,} at once. Split the batch.")
        title_ends = list(title_ends) if title_ends is not None else [0] * len(texts)
        # every clinical path (page, batch, CLI, API) masks
        masked = [self._masked(t, e) if mask else (t, e, []) for t, e in zip(texts, title_ends)]
        texts, title_ends = [m[0] for m in masked], [m[1] for m in masked]
        prepared = [self._prepared(t) for t in texts]
        reasons = [self.domain_reason(t) for t, _ in prepared]
        run = [i for i, r in enumerate(reasons) if r is None]
        found = tag_documents(
            self._network,
            self._vocab,
            self._lexicon,
            [prepared[i][0] for i in run],
            [min(title_ends[i], len(prepared[i][0])) for i in run],
            progress,
        )
        results = []
        tagged = dict(zip(run, found))
        for i, (text, notices) in enumerate(prepared):
            result = {
                "entities": [],
                "relations": [],
                "out_of_domain": reasons[i] is not None,
                "reason": reasons[i],
                "notices": notices,
                "chars_read": len(text),
            }
            if masked[i][2]:  # offsets index the masked text, so it is returned with them
                result["masked"], result["masked_text"] = masked[i][2], text
                notices.insert(0, masking_notice(masked[i][2], "extraction"))
            if reasons[i] is None:
                result.update(self._finish(text, tagged[i], min(title_ends[i], len(text))))
            results.append(result)
        if progress:
            progress(1.0)
        return results

    def _not_placeholders(self, text: str, mentions: list[tuple[int, int, str, float]]) -> list:
        """``mentions`` without any that touches a masking tag ("[NAME]", "[DATE]"): a tag is never a
        chemical or disease (a bracketed name the training abstracts use, such as "[ATP]", is kept)."""
        spans = placeholder_spans(
            text, lambda word: tuple(word.lower().replace("_", " ").split()) in self._lexicon.types
        )
        return [m for m in mentions if not any(m[0] < b and a < m[1] for a, b in spans)]

    def _finish(self, text: str, mentions: list[tuple[int, int, str, float]], title_end: int) -> dict:
        short_forms = abbreviations(text)
        mentions = self._not_placeholders(text, mentions)
        if self._propagate:
            mentions = self._not_placeholders(text, propagate(text, mentions, short_forms))
        ids = self._normaliser.ids_of(text, [(a, b) for a, b, _, _ in mentions])
        entities = [
            {"start": a, "end": b, "text": text[a:b], "type": kind, "id": ident, "score": round(float(score), 4)}
            for (a, b, kind, score), ident in zip(mentions, ids)
        ]
        sents = sentences(text, title_end)
        pairs = candidates(text, sents, entities, self._priors, title_end)
        scores = self._scorer.score(np.array([c.features for c in pairs])) if pairs else np.zeros(0)
        names = {}
        for e in entities:
            for ident in (e["id"] or "").split("|"):
                if ident:
                    names.setdefault((e["type"], ident), e["text"])
        relations = [
            {
                "chemical": c.chemical,
                "disease": c.disease,
                "chemical_text": names.get(("Chemical", c.chemical), c.chemical),
                "disease_text": names.get(("Disease", c.disease), c.disease),
                "score": round(float(s), 4),
                "evidence": [list(span) for span in c.evidence],
                "why": reasons(c.features, titled=title_end > 0),
            }
            for c, s in zip(pairs, scores)
            if s >= self.threshold
        ]
        relations.sort(key=lambda r: -r["score"])
        return {"entities": entities, "relations": relations}

    def candidates(self, text: str, entities: list[dict], title_end: int = 0) -> list[Candidate]:
        """The relation candidates of ``text`` for given entities (for explanations and evaluation)."""
        return candidates(text, sentences(text, title_end), entities, self._priors, title_end)

    def score_candidates(self, pairs: list[Candidate]) -> np.ndarray:
        """Relation probabilities of candidates."""
        return self._scorer.score(np.array([c.features for c in pairs])) if pairs else np.zeros(0)


def load_literature_model(path: Path, card: dict) -> LiteratureModel:
    """Build the model from a verified bundle folder."""
    import keras

    folder = Path(path)
    network = keras.saving.load_model(folder / "tagger.keras", compile=False, safe_mode=True)
    resources = json.loads((folder / "resources.json").read_text(encoding="utf-8"))
    with np.load(folder / "relations.npz", allow_pickle=False) as data:
        trees = {key: data[key] for key in data.files}
    return LiteratureModel(card["name"], card, network, resources, trees)


def result_rows(name: str, text: str, result: dict) -> list[dict]:
    """One flat row per mention and per relation of an ``extract`` result (for tables and downloads)."""
    rows = [
        {
            "text_name": name,
            "kind": "mention",
            "type": e["type"],
            "start": e["start"],
            "end": e["end"],
            "mention": e["text"],
            "mesh_id": e["id"] or "",
            "score": e["score"],
            "why": "",
            "evidence": "",
        }
        for e in result["entities"]
    ]
    for r in result["relations"]:
        rows.append(
            {
                "text_name": name,
                "kind": "relation",
                "type": "CID",
                "start": r["evidence"][0][0] if r["evidence"] else None,
                "end": r["evidence"][0][1] if r["evidence"] else None,
                "mention": f"{r['chemical_text']} -> {r['disease_text']}",
                "mesh_id": f"{r['chemical']} -> {r['disease']}",
                "score": r["score"],
                "why": "; ".join(r.get("why", [])),
                "evidence": " … ".join(text[a:b] for a, b in r["evidence"]),
            }
        )
    return rows


def frequent_pairs(results: list[dict], k: int = 15) -> list[dict]:
    """The ``k`` relations stated in the most texts: ids, names and the number of texts."""
    from collections import Counter

    counts, names = Counter(), {}
    for result in results:
        for key in {(r["chemical"], r["disease"]) for r in result["relations"]}:
            counts[key] += 1
        for r in result["relations"]:
            names.setdefault((r["chemical"], r["disease"]), (r["chemical_text"], r["disease_text"]))
    return [
        {"chemical": c, "disease": d, "chemical_text": names[(c, d)][0], "disease_text": names[(c, d)][1], "texts": n}
        for (c, d), n in counts.most_common(k)
    ]
