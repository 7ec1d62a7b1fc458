"""Molecule features: Morgan (ECFP4) fingerprints, RDKit 2D descriptors, and atom graphs for the network."""

from __future__ import annotations

import numpy as np

__all__ = [
    "FP_BITS",
    "MAX_ATOMS",
    "ATOM_FEATURES",
    "fingerprints",
    "descriptor_names",
    "descriptors",
    "morgan_atoms",
    "graphs",
    "tanimoto",
]

FP_BITS = 2048
FP_RADIUS = 2
MAX_ATOMS = 100  # = chem.MAX_HEAVY_ATOMS: graphs are padded to this many atoms
_ELEMENTS = (
    "C",
    "N",
    "O",
    "S",
    "F",
    "Cl",
    "Br",
    "I",
    "P",
    "B",
    "Si",
    "Se",
    "Na",
    "K",
    "Ca",
    "Fe",
    "Zn",
    "Sn",
    "As",
    "Hg",
)
_HYBRID = ("SP", "SP2", "SP3", "SP3D", "SP3D2")
ATOM_FEATURES = (len(_ELEMENTS) + 1) + 6 + 5 + 5 + (len(_HYBRID) + 1) + 3  # one-hots with "other", then 3 scalars
BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")


def _generator():
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=FP_RADIUS, fpSize=FP_BITS)


def fingerprints(mols: list) -> np.ndarray:
    """Morgan radius-2 bit vectors (N, 2048) uint8."""
    generator = _generator()
    return np.array([generator.GetFingerprintAsNumPy(mol) for mol in mols], dtype=np.uint8).reshape(len(mols), FP_BITS)


def descriptor_names() -> list[str]:
    """The RDKit 2D descriptors used (RDKit's descriptor list, in its order)."""
    from rdkit.Chem import Descriptors

    return [name for name, _ in Descriptors.descList]


def descriptors(mols: list) -> np.ndarray:
    """RDKit 2D descriptors (N, D) float32; non-finite values become 0 (and are rare)."""
    from rdkit.Chem import Descriptors

    rows = []
    for mol in mols:
        values = Descriptors.CalcMolDescriptors(mol, missingVal=0.0)
        rows.append([values[name] for name in descriptor_names()])
    out = np.asarray(rows, dtype=np.float64).reshape(len(mols), -1)
    out[~np.isfinite(out)] = 0.0
    return np.clip(out, -1e6, 1e6).astype(np.float32)


def morgan_atoms(mol) -> dict[int, list[int]]:
    """Fingerprint bit -> the atoms at the centre of the environments that set it."""
    from rdkit.Chem import rdFingerprintGenerator

    info = rdFingerprintGenerator.AdditionalOutput()
    info.AllocateBitInfoMap()
    _generator().GetFingerprint(mol, additionalOutput=info)
    return {bit: sorted({atom for atom, _ in places}) for bit, places in info.GetBitInfoMap().items()}


def _one_hot(value, choices) -> list[float]:
    return [float(value == c) for c in choices] + [float(value not in choices)]


def _atom_vector(atom) -> list[float]:
    return (
        _one_hot(atom.GetSymbol(), _ELEMENTS)
        + _one_hot(min(atom.GetDegree(), 5), range(5))
        + _one_hot(atom.GetFormalCharge(), (-2, -1, 0, 1))
        + _one_hot(min(atom.GetTotalNumHs(), 4), range(4))
        + _one_hot(str(atom.GetHybridization()), _HYBRID)
        + [float(atom.GetIsAromatic()), float(atom.IsInRing()), atom.GetMass() / 100.0]
    )


def graphs(mols: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded atom graphs: features (N, A, F) float32, bond-type codes (N, A, A) uint8 (0 none, 1 single,
    2 double, 3 triple, 4 aromatic) and the atom mask (N, A); A = ``MAX_ATOMS``."""
    n = len(mols)
    x = np.zeros((n, MAX_ATOMS, ATOM_FEATURES), dtype=np.float32)
    codes = np.zeros((n, MAX_ATOMS, MAX_ATOMS), dtype=np.uint8)
    mask = np.zeros((n, MAX_ATOMS), dtype=np.float32)
    for i, mol in enumerate(mols):
        atoms = mol.GetNumAtoms()
        if atoms > MAX_ATOMS:
            raise ValueError(f"molecule {i} has {atoms} atoms; parse() caps them at {MAX_ATOMS}")
        for atom in mol.GetAtoms():
            x[i, atom.GetIdx()] = _atom_vector(atom)
        mask[i, :atoms] = 1.0
        for bond in mol.GetBonds():
            kind = str(bond.GetBondType())
            code = BOND_TYPES.index(kind) + 1 if kind in BOND_TYPES else 1
            a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            codes[i, a, b] = codes[i, b, a] = code
    return x, codes, mask


def tanimoto(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Tanimoto similarity (Q, R) between bit-vector rows (uint8 0/1)."""
    q = query.astype(np.float32)
    r = reference.astype(np.float32)
    shared = q @ r.T
    union = q.sum(1)[:, None] + r.sum(1)[None, :] - shared
    return np.where(union > 0, shared / np.maximum(union, 1), 0.0)
