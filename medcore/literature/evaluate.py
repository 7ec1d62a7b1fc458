"""Evaluating the literature model on an annotated PubTator file (BC5CDR's format).

Strict and relaxed mention P/R/F1 per type, concept (MeSH id) P/R/F1, and CID relation P/R/F1
end to end, each with a 95 % interval from a bootstrap over abstracts. Abstracts the language
check refuses are counted and left out; abstracts the shipped model was trained on are named,
since figures on them are optimistic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from medcore.core.errors import InvalidInputError
from medcore.literature.data import Document, decode_text, parse_pubtator
from medcore.literature.metrics import extraction_figures, per_type_rows
from medcore.literature.model import LiteratureModel, frequent_pairs

__all__ = ["ACCEPTED_UPLOADS", "evaluate_upload", "evaluate_literature"]

ACCEPTED_UPLOADS = {
    ".txt": "PubTator: 'PMID|t|title', 'PMID|a|abstract', tab-separated mention lines "
    "(PMID, start, end, text, Chemical|Disease, MeSH id) and CID lines (PMID, CID, chemical id, disease id)",
    ".pubtator": "PubTator, as .txt",
}


def evaluate_upload(
    model: LiteratureModel, name: str, data: bytes, progress: Callable[[float], None] | None = None
) -> dict:
    """``evaluate_literature`` on an uploaded PubTator file, read in memory."""
    return evaluate_literature(model, parse_pubtator(decode_text(name, data), name), name, progress)


def evaluate_literature(
    model: LiteratureModel,
    source: list[Document] | Path | str,
    name: str = "input",
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Metrics of ``model`` on annotated abstracts (documents, or a PubTator path).

    Returns:
        the figures of ``metrics.extraction_figures`` with ``_ci95``, ``n`` (abstracts scored),
        ``out_of_domain`` (refused), ``per_type`` rows, ``predictions`` (one row per predicted
        mention and relation, with whether it is in the annotation) and ``notes``.

    Raises:
        InvalidInputError: not PubTator, no annotated abstracts, or every abstract refused.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(
                f"No file at '{source}'. Pass a PubTator file such as CDR_DevelopmentSet.PubTator.txt."
            )
        name = path.name
        source = parse_pubtator(decode_text(path.name, path.read_bytes()), path.name)
    docs = list(source)
    if not any(d.mentions for d in docs):
        raise InvalidInputError(f"'{name}' has no annotated mentions, so there is nothing to score against.")
    results = model.extract_many([d.text for d in docs], [d.title_end for d in docs], progress, mask=False)
    kept = [i for i, r in enumerate(results) if not r["out_of_domain"]]
    if not kept:
        raise InvalidInputError(f"'{name}': the language check refused every abstract; nothing could be scored.")
    golds, preds, rows = [], [], []
    for i in kept:
        doc, result = docs[i], results[i]
        gold_spans = {(m.start, m.end, m.type) for m in doc.mentions}
        golds.append(
            {
                "entities": [{"start": m.start, "end": m.end, "type": m.type, "id": m.id} for m in doc.mentions],
                "relations": [{"chemical": c, "disease": d} for c, d in doc.relations],
            }
        )
        preds.append(result)
        for e in result["entities"]:
            rows.append(
                {
                    "pmid": doc.pmid,
                    "kind": "mention",
                    "start": e["start"],
                    "end": e["end"],
                    "text": e["text"],
                    "type": e["type"],
                    "id": e["id"] or "",
                    "score": e["score"],
                    "annotated": (e["start"], e["end"], e["type"]) in gold_spans,
                }
            )
        for r in result["relations"]:
            rows.append(
                {
                    "pmid": doc.pmid,
                    "kind": "CID",
                    "text": f"{r['chemical_text']} -> {r['disease_text']}",
                    "type": "CID",
                    "id": f"{r['chemical']}->{r['disease']}",
                    "score": r["score"],
                    "annotated": (r["chemical"], r["disease"]) in doc.relations,
                }
            )
    figures = extraction_figures(golds, preds)
    notes = []
    refused = len(docs) - len(kept)
    if refused:
        notes.append(f"{refused} abstract(s) refused by the language check are left out.")
    seen = sum(d.pmid in model.training_pmids for d in docs)
    if seen:
        notes.append(
            f"{seen} of the {len(docs)} abstracts were used to train the shipped model: figures on them are optimistic "
            "(the model card's figures come from a run that did not train on the development set)."
        )
    return {
        "model": model.name,
        **figures,
        "out_of_domain": refused,
        "per_type": per_type_rows(figures),
        "top_pairs": frequent_pairs(preds),
        "predictions": rows,
        "notes": notes,
    }
