"""Train ``literature-extraction`` on BC5CDR: the tagger on train, every choice on the development set.

1. Selection run (train only): the tagger is trained on the 500 training abstracts and stopped at
   the epoch of best strict mention F1 on the 500 development abstracts; consistency within a text
   is kept if it helps there; the relation trees are fitted on the training abstracts' annotated
   concepts (corpus figures cross-fitted over 5 folds); the relation threshold is the one of best
   end-to-end CID F1 on dev. Every card figure comes from this run on dev (the CID figure with a
   threshold cross-fitted over two halves of dev, so it is not scored on the data that set it).
2. Shipped run (``refit``, default): the same recipe on train + dev with the chosen epoch count and
   threshold, so the shipped tagger, lexicon and corpus figures know both sets' concepts. Its
   figures cannot be measured on dev any more; the withheld official test set is the check.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time as clock
from pathlib import Path

import numpy as np

from medcore.core.bundle import framework_versions, sha256_file, write_bundle
from medcore.core.settings import models_dir
from medcore.core.tables import find_data_file
from medcore.core.uncertainty import bootstrap_intervals
from medcore.literature.data import ADE_FILE, DEV_FILE, TRAIN_FILE, Document, read_ade_pairs, read_pubtator, tokens
from medcore.literature.features import TAGS, Lexicon, Vocab, encode
from medcore.literature.metrics import extraction_figures, per_type_rows
from medcore.literature.model import LiteratureModel, english_share, frequent_pairs
from medcore.literature.ner import gold_tags, lexicon_flags, propagate, tag_documents, units
from medcore.literature.normalise import Normaliser, abbreviations
from medcore.literature.relations import FEATURES, Priors, RelationScorer, candidates

__all__ = ["train_literature_model", "SETTINGS"]

SETTINGS = {
    "unlabelled_text": True,
    "word_dim": 100,
    "units": 128,
    "word_dropout": 0.25,
    "patience": 5,
    "max_epochs": 40,
    "folds": 5,
}
TREES = {"n_estimators": 300, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8}
MAX_CHARS = 20_000
DOMAIN_KEEP = 0.99  # share of development abstracts the language check must accept
PUBLISHED = {
    "chemical strict F1, CRF (SOURCE.md, dev)": 0.84,
    "disease strict F1, CRF (SOURCE.md, dev)": 0.75,
    "chemical strict F1, BiLSTM-CRF (test)": 0.906,
    "chemical / disease strict F1, BioBERT (test)": [0.935, 0.872],
    "CID F1 end to end, best BioCreative V team (test)": 0.570,
    "CID F1, sentence co-occurrence with gold entities (SOURCE.md, dev)": 0.439,
    "aim (issue 15): chemical / disease / CID": [0.90, 0.82, 0.50],
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _mention_words(doc: Document, start: int, end: int) -> tuple[str, ...]:
    return tuple(doc.text[a:b].lower() for a, b in tokens(doc.text, start, end))


def _shared(root: Path) -> Path:
    """The shared data folder, whether ``root`` is it or its ``literature/`` folder."""
    return root.parent if root.name == "literature" else root


def _unlabelled(root: Path) -> list[list[str]]:
    """Token lists of other biomedical text in the shared data (words only, never labels): the
    medical_abstracts abstracts and the ADE-Corpus-V2 sentences; empty where they are absent."""
    import pandas as pd

    texts: list[str] = []
    abstracts = _shared(root) / "medical_abstracts" / "medical_abstracts_train.csv"
    if abstracts.is_file():
        texts += [str(t) for t in pd.read_csv(abstracts)["medical_abstract"].dropna()]
    folder = _shared(root) / "literature" / "ade_corpus_v2"
    if folder.is_dir():
        sentences = set()
        for line in (folder / "DRUG-AE_train.rel").read_text(encoding="utf-8").splitlines():
            if line.count("|") >= 2:
                sentences.add(line.split("|")[1])
        for line in (folder / "ADE-NEG_train.txt").read_text(encoding="utf-8").splitlines():
            if line.count(" ") >= 2:
                sentences.add(line.split(" ", 2)[2])
        texts += sorted(sentences)
    return [[t[a:b] for a, b in tokens(t)] for t in texts]


def _lexicon(docs: list[Document]) -> Lexicon:
    lex = Lexicon()
    for doc in docs:
        for m in doc.mentions:
            lex.add(_mention_words(doc, m.start, m.end), m.type, m.id)
    return lex


def _concepts(doc: Document) -> tuple[set[str], set[str]]:
    chems, dises = set(), set()
    for m in doc.mentions:
        for ident in (m.id or "").split("|"):
            if ident:
                (chems if m.type == "Chemical" else dises).add(ident)
    return chems, dises


def _priors(docs: list[Document], ade: set) -> Priors:
    priors = Priors(ade=ade)
    for doc in docs:
        priors.add(*_concepts(doc), doc.relations)
    return priors


def _gold(doc: Document) -> dict:
    return {
        "entities": [{"start": m.start, "end": m.end, "type": m.type, "id": m.id} for m in doc.mentions],
        "relations": [{"chemical": c, "disease": d} for c, d in sorted(doc.relations)],
    }


def _tagger_inputs(
    docs: list[Document], folds: int, seed: int, unlabelled: list[list[str]]
) -> tuple[dict, np.ndarray, Vocab, np.ndarray | None]:
    """Network inputs of every sentence piece (lexicon flags cross-fitted over ``folds`` folds), the
    vocabulary and, with unlabelled text, word vectors learnt from it and the abstracts."""
    fold_of = np.random.default_rng(seed).permutation(len(docs)) % folds
    pieces, tags, flags = [], [], []
    for k in range(folds):
        lex = _lexicon([d for i, d in enumerate(docs) if fold_of[i] != k])
        for i, doc in enumerate(docs):
            if fold_of[i] == k:
                part = [u for u in units(doc.text, doc.title_end, i) if u.spans]
                pieces += part
                tags += gold_tags(part, doc.mentions)
                flags += lexicon_flags(part, lex)
    vocab = Vocab.build([u.words for u in pieces])
    vectors = None
    if unlabelled:
        from medcore.literature.embeddings import ppmi_vectors, vocabulary

        text = [u.words for u in pieces] + unlabelled
        vocab = Vocab(vocabulary(text), vocab.chars)
        vectors = ppmi_vectors(text, vocab.words, SETTINGS["word_dim"], seed=seed)
    inputs = encode([u.words for u in pieces], vocab, flags)
    y = np.zeros(inputs["words"].shape, dtype=np.int32)
    for i, t in enumerate(tags):
        y[i, : len(t)] = t
    return inputs, y, vocab, vectors


def _strict_f1(docs: list[Document], found: list[list]) -> float:
    """Mean of the chemical and disease strict mention F1."""
    f1s = []
    for kind in TAGS[1::2]:
        kind = kind[2:]
        gold = {(i, m.start, m.end) for i, d in enumerate(docs) for m in d.mentions if m.type == kind}
        pred = {(i, a, b) for i, f in enumerate(found) for a, b, k, _ in f if k == kind}
        tp = len(gold & pred)
        f1s.append(2 * tp / max(1, len(gold) + len(pred)))
    return float(np.mean(f1s))


def _fit_tagger(
    docs: list[Document],
    epochs: int,
    seed: int,
    dev: list[Document] | None,
    lexicon: Lexicon,
    unlabelled: list[list[str]],
):
    """A trained tagger and its vocabulary; stopped on ``dev`` when given, else run ``epochs`` epochs."""
    from medcore.literature.network import build_tagger, fit_tagger

    inputs, y, vocab, vectors = _tagger_inputs(docs, SETTINGS["folds"], seed, unlabelled)
    net = build_tagger(len(vocab.words) + 2, len(vocab.chars) + 2, seed, SETTINGS["word_dim"], SETTINGS["units"])
    if vectors is not None:
        net.get_layer("word_embedding").set_weights([vectors])

    def score(model) -> float:
        found = tag_documents(model, vocab, lexicon, [d.text for d in dev], [d.title_end for d in dev])
        return _strict_f1(dev, found)

    def progress(epoch: int, loss: float, value: float) -> None:
        shown = f", dev strict F1 {value:.3f}" if dev is not None else ""
        _say(f"  tagger epoch {epoch}/{epochs}: loss {loss:.4f}{shown}")

    fit = fit_tagger(
        net,
        inputs,
        y,
        score if dev is not None else None,
        epochs,
        seed,
        patience=SETTINGS["patience"] if dev is not None else epochs + 1,
        word_dropout=SETTINGS["word_dropout"],
        progress=progress,
    )
    return net, vocab, fit


def _relation_trees(docs: list[Document], ade: set, seed: int):
    """Boosted trees on the candidates of annotated concepts (corpus figures cross-fitted)."""
    from sklearn.ensemble import GradientBoostingClassifier

    from medcore.literature.data import sentences

    fold_of = np.random.default_rng(seed + 1).permutation(len(docs)) % SETTINGS["folds"]
    x, y = [], []
    for k in range(SETTINGS["folds"]):
        priors = _priors([d for i, d in enumerate(docs) if fold_of[i] != k], ade)
        for i, doc in enumerate(docs):
            if fold_of[i] == k:
                for c in candidates(
                    doc.text, sentences(doc.text, doc.title_end), _gold(doc)["entities"], priors, doc.title_end
                ):
                    x.append(c.features)
                    y.append((c.chemical, c.disease) in doc.relations)
    model = GradientBoostingClassifier(**TREES, random_state=seed).fit(np.array(x), np.array(y))
    return RelationScorer.from_sklearn(model), len(y), int(np.sum(y)), model.feature_importances_


def _ade_pairs(root: Path, normaliser: Normaliser) -> set:
    """ADE-Corpus-V2 drug -> effect pairs whose both strings have a MeSH id in the lexicon."""
    path = _shared(root) / ADE_FILE
    if not path.is_file():  # the ADE corpus is an optional extra source
        return set()
    pairs = set()
    for drug, effect in read_ade_pairs(path):
        c, d = normaliser.lookup(drug), normaliser.lookup(effect)
        if c and d:
            pairs.add((c, d))
    return pairs


def _known_words(docs: list[Document], root: Path) -> list[str]:
    """Words the language check knows: those used at least twice in the abstracts and in the
    medical_abstracts corpus (when present; ADE-Corpus-V2 is kept apart to measure the check)."""
    import re
    from collections import Counter

    import pandas as pd

    texts = [d.text for d in docs]
    abstracts = _shared(root) / "medical_abstracts" / "medical_abstracts_train.csv"
    if abstracts.is_file():
        texts += [str(t) for t in pd.read_csv(abstracts)["medical_abstract"].dropna()]
    counts = Counter(w.lower() for t in texts for w in re.findall(r"[A-Za-z]{2,}", t))
    return sorted(w for w, n in counts.items() if n >= 2)


def _model(network, vocab, lexicon, priors, known, scorer, threshold, propagate_on, domain) -> LiteratureModel:
    """The selection run as a model, to measure it on dev exactly as the shipped one will run."""
    card = {
        "name": "selection",
        "relations": {"base": scorer.base, "rate": scorer.rate},
        "operating_point": {"threshold": threshold},
        "input": {"max_chars": MAX_CHARS},
        "domain_check": {"threshold": domain},
        "architecture": {"propagate": propagate_on},
    }
    resources = {
        "vocab": vocab.to_json(),
        "lexicon": lexicon.to_json(),
        "priors": priors.to_json(),
        "known_words": known,
    }
    return LiteratureModel("selection", card, network, resources, scorer.arrays)


def _domain_threshold(texts: list[str], known: set[str]) -> float:
    shares = [english_share(t, known)[0] for t in texts]
    return min(0.9, float(np.floor(np.quantile(shares, 1 - DOMAIN_KEEP) * 100) / 100))


def _scrambled(text: str, rng: np.random.Generator) -> str:
    """Each word's letters shuffled: text of no language, with the abstract's length and layout."""
    import re

    return re.sub(r"[A-Za-z]{2,}", lambda m: "".join(rng.permutation(list(m.group()))), text)


def train_literature_model(
    name: str,
    data_path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir=None,
    command: str = "",
    refit: bool = True,
    **options,
) -> Path:
    """Train ``literature-extraction`` and write its bundle (see the module docstring).

    Args:
        name: the model name.
        data_path: the shared data folder (or its ``literature/`` folder).
        epochs: at most this many tagger epochs (default 40, early stopping on dev).
        seed: seed of every random choice.
        out_dir: bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.
        refit: train the shipped model on train + dev after choosing on dev.
        options: ``documents`` (use the first N abstracts of each set: tests).
    """
    started = clock.time()
    root = Path(data_path)
    train_file, dev_file = find_data_file(TRAIN_FILE, root), find_data_file(DEV_FILE, root)
    train, dev = read_pubtator(train_file), read_pubtator(dev_file)
    if options.get("documents"):
        train, dev = train[: int(options["documents"])], dev[: int(options["documents"])]
    max_epochs = int(epochs or SETTINGS["max_epochs"])
    _say(f"{name}: {len(train)} training and {len(dev)} development abstracts")

    # 1. selection run: train only, every choice on dev
    lex_train = _lexicon(train)
    unlabelled = _unlabelled(root) if SETTINGS["unlabelled_text"] else []
    net, vocab, fit = _fit_tagger(train, max_epochs, seed, dev, lex_train, unlabelled)
    raw = tag_documents(net, vocab, lex_train, [d.text for d in dev], [d.title_end for d in dev])
    spread = [propagate(d.text, f, abbreviations(d.text)) for d, f in zip(dev, raw)]
    f1_plain, f1_spread = _strict_f1(dev, raw), _strict_f1(dev, spread)
    propagate_on = f1_spread > f1_plain
    _say(f"  dev strict F1: tagger {f1_plain:.3f}, with consistency in the text {f1_spread:.3f}")
    normaliser = Normaliser(lex_train)
    ade = _ade_pairs(root, normaliser)
    scorer, n_candidates, n_positive, importances = _relation_trees(train, ade, seed)
    known_train = _known_words(train, root)
    domain_threshold = _domain_threshold([d.text for d in dev], set(known_train))
    selection = _model(
        net, vocab, lex_train, _priors(train, ade), known_train, scorer, 0.0, propagate_on, domain_threshold
    )
    dev_results = selection.extract_many([d.text for d in dev], [d.title_end for d in dev], mask=False)
    threshold, cid_cross = _choose_threshold(dev, dev_results, seed)
    _say(f"  relation threshold {threshold:.2f} (cross-fitted dev CID F1 {cid_cross['cid_f1']:.3f})")
    golds = [_gold(d) for d in dev]
    predictions = [
        {"entities": r["entities"], "relations": [x for x in r["relations"] if x["score"] >= threshold]}
        for r in dev_results
    ]
    validation = extraction_figures(golds, predictions, seed=seed)
    validation.update(cid_cross)  # the CID figures whose threshold was set on the other half of dev
    validation["split"] = "BC5CDR development set (selection run, trained on train only)"
    validation["cid_f1_gold_entities"], validation["cid_f1_gold_entities_ci95"] = _gold_entity_cid(
        selection, dev, threshold, seed
    )
    domain = _domain_figures(selection, dev, root, domain_threshold, seed)
    _say(
        f"  dev: chemical F1 {validation['strict_chemical_f1']:.3f}, disease F1 {validation['strict_disease_f1']:.3f}, "
        f"CID F1 {validation['cid_f1']:.3f}"
    )

    # 2. shipped run: train + dev with the chosen settings
    shipped_docs = train + dev if refit else train
    if refit:
        _say(f"  refit on train + dev: {fit['best_epoch']} epochs")
        lex_all = _lexicon(shipped_docs)
        net, vocab, _ = _fit_tagger(shipped_docs, fit["best_epoch"], seed, None, lex_all, unlabelled)
        normaliser = Normaliser(lex_all)
        ade = _ade_pairs(root, normaliser)
        scorer, n_candidates, n_positive, importances = _relation_trees(shipped_docs, ade, seed)
    else:
        lex_all = lex_train
    priors = _priors(shipped_docs, ade)
    known = _known_words(shipped_docs, root)

    staging = Path(tempfile.mkdtemp(prefix="medcore-literature-"))
    from medcore.literature.network import build_tagger

    shipped = build_tagger(  # uncompiled: the bundle holds no optimizer state
        len(vocab.words) + 2, len(vocab.chars) + 2, seed, SETTINGS["word_dim"], SETTINGS["units"], compile=False
    )
    shipped.set_weights(net.get_weights())
    shipped.save(staging / "tagger.keras")
    resources = {
        "vocab": vocab.to_json(),
        "lexicon": lex_all.to_json(),
        "priors": priors.to_json(),
        "known_words": known,
        "training_pmids": sorted(d.pmid for d in shipped_docs),
    }
    (staging / "resources.json").write_text(json.dumps(resources), encoding="utf-8")
    np.savez(staging / "relations.npz", **scorer.arrays)
    files = {n: staging / n for n in ("tagger.keras", "resources.json", "relations.npz")}
    evaluation = {
        "split": "development set (500 abstracts), selection run",
        "figures": validation,
        "per_type": per_type_rows(validation),
        "tagger_history": fit["history"],
        "relation_features": sorted(
            ({"feature": f, "importance": float(v)} for f, v in zip(FEATURES, importances)),
            key=lambda r: -r["importance"],
        ),
        "top_pairs": frequent_pairs(
            [{"relations": [r for r in x["relations"] if r["score"] >= threshold]} for x in dev_results]
        ),
    }
    card = {
        "name": name,
        "version": "1.0.0",
        "kind": "literature",
        "task": "Chemicals and diseases in biomedical text, their MeSH ids, and chemical-induced-disease relations",
        "description": "Finds chemical and disease mentions in an abstract or clinical text (exact character offsets), "
        "gives each a MeSH id where its spelling or abbreviation is known, and says which chemical induced which "
        "disease, with the evidence sentences and a score. Trained from scratch on BC5CDR (no pretrained weights).",
        "intended_use": "Research support: screening PubMed abstracts and case reports for drug side effects and "
        "disease mentions, with every extraction shown in its sentence for a reader to check.",
        "out_of_scope_use": "Pharmacovigilance decisions without human review; non-English text (refused); "
        "full-text articles longer than 20,000 characters (cut); concepts the training abstracts never name "
        "(found, but usually without a MeSH id, so without relations).",
        "labels": ["Chemical", "Disease"],
        "tasks": ["Chemical", "Disease", "CID"],
        "input": {"type": "English text (an abstract, a case report, a clinical note)", "max_chars": MAX_CHARS},
        "preprocessing": {
            "sentences": "split after . ! ? before a capital, digit or bracket (a title is its own sentence)",
            "tokens": "runs of letters, runs of digits, single other characters",
            "identifiers": "the page masks names, dates, phone numbers and record numbers before extraction",
        },
        "architecture": {
            "tagger": {
                **SETTINGS,
                "tags": list(TAGS),
                "words": len(vocab.words),
                "characters": len(vocab.chars),
                "decoding": "Viterbi over the per-token probabilities with BIO constraints",
            },
            "propagate": propagate_on,
            "normalisation": "training mention spellings -> MeSH id (tokens, then squashed spelling), abbreviations "
            "resolved to their long form within the text, earlier mentions of the same spelling",
            "relations": {
                **TREES,
                "features": list(FEATURES),
                "training_candidates": n_candidates,
                "training_positive": n_positive,
                "ade_pairs": len(ade),
            },
        },
        "relations": {"base": scorer.base, "rate": scorer.rate},
        "operating_point": {
            "threshold": threshold,
            "note": "a chemical-disease pair is reported as a relation when its score reaches the threshold "
            "(best end-to-end CID F1 on dev)",
        },
        "calibration": {
            "method": "none: relation scores are the boosted trees' probabilities (log-loss); entity scores are the "
            "tagger's mean tag probability over the span"
        },
        "domain_check": {
            "method": "share of the text's words that the training abstracts and medical_abstracts use (at least 2 "
            "times); below the "
            f"threshold (the {1 - DOMAIN_KEEP:.0%} quantile on dev) the text is not English biomedical prose: no answer",
            "threshold": domain_threshold,
            "validation": domain,
        },
        "training": {
            "dataset": "BC5CDR (BioCreative V CDR) training and development sets; ADE-Corpus-V2 drug-effect pairs "
            "as a relation feature",
            "data_file": TRAIN_FILE,
            "data_sha256": sha256_file(train_file),
            "dev_file": DEV_FILE,
            "dev_sha256": sha256_file(dev_file),
            "split": f"train {len(train)} abstracts, development {len(dev)}; the official test set is withheld",
            "chosen_on": f"the development set: tagger epochs (best {fit['best_epoch']}), consistency within the text "
            f"(strict F1 {f1_plain:.3f} without, {f1_spread:.3f} with), relation threshold; every figure below is the "
            "train-only selection run on dev (optimistic for those choices; CID is cross-fitted over dev halves)",
            "shipped": "retrained on train + dev with the chosen settings"
            if refit
            else "the selection run (train only)",
            "seed": seed,
            "epochs": fit["best_epoch"],
            "wall_time_s": round(clock.time() - started, 1),
            "command": command,
        },
        "metrics": {"validation": validation},
        "anchors": PUBLISHED,
        "framework_versions": framework_versions(),
        "limitations": [
            "No pretrained language model or MeSH vocabulary is available here: concepts the 1,000 training and "
            "development abstracts never name get no MeSH id and so no relation.",
            "Relations are between concepts of one text; a relation the text states only implicitly, or across "
            "several abstracts, is missed.",
            "The figures are measured on dev by a model trained on train only; the shipped model also learnt dev.",
        ],
        "ethical_considerations": [
            "An extracted side effect is a reading of the text, not evidence that the drug causes it; check the "
            "evidence sentence and the source.",
            "Pasted clinical text may identify a patient: identifiers are masked on the page and nothing is stored.",
        ],
        "data_licence": "BC5CDR: public (BioCreative; BigBio lists Public Domain Mark 1.0), abstracts (c) their "
        "publishers; ADE-Corpus-V2 terms not stated (see SOURCE.md)",
    }
    out = Path(out_dir) if out_dir else models_dir() / name
    path = write_bundle(out, card, evaluation, files)
    shutil.rmtree(staging, ignore_errors=True)
    _say(f"{name}: written to {path}")
    return path


def _choose_threshold(dev: list[Document], results: list[dict], seed: int) -> tuple[float, dict]:
    """The relation threshold of best CID F1 on dev, and CID figures cross-fitted over two halves of dev."""
    grid = np.round(np.arange(0.1, 0.91, 0.025), 3)

    def counts(rows, t):
        tp = n_p = n_g = 0
        for i in rows:
            gold = dev[i].relations
            pred = {(r["chemical"], r["disease"]) for r in results[i]["relations"] if r["score"] >= t}
            tp, n_p, n_g = tp + len(gold & pred), n_p + len(pred), n_g + len(gold)
        return tp, n_p, n_g

    def best(rows):
        f1 = [2 * c[0] / max(1, c[1] + c[2]) for c in (counts(rows, t) for t in grid)]
        return float(grid[int(np.argmax(f1))])

    everything = np.arange(len(dev))
    halves = np.random.default_rng(seed + 2).permutation(len(dev)) % 2
    chosen = {h: best(everything[halves != h]) for h in (0, 1)}  # each half scored at the other's threshold
    per_doc = []
    for i in everything:
        per_doc.append(counts([i], chosen[halves[i]]))
    per_doc = np.array(per_doc, dtype=float)

    def stats(rows):
        tp, n_p, n_g = per_doc[rows].sum(axis=0)
        p, r = tp / max(1, n_p), tp / max(1, n_g)
        return {"cid_precision": p, "cid_recall": r, "cid_f1": 2 * p * r / (p + r) if p + r else 0.0}

    point = stats(everything)
    intervals = bootstrap_intervals(stats, len(dev), resamples=500, seed=seed)
    cross = {}
    for key, value in point.items():
        cross[key], cross[f"{key}_ci95"] = float(value), intervals[key]
    return best(everything), cross


def _gold_entity_cid(model: LiteratureModel, dev: list[Document], threshold: float, seed: int):
    """CID F1 on dev with the annotated entities and ids given (the relation step alone)."""
    per_doc = []
    for doc in dev:
        pairs = model.candidates(doc.text, _gold(doc)["entities"], doc.title_end)
        scores = model.score_candidates(pairs)
        pred = {(c.chemical, c.disease) for c, s in zip(pairs, scores) if s >= threshold}
        per_doc.append((len(pred & doc.relations), len(pred), len(doc.relations)))
    per_doc = np.array(per_doc, dtype=float)

    def f1(rows):
        tp, n_p, n_g = per_doc[rows].sum(axis=0)
        return {"f1": 2 * tp / max(1, n_p + n_g)}

    return f1(np.arange(len(dev)))["f1"], bootstrap_intervals(f1, len(dev), resamples=500, seed=seed)["f1"]


def _domain_figures(model: LiteratureModel, dev: list[Document], root: Path, threshold: float, seed: int) -> dict:
    """How often the language check refuses genuine abstracts, English case reports and text of no language."""
    rng = np.random.default_rng(seed)

    def rate(texts: list[str]) -> tuple[float, list[float], int]:
        refused = np.array([model.domain_reason(t) is not None for t in texts], dtype=float)
        ci = bootstrap_intervals(lambda rows: {"r": refused[rows].mean()}, len(refused), resamples=500, seed=seed)["r"]
        return float(refused.mean()), ci, len(refused)

    figures = {}
    value, ci, n = rate([d.text for d in dev])
    figures.update({"genuine_rejected": value, "genuine_rejected_ci95": ci, "n_genuine": n})
    value, ci, n = rate([_scrambled(d.text, rng) for d in dev])
    figures.update({"negatives_caught": value, "negatives_caught_ci95": ci, "n_negatives": n})
    figures["negatives"] = (
        "genuine = the development abstracts (which also set the threshold); wrong = the same abstracts with each "
        "word's letters shuffled (text of no language); no real non-English corpus is available here"
    )
    path = _shared(root) / "literature" / "ade_corpus_v2" / "ADE-NEG_train.txt"
    if path.is_file():  # single English sentences of other case reports (ADE-Corpus-V2 negatives)
        lines = [ln.split(" ", 2)[2] for ln in path.read_text(encoding="utf-8").splitlines() if ln.count(" ") >= 2]
        chosen = [lines[i] for i in rng.permutation(len(lines))[:1000]]
        value, ci, n = rate(chosen)
        figures.update({"ade_sentences_rejected": value, "ade_sentences_rejected_ci95": ci, "n_ade_sentences": n})
    return figures
