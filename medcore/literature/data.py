"""The literature corpora (BC5CDR in PubTator format, ADE-Corpus-V2) and the text units they share.

``parse_pubtator`` reads PubTator text (path contents or an upload) into ``Document`` objects and
names a malformed line by its number. ``sentences`` and ``tokens`` split text into spans that keep
exact character offsets, so every prediction indexes the user's text. ``read_texts`` reads the
page's uploads (.txt, PubTator, a CSV of abstracts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.core.tables import read_csv_bytes
from medcore.core.validate import check_file_bytes

__all__ = [
    "Mention",
    "Document",
    "TRAIN_FILE",
    "DEV_FILE",
    "ADE_FILE",
    "TYPES",
    "MAX_DOCUMENTS",
    "parse_pubtator",
    "read_pubtator",
    "read_ade_pairs",
    "sentences",
    "tokens",
    "read_texts",
    "decode_text",
    "EXAMPLES",
]

TRAIN_FILE = "literature/CDR_TrainingSet.PubTator.txt"
DEV_FILE = "literature/CDR_DevelopmentSet.PubTator.txt"
ADE_FILE = "literature/ade_corpus_v2/DRUG-AE_train.rel"
TYPES = ("Chemical", "Disease")
MAX_DOCUMENTS = 2_000  # abstracts in one upload or batch

_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")
# A sentence ends after . ! or ? followed by space and a capital, digit or bracket (SOURCE.md's splitter),
# never after a common abbreviation or a single capital initial.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
_NO_BREAK = re.compile(r"(?:\b(?:e\.g|i\.e|vs|et al|Dr|Fig|approx|ca|No|Mr|Mrs|Ms)\.|\b[A-Z]\.)$")


@dataclass
class Mention:
    """One annotated span: offsets into the document's text, type and MeSH id(s) ('|'-joined) or None."""

    start: int
    end: int
    text: str
    type: str
    id: str | None


@dataclass
class Document:
    """One abstract: ``text`` is title + ' ' + abstract (PubTator's offsets index it)."""

    pmid: str
    text: str
    mentions: list[Mention] = field(default_factory=list)
    relations: set[tuple[str, str]] = field(default_factory=set)  # (chemical MeSH id, disease MeSH id)
    title_end: int = 0


def _fail(name: str, number: int, line: str, why: str) -> InvalidInputError:
    shown = line if len(line) <= 80 else line[:77] + "..."
    return InvalidInputError(
        f"'{name}' line {number}: {why} (got {shown!r}). PubTator lines are 'PMID|t|title', 'PMID|a|abstract', "
        "'PMID<TAB>start<TAB>end<TAB>text<TAB>Chemical|Disease<TAB>MeSH id' and 'PMID<TAB>CID<TAB>chemical<TAB>disease'."
    )


def parse_pubtator(content: str, name: str = "input") -> list[Document]:
    """Documents of a PubTator text, with mentions and CID relations.

    Raises:
        InvalidInputError: a malformed line (named by number), offsets that do not match the text,
            no documents, or more than ``MAX_DOCUMENTS``.
    """
    docs: dict[str, Document] = {}
    titles: dict[str, str] = {}
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        head = line.split("|", 2)
        if len(head) == 3 and head[1] in ("t", "a") and "\t" not in head[0]:
            pmid, part, body = head
            if not pmid.strip():
                raise _fail(name, number, line, "no PMID before '|t|' or '|a|'")
            if part == "t":
                if pmid in docs:
                    raise _fail(name, number, line, f"a second title for document {pmid}")
                titles[pmid] = body
                docs[pmid] = Document(pmid, body, title_end=len(body))
                if len(docs) > MAX_DOCUMENTS:
                    raise InvalidInputError(
                        f"'{name}' holds more than {MAX_DOCUMENTS:,} documents; split it into smaller files."
                    )
            else:
                if pmid not in docs:
                    raise _fail(name, number, line, "an abstract before its title line")
                docs[pmid].text = titles[pmid] + " " + body
            continue
        fields = [f for f in line.split("\t")]
        while fields and fields[-1] == "":
            fields.pop()
        if len(fields) == 4 and fields[1] == "CID":
            pmid = fields[0]
            if pmid not in docs:
                raise _fail(name, number, line, "a relation for a document without a title line")
            docs[pmid].relations.add((fields[2], fields[3]))
            continue
        if len(fields) < 5:
            raise _fail(name, number, line, "not a title, abstract, mention or CID line")
        pmid, start, end, text, kind = fields[:5]
        if pmid not in docs:
            raise _fail(name, number, line, "a mention for a document without a title line")
        if not (start.isdigit() and end.isdigit()) or int(end) <= int(start):
            raise _fail(name, number, line, "start and end must be whole numbers with end > start")
        if kind not in TYPES:
            raise _fail(name, number, line, f"type '{kind}' is not Chemical or Disease")
        s, e = int(start), int(end)
        if docs[pmid].text[s:e] != text:
            raise _fail(name, number, line, f"offsets {s}-{e} do not hold '{text}' in document {pmid}")
        ident = fields[5] if len(fields) > 5 and fields[5] not in ("-1", "") else None
        docs[pmid].mentions.append(Mention(s, e, text, kind, ident))
    if not docs:
        raise InvalidInputError(f"'{name}' holds no PubTator documents (no 'PMID|t|title' line).")
    for doc in docs.values():
        doc.mentions.sort(key=lambda m: (m.start, m.end))
    return list(docs.values())


def read_pubtator(path: Path | str) -> list[Document]:
    """``parse_pubtator`` of a file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"No file at '{path}'. Pass a PubTator file (e.g. CDR_DevelopmentSet.PubTator.txt).")
    return parse_pubtator(decode_text(path.name, path.read_bytes()), path.name)


def read_ade_pairs(path: Path | str) -> list[tuple[str, str]]:
    """(drug, adverse effect) strings of ADE-Corpus-V2's DRUG-AE relations, lower-cased, one per line."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split("|")
        if len(parts) == 8:
            pairs.append((parts[5].lower(), parts[2].lower()))
    return pairs


def sentences(text: str, title_end: int = 0) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of ``text``; a title (``title_end`` > 0) is a sentence of its own."""
    spans = []
    cuts = [0] + ([title_end] if 0 < title_end < len(text) else [])
    cuts.append(len(text))
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        start = lo
        for match in _BOUNDARY.finditer(text, lo, hi):
            if _NO_BREAK.search(text[start : match.start()]):
                continue
            spans.append((start, match.start()))
            start = match.end()
        spans.append((start, hi))
    out = []
    for s, e in spans:  # trim spaces so each span starts and ends on text
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def tokens(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Token spans within ``text[start:end]``: runs of letters, runs of digits, single other characters."""
    return [m.span() for m in _TOKEN.finditer(text, start, len(text) if end is None else end)]


def decode_text(name: str, data: bytes) -> str:
    """Upload bytes as text (UTF-8, else Latin-1), refusing binary files."""
    check_file_bytes(name, data, "Upload plain text, a PubTator file or a CSV of abstracts.")
    if b"\x00" in data[:4096]:
        raise InvalidInputError(f"'{name}' is not a text file (it holds binary data). Upload plain text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_texts(name: str, data: bytes) -> tuple[list[str], list[str], list[Document] | None]:
    """The texts of an upload: (names, texts, documents if it was PubTator).

    ``.txt``: one text (or PubTator if its lines are PubTator); ``.csv``: a column named ``text``,
    ``abstract`` or ``medical_abstract`` (with ``title`` prepended when present).

    Raises:
        InvalidInputError: empty, binary, no text column, too many documents.
    """
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        frame = read_csv_bytes(name, data, MAX_DOCUMENTS, "Save a CSV with one abstract per row in a 'text' column.")
        columns = {c.lower().strip(): c for c in frame.columns}
        key = next((columns[c] for c in ("text", "abstract", "medical_abstract") if c in columns), None)
        if key is None:
            raise InvalidInputError(
                f"'{name}' has no 'text' or 'abstract' column (found: {', '.join(map(str, frame.columns[:10]))}). "
                "Name the column of abstracts 'text'."
            )
        texts = ["" if v != v else str(v) for v in frame[key]]
        if "title" in columns:
            titles = ["" if v != v else str(v) for v in frame[columns["title"]]]
            texts = [f"{t} {x}".strip() for t, x in zip(titles, texts)]
        ids = columns.get("pmid") or columns.get("id")
        names = [str(v) for v in frame[ids]] if ids else [f"row {i + 1}" for i in range(len(texts))]
        return names, texts, None
    if suffix not in (".txt", ".pubtator", ""):
        raise InvalidInputError(
            f"'{name}' is not a .txt, PubTator or .csv file. Upload plain text or a CSV of abstracts."
        )
    content = decode_text(name, data)
    if re.match(r"\s*[^|\s]+\|t\|", content):
        docs = parse_pubtator(content, name)
        return [d.pmid for d in docs], [d.text for d in docs], docs
    if len(content) > LIMITS["max_text_chars"] * 20:
        raise InvalidInputError(f"'{name}' is longer than {LIMITS['max_text_chars'] * 20:,} characters; split it.")
    return [Path(name).stem or "text"], [content], None


# Written for this project (not copied from PubMed), so the page's examples carry no third-party text.
EXAMPLES = {
    "drug side effect (abstract)": (
        "Cisplatin-induced nephrotoxicity in children with osteosarcoma. "
        "We reviewed 48 children treated with cisplatin and doxorubicin for osteosarcoma. Acute renal failure "
        "developed in 9 patients after the third cycle of cisplatin, and hypomagnesemia was common. Ototoxicity "
        "was seen in 12 patients. Magnesium supplementation did not prevent the decline in glomerular filtration "
        "rate. These findings suggest that cumulative cisplatin dose is associated with renal injury."
    ),
    "case report": (
        "A 67-year-old man receiving amiodarone for atrial fibrillation presented with progressive dyspnea. "
        "High-resolution CT showed interstitial pneumonitis, and amiodarone-induced pulmonary toxicity was "
        "diagnosed. The drug was withdrawn and prednisone was started; his symptoms improved within six weeks."
    ),
    "clinical note (with identifiers)": (
        "Seen by Dr. Alan Smith on 03/04/2025, phone 020 7946 0958. Patient started haloperidol last week and now "
        "has rigidity and tremor consistent with drug-induced parkinsonism. Haloperidol stopped; benztropine given."
    ),
}
