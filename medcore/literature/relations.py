"""Chemical-induced-disease relations between the MeSH ids of one text, scored by boosted trees.

Every (chemical id, disease id) pair found in a text is a candidate. ``pair_features`` describes it:
where and how often each concept is mentioned, whether they share a sentence, the words between
them ("-induced", "caused by", "treatment of"), and what the training abstracts say about each
concept and the pair (cross-fitted on the training abstracts, so a pair is never its own evidence).
``Priors`` holds those corpus figures; ``RelationScorer`` walks the exported trees.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from medcore.core.trees import leaf_values

__all__ = ["FEATURES", "Priors", "Candidate", "candidates", "reasons", "RelationScorer"]

FEATURES = (
    "share a sentence",
    "shared sentences (log)",
    "sentences apart (nearest mentions)",
    "tokens apart in a shared sentence",
    "chemical in title",
    "disease in title",
    "chemical mentions (log)",
    "disease mentions (log)",
    "chemical is the most mentioned chemical",
    "disease is the most mentioned disease",
    "share of the text's chemical mentions",
    "share of the text's disease mentions",
    "cause words in a shared sentence",
    "'<chemical>-induced <disease>' pattern",
    "'<disease> ... induced by / after <chemical>' pattern",
    "treatment words between them",
    "'<chemical> for <disease>' or '<disease> treated with <chemical>' (an indication)",
    "chemicals in the text (log)",
    "diseases in the text (log)",
    "pair induced in training abstracts",
    "pair co-mentioned in training abstracts (log)",
    "chemical's induced rate in training",
    "disease's induced rate in training",
    "pair among ADE-Corpus drug-effect pairs",
    "first chemical mention position",
    "first disease mention position",
)
_CAUSE = re.compile(
    r"induc|caus|associat|relat|due to|follow|after|develop|produc|toxic|adverse|side effect|complicat|"
    r"result|secondary|provok|elicit|precipitat|attribut",
    re.I,
)
_TREAT = re.compile(r"treat|therap|prevent|protect|reduc|attenuat|inhibit|reliev|improv|manag|revers|effective", re.I)
_INDUCED = re.compile(r"^\s*-?\s*(?:induced|associated|related|evoked|provoked|treated)\b", re.I)
_FOR = re.compile(r"^\s*(?:for|in|to treat|against|as (?:a )?treatment (?:for|of))\s*$", re.I)
_TREATED_WITH = re.compile(r"(?:treated|managed|controlled|given|receiving)\s+(?:\w+\s+)?with\b", re.I)
_BY = re.compile(r"(?:induced|caused|provoked|produced)\s+by|after|following|due to|secondary to", re.I)


# Features worth naming to a reader when they hold (value 1), in the words the page shows.
_REASONS = {
    "'<chemical>-induced <disease>' pattern": "'<chemical>-induced <disease>' in the text",
    "'<disease> ... induced by / after <chemical>' pattern": "'<disease> ... after / induced by <chemical>'",
    "cause words in a shared sentence": "cause words in a shared sentence",
    "share a sentence": "named in the same sentence",
    "treatment words between them": "treatment words between them (against)",
    "'<chemical> for <disease>' or '<disease> treated with <chemical>' (an indication)": "an indication: "
    "'<chemical> for <disease>' (against)",
    "pair induced in training abstracts": "a CID pair in the training abstracts",
    "pair among ADE-Corpus drug-effect pairs": "a drug-effect pair of ADE-Corpus-V2",
    "chemical in title": "chemical in the title",
    "disease in title": "disease in the title",
}


# Without a title (pasted text) the title features describe the first sentence, and say so.
_UNTITLED = {"chemical in title": "chemical in the first sentence", "disease in title": "disease in the first sentence"}


def reasons(features: np.ndarray, titled: bool = True) -> list[str]:
    """The named features that hold for a candidate, in plain words.

    Args:
        features: the candidate's ``FEATURES`` values.
        titled: whether the text had a title (PubTator); without one the "title" is the first sentence.
    """
    words = _REASONS if titled else {**_REASONS, **_UNTITLED}
    return [words[name] for name in _REASONS if features[FEATURES.index(name)] >= 1]


@dataclass
class Priors:
    """Corpus figures about concepts and pairs (from training abstracts)."""

    induced: Counter = field(default_factory=Counter)  # (chemical, disease) -> abstracts asserting CID
    together: Counter = field(default_factory=Counter)  # (chemical, disease) -> abstracts mentioning both
    chem_induced: Counter = field(default_factory=Counter)
    chem_docs: Counter = field(default_factory=Counter)
    dis_induced: Counter = field(default_factory=Counter)
    dis_docs: Counter = field(default_factory=Counter)
    ade: set = field(default_factory=set)

    def add(self, chemicals: set[str], diseases: set[str], relations: set[tuple[str, str]]) -> None:
        """Count one annotated abstract."""
        self.chem_docs.update(chemicals)
        self.dis_docs.update(diseases)
        self.chem_induced.update({c for c, _ in relations})
        self.dis_induced.update({d for _, d in relations})
        self.together.update((c, d) for c in chemicals for d in diseases)
        self.induced.update(relations)

    def to_json(self) -> dict:
        def pairs(counter: Counter) -> list:
            return [[c, d, n] for (c, d), n in counter.items()]

        return {
            "induced": pairs(self.induced),
            "together": pairs(self.together),
            "chem_induced": dict(self.chem_induced),
            "chem_docs": dict(self.chem_docs),
            "dis_induced": dict(self.dis_induced),
            "dis_docs": dict(self.dis_docs),
            "ade": sorted(list(p) for p in self.ade),
        }

    @classmethod
    def from_json(cls, data: dict) -> Priors:
        return cls(
            Counter({(c, d): n for c, d, n in data["induced"]}),
            Counter({(c, d): n for c, d, n in data["together"]}),
            Counter(data["chem_induced"]),
            Counter(data["chem_docs"]),
            Counter(data["dis_induced"]),
            Counter(data["dis_docs"]),
            {tuple(p) for p in data["ade"]},
        )


@dataclass
class Candidate:
    """A (chemical, disease) pair of one text, its features and evidence sentence spans."""

    chemical: str
    disease: str
    features: np.ndarray
    evidence: list[tuple[int, int]]


def _sentence_of(sents: list[tuple[int, int]], pos: int) -> int:
    for i, (_, e) in enumerate(sents):
        if pos < e:
            return i
    return len(sents) - 1


def candidates(
    text: str,
    sents: list[tuple[int, int]],
    entities: list[dict],
    priors: Priors,
    title_end: int = 0,
) -> list[Candidate]:
    """Every chemical-disease id pair among ``entities`` (dicts with start, end, type, id), described."""
    where: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    for ent in entities:
        if not ent.get("id"):
            continue
        for ident in ent["id"].split("|"):
            where.setdefault((ent["type"], ident), []).append(
                (ent["start"], ent["end"], _sentence_of(sents, ent["start"]))
            )
    chems = {k[1]: v for k, v in where.items() if k[0] == "Chemical"}
    dises = {k[1]: v for k, v in where.items() if k[0] == "Disease"}
    if not chems or not dises:
        return []
    n_chem = sum(len(v) for v in chems.values())
    n_dis = sum(len(v) for v in dises.values())
    top_chem = max(len(v) for v in chems.values())
    top_dis = max(len(v) for v in dises.values())
    length = max(1, len(text))
    out = []
    for c, cm in chems.items():
        for d, dm in dises.items():
            shared = sorted({sc for _, _, sc in cm} & {sd for _, _, sd in dm})
            gap = min(abs(sc - sd) for _, _, sc in cm for _, _, sd in dm)
            cause = induced_pattern = by_pattern = treat = indication = 0.0
            tokens_apart = 60.0
            for a_s, a_e, sc in cm:
                for b_s, b_e, sd in dm:
                    if sc != sd:
                        continue
                    lo, hi = (a_e, b_s) if a_e <= b_s else (b_e, a_s)
                    between = text[lo:hi]
                    tokens_apart = min(tokens_apart, len(between.split()))
                    s, e = sents[sc]
                    cause = max(cause, float(bool(_CAUSE.search(text[s:e]))))
                    treat = max(treat, float(bool(_TREAT.search(between))))
                    if a_e <= b_s and _INDUCED.match(text[a_e:b_s]) and len(between.split()) <= 4:
                        induced_pattern = 1.0
                    if b_e <= a_s and _BY.search(between) and len(between.split()) <= 12:
                        by_pattern = 1.0
                    if a_e <= b_s and _FOR.match(between):
                        indication = 1.0
                    if b_e <= a_s and _TREATED_WITH.search(between) and len(between.split()) <= 6:
                        indication = 1.0
            chem_rate = (priors.chem_induced[c] + 0.5) / (priors.chem_docs[c] + 2)
            dis_rate = (priors.dis_induced[d] + 0.5) / (priors.dis_docs[d] + 2)
            x = np.array(
                [
                    float(bool(shared)),
                    np.log1p(len(shared)),
                    min(gap, 10) / 10,
                    tokens_apart / 60,
                    float(any(s < title_end for s, _, _ in cm)) if title_end else float(any(sc == 0 for *_, sc in cm)),
                    float(any(s < title_end for s, _, _ in dm)) if title_end else float(any(sd == 0 for *_, sd in dm)),
                    np.log1p(len(cm)),
                    np.log1p(len(dm)),
                    float(len(cm) == top_chem),
                    float(len(dm) == top_dis),
                    len(cm) / n_chem,
                    len(dm) / n_dis,
                    cause,
                    induced_pattern,
                    by_pattern,
                    treat,
                    indication,
                    np.log1p(len(chems)),
                    np.log1p(len(dises)),
                    float(priors.induced[(c, d)] > 0),
                    np.log1p(priors.together[(c, d)]),
                    chem_rate,
                    dis_rate,
                    float((c, d) in priors.ade),
                    min(s for s, _, _ in cm) / length,
                    min(s for s, _, _ in dm) / length,
                ],
                dtype=np.float64,
            )
            if shared:
                evidence = [sents[i] for i in shared[:3]]
            else:
                _, _, sc, sd = min(((abs(sc - sd), 0, sc, sd) for *_, sc in cm for *_, sd in dm))
                evidence = [sents[min(sc, sd)], sents[max(sc, sd)]]
            out.append(Candidate(c, d, x, evidence))
    return out


class RelationScorer:
    """P(chemical induced disease) of candidates: boosted trees stored as node arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], base: float, rate: float) -> None:
        self.arrays, self.base, self.rate = arrays, base, rate

    @classmethod
    def from_sklearn(cls, model) -> RelationScorer:
        """From a fitted binary ``GradientBoostingClassifier``."""
        from medcore.core.trees import export_trees

        arrays = export_trees(model.estimators_[:, 0])
        zero = np.zeros((1, model.n_features_in_))
        base = float(model.decision_function(zero)[0]) - model.learning_rate * float(
            sum(t.predict(zero.astype(np.float32))[0] for t in model.estimators_[:, 0])
        )
        return cls(arrays, base, float(model.learning_rate))

    def score(self, features: np.ndarray) -> np.ndarray:
        """Probabilities (N,) for a feature matrix (N, len(FEATURES))."""
        if len(features) == 0:
            return np.zeros(0)
        raw = self.base + self.rate * leaf_values(self.arrays, np.asarray(features, dtype=np.float64)).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-raw))
