"""Issue 28 item 16, every screen tells the truth: numbers are never masked as identifiers, a masking tag
is never a mention, "in the title" only when there is a title, and the why and evidence cells are shown
in full (shipped bundle; the page through AppTest)."""

from __future__ import annotations

import numpy as np
import pytest

import medcore
from medcore.core.deid import mask_identifiers as mask
from medcore.literature.data import EXAMPLES
from medcore.literature.masking import placeholder_spans
from medcore.literature.relations import FEATURES, reasons
from medcore.ui.literature import plain
from tests.literature.conftest import pubtator
from tests.literature.test_page import _extract, _page

ABSTRACT = EXAMPLES["drug side effect (abstract)"]
TITLE_END = ABSTRACT.index(". ") + 1  # "Cisplatin-induced nephrotoxicity in children with osteosarcoma."


@pytest.mark.parametrize(
    "text",
    [
        "HR 0.62 (95% CI 0.33-0.81), p=0.002",
        "95 % CI 0.33-0.81",
        "the interval was 0.33-0.81.",
        "5 mg/kg",
        "1.5-2.0",
        "2.5-10.0",
        "doses of 10-20-30 mg",
        "12 345 678 patients",
        "p<.001",
        "12/2019",
    ],
)
def test_numbers_doses_intervals_and_p_values_are_never_masked(text):
    assert mask(text) == (text, [])


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("seen on 12/03/2019 in clinic", "seen on [DATE] in clinic"),
        ("seen on 03.04.2025, 0.5 mg", "seen on [DATE], 0.5 mg"),
        ("Dr Alan Smith gave 2.5 mg", "[NAME] gave 2.5 mg"),
        ("phone 020 7946 0958", "phone [PHONE]"),
        ("call 555 123 4567", "call [PHONE]"),
        ("NHS number 943 476 5919", "NHS number [NHS]"),
    ],
)
def test_identifiers_beside_numbers_are_still_masked(text, masked):
    assert mask(text)[0] == masked


def test_the_page_keeps_the_confidence_interval_and_masks_the_date():
    app = _page()
    text = (
        "Seen by Dr. Alan Smith on 03/04/2025. Haloperidol 5 mg/kg was followed by parkinsonism "
        "(HR 0.62 (95% CI 0.33-0.81), p=0.002)."
    )
    _extract(app, text)
    assert not app.exception
    assert any(
        i.value.startswith("Masked before extraction: 1 date, 1 name. Names are caught only after") for i in app.info
    )
    shown = " ".join(element.proto.body for element in app.get("html"))
    assert "(HR 0.62 (95% CI 0.33-0.81), p=0.002)" in shown and "5 mg/kg" in shown
    assert shown.count("[DATE]") == 1 and "0.[DATE]" not in shown and "Alan Smith" not in shown


def test_a_masking_tag_is_never_a_mention():
    model = medcore.load_model("literature-extraction")
    text = (
        "Seen by [NAME] on [DATE], phone [PHONE]. [NAME] started haloperidol last week and now has rigidity and "
        "tremor consistent with drug-induced parkinsonism. [NAME] was given cisplatin and developed [NAME] "
        "nephrotoxicity."
    )
    result = model.extract(text)
    tags = placeholder_spans(text)
    assert len(tags) == 6
    for e in result["entities"]:
        assert not any(e["start"] < b and a < e["end"] for a, b in tags), e
        assert "NAME" not in e["text"] and "[" not in e["text"]
    found = {e["text"].lower() for e in result["entities"]}
    assert {"haloperidol", "cisplatin", "nephrotoxicity"} <= found  # the real mentions are still there
    # A bracketed name the model knows (a concentration such as [ATP]) is not a tag.
    assert placeholder_spans("[NAME] measured [ATP]", lambda word: word == "ATP") == [(0, 6)]


def test_the_example_note_marks_no_tag_on_the_page():
    app = _page()
    next(b for b in app.button if b.label == "Example: clinical note (with identifiers)").click().run()
    shown = " ".join(element.proto.body for element in app.get("html"))
    assert "[NAME]" in shown and ">NAME</mark>" not in shown and "[NAME]</mark>" not in shown
    assert ">[</mark>" not in shown and "haloperidol</mark>" in shown.lower()


def test_in_the_title_only_when_there_is_a_title():
    features = np.zeros(len(FEATURES))
    features[FEATURES.index("chemical in title")] = features[FEATURES.index("disease in title")] = 1
    assert reasons(features) == ["chemical in the title", "disease in the title"]
    assert reasons(features, titled=False) == ["chemical in the first sentence", "disease in the first sentence"]
    model = medcore.load_model("literature-extraction")
    pasted = model.extract(ABSTRACT)  # no title: the first sentence stands in
    why = [w for r in pasted["relations"] for w in r["why"]]
    assert not any("title" in w for w in why) and "chemical in the first sentence" in why
    (titled,) = model.extract_many([ABSTRACT], [TITLE_END])
    assert "chemical in the title" in [w for r in titled["relations"] for w in r["why"]]


def test_why_and_evidence_are_shown_in_full_in_a_table_that_wraps():
    app = _page()
    next(b for b in app.button if b.label == "Example: drug side effect (abstract)").click().run()
    assert not app.exception
    result = medcore.load_model("literature-extraction").extract(ABSTRACT)
    assert result["relations"]
    # st.table lays every cell out in full (it wraps); st.dataframe would cut long cells.
    table = app.table[0].value
    assert list(table.columns) == ["chemical", "disease", "score", "why", "evidence"]
    for row, r in zip(table.to_dict("records"), result["relations"]):
        evidence = " … ".join(ABSTRACT[a:b] for a, b in r["evidence"])
        assert len(evidence) > 80  # long enough that a dataframe cell would have cut it
        assert row["evidence"] == plain(evidence) and row["evidence"].replace("\\", "") == evidence
        assert row["why"].replace("\\", "") == "; ".join(r["why"]) or (not r["why"] and "no named sign" in row["why"])
    assert not any({"why", "evidence"} & set(frame.value.columns) for frame in app.dataframe)
    assert not any("title" in w for w in table["why"])  # a pasted text has no title
    assert plain("'<chemical>-induced <disease>' ~5 $ *") == r"'\<chemical\>-induced \<disease\>' \~5 \$ \*"


def test_a_batch_shows_each_relation_with_its_full_evidence():
    from medcore.literature.data import read_texts
    from medcore.ui.literature import relation_rows

    data = pubtator(range(3)).encode()
    names, _, docs = read_texts("abstracts.txt", data)
    expected = [
        {key: plain(str(value)) for key, value in row.items()}
        for name, doc, result in zip(
            names,
            docs,
            medcore.load_model("literature-extraction").extract_many(
                [d.text for d in docs], [d.title_end for d in docs]
            ),
        )
        for row in relation_rows(doc.text, result["relations"], name)
    ]
    app = _page()
    app.file_uploader[0].set_value(("abstracts.txt", data, "text/plain")).run()
    assert not app.exception and expected
    assert "Relations with their reasons and evidence" in [h.value for h in app.subheader]
    assert app.table[0].value.to_dict("records") == expected  # every cell in full
    assert any("in the title" in row["why"] for row in expected)  # PubTator abstracts have titles
    assert not any({"why", "evidence"} & set(frame.value.columns) for frame in app.dataframe)


PLANTED = (
    "Mr John Smith (MRN 12345678, phone 020 7946 0958) developed hepatitis after isoniazid; "
    "ALT fell from 1,250 to 85 U/L (95% CI 0.33-0.81)."
)
LEAKS = ("John Smith", "12345678", "7946 0958")


def test_every_path_masks_a_planted_name_phone_and_record_number(tmp_path, capsys):
    """Issue 29 item 2: the model masks whatever path the text came by (Python API, CLI, a file; the
    service in tests/api/test_service.py)."""
    from medcore.cli import main

    model = medcore.load_model("literature-extraction")
    result = model.extract(PLANTED)
    assert {f["kind"] for f in result["masked"]} >= {"name", "phone number", "record number"}
    assert not any(leak in result["masked_text"] for leak in LEAKS) and "0.33-0.81" in result["masked_text"]
    assert all(result["masked_text"][e["start"] : e["end"]] == e["text"] for e in result["entities"])
    assert any(e["text"].lower() == "isoniazid" for e in result["entities"])
    path = tmp_path / "notes.csv"
    path.write_text('text\n"' + PLANTED + '"\n')
    for inputs in ([PLANTED], [str(path)]):
        assert main(["predict", "literature-extraction", *inputs, "--json"]) == 0
        out = capsys.readouterr().out
        assert not any(leak in out for leak in LEAKS) and "Masked before extraction" in out
        assert main(["predict", "literature-extraction", *inputs]) == 0
        assert not any(leak in capsys.readouterr().out for leak in LEAKS)
    assert medcore.load_model("literature-extraction").extract_many([PLANTED], mask=False)[0].get("masked") is None
