"""A tiny PubTator corpus written here (templated abstracts, made-up but MeSH-shaped ids) and a literature
bundle trained on it in seconds."""

from __future__ import annotations

import pytest

DRUGS = [
    ("cisplatin", "D002945"),
    ("haloperidol", "D006220"),
    ("amiodarone", "D000638"),
    ("lithium", "D008094"),
    ("heparin", "D006493"),
    ("cocaine", "D003042"),
]
DISEASES = [
    ("nephrotoxicity", "D007674"),
    ("parkinsonism", "D010302"),
    ("pulmonary fibrosis", "D011658"),
    ("tremor", "D014202"),
    ("thrombocytopenia", "D013921"),
    ("hypertension", "D006973"),
]


def abstract(i: int) -> tuple[str, str, list[tuple[str, str, str]], set[tuple[str, str]]]:
    """Document i: title, abstract, mentions (text, type, id) in order, CID pairs."""
    a, b = DRUGS[i % 6], DISEASES[(i * 5) % 6]
    c, d = DRUGS[(i + 2) % 6], DISEASES[(i * 5 + 3) % 6]
    title = f"{a[0].capitalize()}-induced {b[0]} in {i + 3} patients."
    body = (
        f"We describe {i + 3} patients who developed {b[0]} after {a[0]} therapy. "
        f"{c[0].capitalize()} was given to treat {d[0]}. The {b[0]} resolved when {a[0]} was withdrawn."
    )
    mentions = [
        (a[0].capitalize(), "Chemical", a[1]),
        (b[0], "Disease", b[1]),
        (b[0], "Disease", b[1]),
        (a[0], "Chemical", a[1]),
        (c[0].capitalize(), "Chemical", c[1]),
        (d[0], "Disease", d[1]),
        (b[0], "Disease", b[1]),
        (a[0], "Chemical", a[1]),
    ]
    return title, body, mentions, {(a[1], b[1])}


def pubtator(indices) -> str:
    """PubTator text of the documents ``indices`` (PMIDs 1000 + i)."""
    blocks = []
    for i in indices:
        title, body, mentions, relations = abstract(i)
        text = f"{title} {body}"
        lines = [f"{1000 + i}|t|{title}", f"{1000 + i}|a|{body}"]
        pos = 0
        for mention, kind, ident in mentions:
            start = text.index(mention, pos)
            lines.append(f"{1000 + i}\t{start}\t{start + len(mention)}\t{mention}\t{kind}\t{ident}")
            pos = start + len(mention)
        lines += [f"{1000 + i}\tCID\t{c}\t{d}" for c, d in sorted(relations)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n"


@pytest.fixture(scope="session")
def tiny_literature_bundle(tmp_path_factory):
    from medcore.literature.train import train_literature_model

    data = tmp_path_factory.mktemp("literature-data")
    (data / "literature").mkdir()
    (data / "literature" / "CDR_TrainingSet.PubTator.txt").write_text(pubtator(range(150)), encoding="utf-8")
    (data / "literature" / "CDR_DevelopmentSet.PubTator.txt").write_text(pubtator(range(150, 180)), encoding="utf-8")
    out = tmp_path_factory.mktemp("literature-model") / "literature-extraction"
    return train_literature_model("literature-extraction", data, epochs=8, seed=0, out_dir=out)


@pytest.fixture(scope="session")
def tiny_literature_model(tiny_literature_bundle):
    from medcore.core.registry import verify_bundle
    from medcore.literature.model import load_literature_model

    return load_literature_model(tiny_literature_bundle, verify_bundle(tiny_literature_bundle))
