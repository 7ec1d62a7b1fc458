"""The molecule model's contract on tiny bundles trained in the test session (labels RDKit can compute)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medcore import InvalidInputError
from tests.molecules.conftest import labelled

pytestmark = pytest.mark.slow


def test_the_card_records_every_candidate_and_ships_by_the_declared_rule(tiny_bundles):
    from medcore.molecules.train import MARGIN, _choose

    for name, headline in (("drug-esol", "rmse"), ("drug-bbbp", "auc")):
        card = json.loads((tiny_bundles[name] / "card.json").read_text())
        evaluation = json.loads((tiny_bundles[name] / "evaluation.json").read_text())
        figures = evaluation["candidates"]
        assert set(figures) == {"forest", "network", "ensemble"}
        assert card["architecture"]["predictor"] == _choose(figures, headline)
        validation = card["metrics"]["validation"]
        assert validation[headline] == figures[card["architecture"]["predictor"]][headline]
        low, high = validation[f"{headline}_ci95"]
        assert low <= validation[headline] <= high
        assert card["domain_check"]["validation"]["n_genuine"] == validation["n"]
    # The rule itself: a single model must beat the ensemble by more than the margin.
    close = {"forest": {"auc": 0.805}, "network": {"auc": 0.70}, "ensemble": {"auc": 0.80}}
    assert _choose(close, "auc") == "ensemble"
    clear = {"forest": {"auc": 0.80 + MARGIN["auc"] + 0.01}, "network": {"auc": 0.70}, "ensemble": {"auc": 0.80}}
    assert _choose(clear, "auc") == "forest"
    assert _choose({"forest": {"rmse": 1.0}, "network": {"rmse": 0.7}, "ensemble": {"rmse": 0.8}}, "rmse") == "network"


def test_predictions_learn_the_computable_labels(tiny_molecule_models):
    from rdkit.Chem import Crippen

    from medcore.molecules.chem import parse

    frame = labelled("esol")
    valid = frame[frame["split"] == "valid"]
    predicted = tiny_molecule_models["drug-esol"].predict(list(valid["smiles"]))
    assert predicted.shape == (len(valid), 1)
    truth = valid["log_solubility_mol_per_L"].to_numpy()
    assert np.corrcoef(predicted[:, 0], truth)[0, 1] > 0.8
    bbbp = tiny_molecule_models["drug-bbbp"]
    probability = bbbp.predict(["CCCCCCCC", "OC(=O)CC(O)C(=O)O"])[:, 0]
    assert probability[0] > 0.5 > probability[1]  # no polar surface vs. very polar
    assert np.all((probability >= 0) & (probability <= 1))
    assert -Crippen.MolLogP(parse("CCCCCCCC").mol) < 0


def test_an_unreadable_smiles_in_predict_names_it_and_its_position(tiny_molecule_models):
    with pytest.raises(InvalidInputError, match="SMILES #2 'C1CC'"):
        tiny_molecule_models["drug-bbbp"].predict(["CCO", "C1CC"])


def test_analyse_predicts_the_rest_of_a_batch_and_gives_intervals(tiny_molecule_models):
    results = tiny_molecule_models["drug-esol"].analyse(["CCO", "C1CC", "", "Oc1ccccc1.Cl"])
    assert results[1]["error"] and results[2]["error"] and not results[1]["predictions"]
    for result in (results[0], results[3]):
        value = result["predictions"]["log_solubility_mol_per_L"]
        low, high = result["interval"]["log_solubility_mol_per_L"]
        assert low < value < high
    assert "largest" in results[3]["notes"][0]


def test_a_molecule_unlike_the_training_set_gets_no_prediction(tiny_molecule_models):
    model = tiny_molecule_models["drug-bbbp"]
    steroid = "CC12CCC3c4ccc(O)cc4CCC3C1CCC2O"  # estradiol: no such scaffold among the generated molecules
    result = model.analyse([steroid])[0]
    neighbours = model.neighbours(steroid, 3)
    assert result["similarity"] == pytest.approx(neighbours["similarity"])
    if result["out_of_domain"]:
        assert result["predictions"] == {} and "Outside the applicability domain" in result["notes"][-1]
        assert not neighbours["in_domain"] and "Outside" in neighbours["verdict"]
    platinum = model.analyse(["[Pt]"])[0]
    assert platinum["out_of_domain"] and platinum["predictions"] == {}


def test_neighbours_are_the_most_similar_training_molecules_with_labels(tiny_molecule_models):
    model = tiny_molecule_models["drug-bbbp"]
    train = labelled("bbbp")
    train = train[train["split"] == "train"]
    query = train["smiles"].iloc[10]
    found = model.neighbours(query, 4)
    assert found["neighbours"][0]["smiles"] == query and found["neighbours"][0]["similarity"] == pytest.approx(1.0)
    assert found["neighbours"][0]["labels"]["p_np"] == train["p_np"].iloc[10]
    similarities = [n["similarity"] for n in found["neighbours"]]
    assert similarities == sorted(similarities, reverse=True) and found["in_domain"]
    with pytest.raises(InvalidInputError, match="between 1 and 50"):
        model.neighbours(query, 0)


def test_explanations_give_one_contribution_per_atom_pointing_the_right_way(tiny_molecule_models):
    model = tiny_molecule_models["drug-bbbp"]
    explanation = model.explain("OC(=O)c1ccccc1CCCC")
    assert len(explanation["atoms"]) == 13 and explanation["task"] == "p_np"
    if model.predictor in ("forest", "ensemble"):
        # The label is "polar surface area below 30": the acid's oxygens push the probability down.
        oxygens = explanation["atoms"][0] + explanation["atoms"][2]
        assert oxygens < 0
    with pytest.raises(InvalidInputError, match="Unknown task"):
        model.explain("CCO", "toxicity")


def test_evaluation_on_a_labelled_csv(tiny_molecule_models):
    from medcore.molecules.evaluate import evaluate_upload

    frame = labelled("bbbp")
    data = frame[frame["split"] == "valid"].to_csv(index=False).encode()
    result = evaluate_upload(tiny_molecule_models["drug-bbbp"], "mine.csv", data)
    assert result["auc"] > 0.8 and len(result["auc_ci95"]) == 2 and result["per_task"][0]["task"] == "p_np"
    assert result["roc"][0]["auc"] == result["per_task"][0]["auc"] and result["pr"][0]["label"] == "p_np"
    assert len(result["predictions"]) == len(frame[frame["split"] == "valid"])
    with pytest.raises(InvalidInputError, match="lacks the label column"):
        evaluate_upload(tiny_molecule_models["drug-bbbp"], "mine.csv", b"smiles,label\nCCO,1\n")


def test_probabilities_are_the_platt_calibrated_ones(tiny_molecule_models):
    from medcore.molecules.chem import parse
    from medcore.molecules.model import _logit, _sigmoid

    model = tiny_molecule_models["drug-bbbp"]
    smiles = ["CCO", "c1ccccc1N", "OC(=O)CC(O)C(=O)O"]
    mols = [parse(s).mol for s in smiles]
    from medcore.molecules.features import descriptors, fingerprints

    parts = []
    if model.predictor in ("forest", "ensemble"):
        parts.append(model._forest_predict(fingerprints(mols), descriptors(mols)))
    if model.predictor in ("network", "ensemble"):
        parts.append(model._network_predict(mols, model._descriptors(mols)))
    raw = np.mean(parts, axis=0)
    a, b = model._arrays["platt_a"], model._arrays["platt_b"]
    assert not np.allclose([a[0], b[0]], [1.0, 0.0])  # a calibration that does something
    np.testing.assert_allclose(model.predict(smiles), _sigmoid(a * _logit(raw) + b), rtol=1e-6)


def test_bad_arguments_are_invalid_input_not_crashes(tiny_molecule_models):
    model = tiny_molecule_models["drug-esol"]
    for k in ("a", 2.5, True, 0, 51):
        with pytest.raises(InvalidInputError, match="whole number between 1 and 50"):
            model.neighbours("CCO", k)
    from medcore.molecules.evaluate import evaluate_upload

    with pytest.raises(InvalidInputError, match="no measured labels"):
        evaluate_upload(model, "blank.csv", b"smiles,log_solubility_mol_per_L\nCCO,\nCCCO,\nCCCCO,\n")
    result = evaluate_upload(
        model, "gaps.csv", b"smiles,log_solubility_mol_per_L\nCCO,1.1\nCCCO,\nCCCCO,0.0\nCCCCCO,-0.6\n"
    )
    assert result["n"] == 3 and np.isfinite(result["rmse"])


def test_the_explanation_says_which_part_of_the_model_it_explains(tiny_molecule_models):
    model = tiny_molecule_models["drug-bbbp"]
    method = model.explain("CCO")["method"]
    expected = {"ensemble": "forest part of the ensemble", "forest": "forest:", "network": "network:"}
    assert expected[model.predictor] in method
