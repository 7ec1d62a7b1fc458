"""SMILES parsing: salts, mixtures, size limits and unreadable input, each with a message that teaches."""

from __future__ import annotations

import numpy as np
import pytest

from medcore import InvalidInputError
from medcore.molecules.chem import MAX_HEAVY_ATOMS, parse, parse_many
from medcore.molecules.features import ATOM_FEATURES, fingerprints, graphs, morgan_atoms, tanimoto


def test_a_salt_keeps_its_largest_fragment_and_says_so():
    parsed = parse("[Na+].O=C([O-])c1ccccc1")  # the counter-ion first: the largest fragment, not the first
    assert parsed.canonical == "O=C([O-])c1ccccc1"
    assert "2 fragments" in parsed.notes[0] and "only the largest" in parsed.notes[0]
    assert parse("CCO").notes == []


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("C1CC", "not valid SMILES"),
        ("c1cccc1", "cannot sanitise"),
        ("C(C)(C)(C)(C)C", "cannot sanitise"),
        ("C" * (MAX_HEAVY_ATOMS + 1), f"up to {MAX_HEAVY_ATOMS}"),
        ("C" * 1001, "at most 1,000 are accepted"),
        (42, "not text"),
    ],
)
def test_bad_smiles_are_refused_with_what_to_do(smiles, message):
    with pytest.raises(InvalidInputError, match=message):
        parse(smiles, 3)


def test_a_batch_keeps_going_past_bad_smiles_naming_their_position():
    results = parse_many(["CCO", "not-a-smiles", "c1ccccc1"])
    assert results[0].canonical == "CCO" and results[2].canonical == "c1ccccc1"
    assert isinstance(results[1], InvalidInputError) and "SMILES #2" in str(results[1])


def test_features_have_the_documented_shapes():
    mols = [parse(s).mol for s in ("CCO", "c1ccccc1O")]
    fp = fingerprints(mols)
    x, codes, mask = graphs(mols)
    assert fp.shape == (2, 2048) and set(np.unique(fp)) <= {0, 1}
    assert x.shape[2] == ATOM_FEATURES and mask.sum(axis=1).tolist() == [3, 7]
    assert codes[1][codes[1] > 0].tolist().count(4) == 12  # six aromatic bonds, both directions
    assert tanimoto(fp[:1], fp)[0].tolist() == pytest.approx([1.0, tanimoto(fp[:1], fp[1:])[0, 0]])
    centres = morgan_atoms(mols[1])
    assert all(fp[1, bit] == 1 for bit in centres) and max(max(a) for a in centres.values()) == 6


def test_explicit_hydrogens_read_as_the_same_molecule():
    assert parse("[H]OC([H])([H])C([H])([H])[H]").canonical == parse("OCC").canonical
    many = "[H]" + "C([H])([H])" * 60 + "[H]"  # 60 heavy atoms, 182 atoms with the hydrogens
    assert parse(many).mol.GetNumAtoms() == 60
