"""PubTator parsing (line-numbered errors), sentences and tokens with exact offsets, uploads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medcore.core.errors import InvalidInputError
from medcore.literature.data import parse_pubtator, read_texts, sentences, tokens
from tests.literature.conftest import pubtator

_TITLE = "Naloxone reverses the antihypertensive effect of clonidine."
_ABSTRACT = (
    "In rats the decrease in blood pressure by clonidine was blocked. Renal and pulmonary insufficiency was absent."
)
_TEXT = f"{_TITLE} {_ABSTRACT}"


def _at(mention: str, after: int = 0) -> str:
    start = _TEXT.index(mention, after)
    return f"{start}\t{start + len(mention)}\t{mention}"


SAMPLE = (
    f"227508|t|{_TITLE}\n227508|a|{_ABSTRACT}\n"
    f"227508\t{_at('Naloxone')}\tChemical\tD009270\n"
    f"227508\t{_at('clonidine')}\tChemical\tD003000\n"
    f"227508\t{_at('clonidine', len(_TITLE))}\tChemical\t-1\n"
    f"227508\t{_at('Renal and pulmonary insufficiency')}\tDisease\tD051437|D011665\t"
    "renal insufficiency|pulmonary insufficiency\t\n"
    "227508\tCID\tD003000\tD051437\n"
)


def test_a_pubtator_document_is_read_with_offsets_ids_and_relations():
    (doc,) = parse_pubtator(SAMPLE)
    assert doc.pmid == "227508" and doc.title_end == len("Naloxone reverses the antihypertensive effect of clonidine.")
    assert [m.text for m in doc.mentions] == ["Naloxone", "clonidine", "clonidine", "Renal and pulmonary insufficiency"]
    assert all(doc.text[m.start : m.end] == m.text for m in doc.mentions)
    assert doc.mentions[2].id is None  # -1 means no MeSH id
    assert doc.mentions[3].id == "D051437|D011665"  # composite mention, trailing tab ignored
    assert doc.relations == {("D003000", "D051437")}


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("227508\t0\t8\tNaloxone\tChemical", None),  # 5 fields: fine, no id
        ("227508\t0\t8\tNaloxone", "not a title, abstract, mention or CID line"),
        ("227508\tx\t8\tNaloxone\tChemical\tD1", "whole numbers"),
        ("227508\t0\t8\tNaloxone\tDrug\tD1", "type 'Drug'"),
        ("227508\t1\t9\tNaloxone\tChemical\tD1", "do not hold 'Naloxone'"),
        ("999\t0\t8\tNaloxone\tChemical\tD1", "without a title line"),
    ],
)
def test_a_malformed_line_is_named_by_its_number(line, why):
    content = "227508|t|Naloxone reverses it.\n227508|a|Text.\n" + line + "\n"
    if why is None:
        assert parse_pubtator(content)[0].mentions[0].id is None
        return
    with pytest.raises(InvalidInputError, match=f"line 3: .*{why}"):
        parse_pubtator(content, "upload.txt")


def test_empty_and_non_pubtator_text_are_refused():
    with pytest.raises(InvalidInputError, match="no PubTator documents"):
        parse_pubtator("")
    with pytest.raises(InvalidInputError, match="line 1"):
        parse_pubtator("just a sentence of text")


def test_sentences_and_tokens_index_the_text_exactly():
    text = "Cisplatin-induced nephrotoxicity. Seen in 12 patients (e.g. children). Dr. Smith agreed! 5-FU too."
    spans = sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Cisplatin-induced nephrotoxicity.",
        "Seen in 12 patients (e.g. children).",
        "Dr. Smith agreed!",
        "5-FU too.",
    ]
    toks = [text[a:b] for a, b in tokens(text, *spans[0])]
    assert toks == ["Cisplatin", "-", "induced", "nephrotoxicity", "."]
    title = "A title without a full stop"
    assert sentences(title + " Then the abstract.", len(title))[0] == (0, len(title))


def test_every_training_mention_of_the_tiny_corpus_starts_and_ends_on_a_token():
    for doc in parse_pubtator(pubtator(range(10))):
        starts = {a for a, _ in tokens(doc.text)}
        ends = {b for _, b in tokens(doc.text)}
        assert all(m.start in starts and m.end in ends for m in doc.mentions)


def test_uploads_text_pubtator_and_csv():
    names, texts, docs = read_texts("note.txt", b"Aspirin caused a rash.")
    assert (names, texts, docs) == (["note"], ["Aspirin caused a rash."], None)
    names, texts, docs = read_texts("corpus.txt", pubtator(range(2)).encode())
    assert names == ["1000", "1001"] and docs is not None and texts[0] == docs[0].text
    csv = b"pmid,title,abstract\n1,Heparin and bleeding.,We saw bleeding.\n2,,Only an abstract.\n"
    names, texts, _ = read_texts("abstracts.csv", csv)
    assert names == ["1", "2"] and texts == ["Heparin and bleeding. We saw bleeding.", "Only an abstract."]
    with pytest.raises(InvalidInputError, match="no 'text' or 'abstract' column"):
        read_texts("abstracts.csv", b"a,b\n1,2\n")
    with pytest.raises(InvalidInputError, match="binary"):
        read_texts("image.txt", b"\x89PNG\x00\x00\x01")
    with pytest.raises(InvalidInputError, match=r"\.txt, PubTator or \.csv"):
        read_texts("scan.dcm", b"DICM")


@pytest.mark.data
@pytest.mark.parametrize(
    ("file", "chemicals", "diseases", "relations"),
    [("CDR_TrainingSet.PubTator.txt", 5203, 4182, 1038), ("CDR_DevelopmentSet.PubTator.txt", 5347, 4244, 1012)],
)
def test_the_bc5cdr_files_read_to_their_published_counts(file, chemicals, diseases, relations):
    if not os.environ.get("MEDCORE_DATA_DIR"):
        pytest.skip("needs MEDCORE_DATA_DIR (the shared data sets)")
    from medcore.literature.data import read_pubtator

    docs = read_pubtator(Path(os.environ["MEDCORE_DATA_DIR"]) / "literature" / file)
    assert len(docs) == 500
    assert sum(m.type == "Chemical" for d in docs for m in d.mentions) == chemicals
    assert sum(m.type == "Disease" for d in docs for m in d.mentions) == diseases
    assert sum(len(d.relations) for d in docs) == relations
