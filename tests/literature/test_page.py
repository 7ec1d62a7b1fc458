"""The Literature extraction page (AppTest, shipped bundle) and the literature CLI."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

import medcore
from medcore.cli import main
from medcore.literature.data import EXAMPLES
from tests.conftest import PROJECT
from tests.literature.conftest import pubtator
from tests.literature.test_model import GERMAN


def _page() -> AppTest:
    return AppTest.from_file(str(PROJECT / "pages/Literature_Extraction.py"), default_timeout=60).run()


def _extract(app: AppTest, text: str) -> None:
    app.text_area[0].input(text)
    next(b for b in app.button if b.label == "Extract").click()
    app.run()


def test_an_example_abstract_is_highlighted_with_its_relations():
    app = _page()
    assert not app.exception
    assert any("Paste a text" in i.value for i in app.info)
    example = "drug side effect (abstract)"
    next(b for b in app.button if b.label == f"Example: {example}").click().run()
    assert not app.exception
    result = medcore.load_model("literature-extraction").extract(EXAMPLES[example])
    shown = " ".join(element.proto.body for element in app.get("html"))
    for e in result["entities"]:  # every mention the model finds is marked, with its type
        assert f'class="medcore-{e["type"].lower()}"' in shown and f">{e['text']}</mark>" in shown
    assert shown.count("<mark") == len(result["entities"]) > 0
    if result["relations"]:
        table = app.dataframe[0].value
        assert list(table["score"]) == [r["score"] for r in result["relations"]]
    assert any("F1" in c.value and "95 % CI" in c.value for c in app.caption)


def test_identifiers_are_masked_and_another_language_is_refused():
    app = _page()
    next(b for b in app.button if b.label == "Example: clinical note (with identifiers)").click().run()
    assert any("Masked before extraction" in i.value for i in app.info)
    shown = " ".join(element.proto.body for element in app.get("html"))
    assert "020 7946 0958" not in shown and "Alan Smith" not in shown and "haloperidol" in shown.lower()
    _extract(app, GERMAN)
    assert not app.exception
    assert any("does not look like English" in w.value for w in app.warning)
    assert not app.get("html")


def test_a_batch_file_gives_the_frequent_pairs_and_downloads():
    app = _page()
    data = pubtator(range(3)).encode()
    app.file_uploader[0].set_value(("abstracts.txt", data, "text/plain")).run()
    assert not app.exception
    assert any("3 texts" in c.value for c in app.caption)
    assert app.get("download_button")
    bad = b"1|t|Title.\n1\tnot a line\n"
    app.file_uploader[0].set_value(("bad.txt", bad, "text/plain")).run()
    assert not app.exception and any("line 2" in e.value for e in app.error)


def test_cli_predict_and_evaluate(tmp_path, capsys):
    assert main(["predict", "literature-extraction", EXAMPLES["case report"], "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["entities"] and all(EXAMPLES["case report"][e["start"] : e["end"]] == e["text"] for e in row["entities"])
    path = tmp_path / "mini.PubTator.txt"
    path.write_text(pubtator(range(4)))
    assert main(["evaluate", "literature-extraction", str(path)]) == 0
    out = capsys.readouterr().out
    assert "strict chemical" in out and "CID relations (end to end)" in out and "95 % bootstrap" in out
    assert main(["evaluate", "literature-extraction", str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] == 4 and 0 <= figures["strict_chemical_f1"] <= 1
    path.write_text("1|t|Title.\n1\t0\t5\tTitle\tDrug\tD1\n")
    assert main(["evaluate", "literature-extraction", str(path)]) == 2
    assert "line 2" in capsys.readouterr().err
