"""Tiny molecule bundles trained in seconds on generated molecules with learnable labels."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

_GROUPS = ["C", "CC", "O", "N", "Cl", "F", "C(=O)O", "C(=O)N", "OC", "CCCC", "C#N", "S", "Br", "CO"]
_CORES = ["c1ccc({a})cc1{b}", "C1CCC({a})CC1{b}", "c1cnc({a})cc1{b}", "{a}CC{b}", "c1ccc2cc({a})ccc2c1{b}"]


def generated_molecules() -> list[str]:
    """About 900 distinct small molecules: cores with two substituents."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    seen, out = set(), []
    for core, a, b in itertools.product(_CORES, _GROUPS, _GROUPS):
        smiles = core.format(a=a, b=b)
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None and Chem.MolToSmiles(mol) not in seen:
            seen.add(Chem.MolToSmiles(mol))
            out.append(smiles)
    return out


def labelled(kind: str) -> pd.DataFrame:
    """Molecules with a label RDKit can compute (so the models can learn it): logP for the regression
    task, 'polar surface area below 30' for the binary one; the last fifth is the validation part."""
    from rdkit import Chem
    from rdkit.Chem import Crippen, rdMolDescriptors

    smiles = generated_molecules()
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    frame = pd.DataFrame({"smiles": smiles})
    if kind == "esol":
        frame["log_solubility_mol_per_L"] = [round(-Crippen.MolLogP(m), 3) for m in mols]
    else:
        frame["p_np"] = [int(rdMolDescriptors.CalcTPSA(m) < 30) for m in mols]
    frame["split"] = ["valid" if i % 5 == 4 else "train" for i in range(len(frame))]
    return frame


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory):
    """drug-esol and drug-bbbp bundles trained on the generated molecules (a few epochs)."""
    from medcore.molecules.train import train_molecule_model

    folder = tmp_path_factory.mktemp("molecule-data")
    out = tmp_path_factory.mktemp("molecule-models")
    bundles = {}
    for name, kind in (("drug-esol", "esol"), ("drug-bbbp", "bbbp")):
        labelled(kind).to_csv(folder / f"{kind}_trainval.csv", index=False)
        bundles[name] = train_molecule_model(name, folder, epochs=4, seed=0, out_dir=out / name)
    return bundles


@pytest.fixture(scope="session")
def tiny_molecule_models(tiny_bundles):
    from medcore.core.registry import verify_bundle
    from medcore.molecules.model import load_molecule_model

    return {name: load_molecule_model(path, verify_bundle(path)) for name, path in tiny_bundles.items()}
