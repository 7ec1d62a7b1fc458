"""The Drug activity page (AppTest, shipped bundles) and the molecule CLI."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import medcore
from medcore.cli import main
from tests.conftest import PROJECT


def _page() -> AppTest:
    return AppTest.from_file(str(PROJECT / "pages/Drug_Activity.py"), default_timeout=60).run()


def test_an_example_molecule_is_drawn_predicted_and_placed_among_its_neighbours():
    app = _page()
    assert not app.exception
    app.selectbox[0].set_value("drug-bbbp").run()
    app.selectbox[1].set_value("diazepam (crosses the blood-brain barrier)").run()
    assert not app.exception
    model = medcore.load_model("drug-bbbp")
    smiles = "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21"
    result = model.analyse([smiles])[0]
    metrics = {m.label: m.value for m in app.metric}
    if result["out_of_domain"]:
        assert not metrics and any("Outside the applicability domain" in w.value for w in app.warning)
    else:
        # Tasks are named in words (issue 28 item 15), not "P(p_np)".
        assert metrics["Probability it crosses the blood-brain barrier"] == f"{result['predictions']['p_np']:.0%}"
        assert not any("p_np" in label for label in metrics)
    assert len(app.get("imgs")) >= 1 or app.get("image")
    assert any("Tanimoto" in c.value for c in app.caption)
    neighbours = [c.value for c in app.caption if c.value.startswith("Tanimoto")]
    assert neighbours and all("crosses the blood-brain barrier:" in c and "p_np" not in c for c in neighbours)
    assert "Most similar training molecules" in [h.value for h in app.subheader]


def test_an_unreadable_smiles_says_why_and_the_page_keeps_working():
    app = _page()
    app.text_input[0].set_value("C1CC(").run()
    assert not app.exception
    assert any("not valid SMILES" in e.value for e in app.error)
    app.text_input[0].set_value("CCO").run()
    assert not app.exception and not app.error


def test_tox21_shows_every_assay_and_esol_an_interval():
    app = _page()
    app.selectbox[0].set_value("drug-tox21").run()
    app.text_input[0].set_value("Oc1ccc(cc1)C(C)(C)c1ccc(O)cc1").run()  # bisphenol A
    assert not app.exception
    assert app.get("plotly_chart") or any("Outside" in w.value for w in app.warning)
    app.selectbox[0].set_value("drug-esol").run()
    app.text_input[0].set_value("CCCCCCO").run()
    assert not app.exception
    assert any("95 % interval" in str(m.delta) for m in app.metric)


def test_cli_predict_and_evaluate(tmp_path, capsys):
    assert main(["predict", "drug-esol", "CCO", "C1CC(", "--json"]) == 1  # one SMILES failed
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["predictions"]["log_solubility_mol_per_L"] > -2 and "not valid SMILES" in rows[1]["error"]
    labelled = tmp_path / "measured.csv"
    labelled.write_text(
        "smiles,log_solubility_mol_per_L\nCCO,1.1\nc1ccccc1,-1.64\nCCCCCCCC,-5.24\nOCC(O)CO,1.1\nCCCl,-1.1\n"
    )
    assert main(["evaluate", "drug-esol", str(labelled)]) == 0
    out = capsys.readouterr().out
    assert "rmse" in out and "95 % CI" in out
    assert main(["evaluate", "drug-esol", str(tmp_path / "missing.csv")]) == 2


def test_model_evaluation_shows_the_molecule_evidence_and_scores_an_upload():
    app = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("drug-esol").run()
    assert not app.exception
    assert app.get("plotly_chart")  # the parity plot
    upload = b"smiles,log_solubility_mol_per_L\nCCO,1.1\nc1ccccc1,-1.64\nCCCCCCCC,-5.24\nOCC(O)CO,1.1\nnot-smiles,0\n"
    app.file_uploader[0].set_value(("measured.csv", upload, "text/csv")).run()
    assert not app.exception
    shared = app.table[0].value
    assert "rmse" in shared.columns and shared.loc["your data", "n"] == 4
    app.selectbox[0].set_value("drug-tox21").run()
    assert not app.exception and len(app.get("plotly_chart")) >= 3  # ROC, PR, reliability


def test_an_uploaded_bbbp_file_gets_roc_pr_and_reliability():
    app = AppTest.from_file(str(PROJECT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("drug-bbbp").run()
    rows = [
        ("CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21", 1),
        ("CC(C)NCC(O)COc1ccc(CC(N)=O)cc1", 0),
        ("CCN(CC)CC(=O)Nc1c(C)cccc1C", 1),
        ("OC(=O)CC(O)(CC(O)=O)C(O)=O", 0),
        ("CN1CCC[C@H]1c1cccnc1", 1),
        ("NC(=O)c1cnccn1", 0),
    ]
    body = "smiles,p_np\n" + "".join(f"{s},{label}\n" for s, label in rows)
    app.file_uploader[0].set_value(("bbb.csv", body.encode(), "text/csv")).run()
    assert not app.exception
    assert {"own-roc", "own-pr", "own-rel"} <= {chart.key for chart in app.get("plotly_chart")}
    assert any("n=6 molecules scored" in c.value and "auc" in c.value for c in app.caption)


def test_every_task_has_words_and_the_chart_uses_them():
    from medcore.molecules.data import DATASETS, TASK_WORDS
    from medcore.molecules.plots import task_figure

    tasks = [task for dataset in DATASETS.values() for task in dataset.tasks]
    assert set(tasks) <= set(TASK_WORDS) and all(TASK_WORDS[t] != t for t in tasks)
    tox21 = list(DATASETS["drug-tox21"].tasks)
    figure = task_figure({"predictions": {t: 0.1 for t in tox21}}, tox21)
    shown = [label.replace("<br>", " ") for label in figure.data[0].y]  # long names wrap in a narrow column
    assert shown == [TASK_WORDS[t] for t in tox21] and "inhibits aromatase (NR-Aromatase)" in shown
    assert max(len(line) for label in figure.data[0].y for line in label.split("<br>")) <= 28


@pytest.mark.data
def test_evaluating_on_training_molecules_says_the_figures_are_in_sample(data_dir, tmp_path, capsys):
    """Issue 29 item 10: training molecules scored as if they were new evidence."""
    import pandas as pd

    source = data_dir / "molecules" / "esol_trainval.csv"
    assert main(["evaluate", "drug-esol", str(source), "--json"]) == 0
    assert any("own training file" in note for note in json.loads(capsys.readouterr().out)["notes"])
    rows = pd.read_csv(source)
    part = tmp_path / "part.csv"
    rows[rows["split"] == "train"].head(12).drop(columns="split").to_csv(part, index=False)
    assert main(["evaluate", "drug-esol", str(part), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any(note.startswith("12 of the 12 scored molecules are training molecules") for note in notes), notes
    new = tmp_path / "new.csv"
    new.write_text("smiles,log_solubility_mol_per_L\nCCCCCCCCCCCCCCCCCCCCO,-7.0\nCC(C)Cc1ccc(C(C)C(=O)O)cc1,-3.6\n")
    main(["evaluate", "drug-esol", str(new), "--json"])
    assert not any("training" in note for note in json.loads(capsys.readouterr().out).get("notes", []))
