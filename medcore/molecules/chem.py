"""SMILES in, checked RDKit molecules out: parsing, salts and mixtures, size limits, messages that teach.

Every SMILES goes through ``parse``: surrounding whitespace stripped, empty or over-long strings
refused, RDKit parsing and sanitisation (a failure names the SMILES and its position), the
largest fragment kept when the SMILES holds several (salts, mixtures; a note says so), and
molecules with more than ``MAX_HEAVY_ATOMS`` heavy atoms refused. When what is left is only a
counter-ion (``COUNTER_IONS``: sodium, chloride, acetate, mesylate... alone, or all a salt held), the
result names it in ``counter_ion``: the models describe drugs, not the ions salts are made with, so
they give it no prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medcore.core.errors import InvalidInputError

__all__ = [
    "MAX_HEAVY_ATOMS",
    "MAX_SMILES_CHARS",
    "COUNTER_IONS",
    "Parsed",
    "parse",
    "parse_many",
    "canonical",
    "counter_ion_of",
]

MAX_HEAVY_ATOMS = 100  # larger molecules (peptides, polymers) are outside what the models learnt
MAX_SMILES_CHARS = 1_000
# Ions that pharmaceutical salts are made with (and the hydrogen halides of hydrochlorides etc.): alone,
# they are not the drug. Matched on RDKit's canonical SMILES without stereo, so cis/trans and D/L count.
COUNTER_IONS: dict[str, str] = {
    "[Na+]": "sodium",
    "[K+]": "potassium",
    "[Li+]": "lithium",
    "[Ca+2]": "calcium",
    "[Mg+2]": "magnesium",
    "[Zn+2]": "zinc",
    "[NH4+]": "ammonium",
    "[F-]": "fluoride",
    "[Cl-]": "chloride",
    "[Br-]": "bromide",
    "[I-]": "iodide",
    "Cl": "hydrogen chloride",
    "Br": "hydrogen bromide",
    "I": "hydrogen iodide",
    "[OH-]": "hydroxide",
    "CC(=O)[O-]": "acetate",
    "O=C[O-]": "formate",
    "O=C([O-])C(F)(F)F": "trifluoroacetate",
    "CS(=O)(=O)[O-]": "mesylate (methanesulfonate)",
    "CCS(=O)(=O)[O-]": "esylate (ethanesulfonate)",
    "O=S(=O)([O-])c1ccccc1": "besylate (benzenesulfonate)",
    "Cc1ccc(S(=O)(=O)[O-])cc1": "tosylate (toluenesulfonate)",
    "O=S(=O)([O-])[O-]": "sulfate",
    "O=S(=O)([O-])O": "hydrogen sulfate",
    "O=[N+]([O-])[O-]": "nitrate",
    "O=P([O-])([O-])[O-]": "phosphate",
    "O=P([O-])([O-])O": "hydrogen phosphate",
    "O=P([O-])(O)O": "dihydrogen phosphate",
    "O=C([O-])[O-]": "carbonate",
    "O=C([O-])O": "hydrogen carbonate",
    "O=Cl(=O)(=O)[O-]": "perchlorate",
    "O=C([O-])C=CC(=O)O": "maleate or fumarate",
    "O=C([O-])C=CC(=O)[O-]": "maleate or fumarate",
    "O=C([O-])CCC(=O)O": "succinate",
    "O=C([O-])CCC(=O)[O-]": "succinate",
    "O=C([O-])C(O)C(O)C(=O)O": "tartrate",
    "O=C([O-])C(O)C(O)C(=O)[O-]": "tartrate",
    "O=C([O-])C(=O)O": "oxalate",
    "O=C([O-])C(=O)[O-]": "oxalate",
    "O=C([O-])CC(O)(CC(=O)O)C(=O)O": "citrate",
    "O=C([O-])CC(O)(CC(=O)[O-])C(=O)[O-]": "citrate",
    "CC(O)C(=O)[O-]": "lactate",
}


@dataclass
class Parsed:
    """One parsed molecule: the RDKit Mol of its largest fragment, its canonical SMILES and notes."""

    smiles: str
    mol: object
    canonical: str
    notes: list[str] = field(default_factory=list)
    counter_ion: str | None = None  # the ion's name when the molecule is only a counter-ion (no prediction)


def _quiet() -> None:
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")


def parse(smiles: str, position: int = 0) -> Parsed:
    """Parse one SMILES (``position``: 1-based place in its list, for messages).

    Raises:
        InvalidInputError: not a string, empty, too long, unparsable or unsanitisable by RDKit,
            or too many heavy atoms.
    """
    from rdkit import Chem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    _quiet()
    where = f"SMILES #{position}" if position else "The SMILES"
    if not isinstance(smiles, str):
        raise InvalidInputError(f"{where} is a {type(smiles).__name__}, not text. Pass SMILES strings such as 'CCO'.")
    text = smiles.strip()
    if not text:
        raise InvalidInputError(f"{where} is empty. Type a SMILES such as 'CC(=O)Oc1ccccc1C(=O)O' (aspirin).")
    shown = text if len(text) <= 60 else text[:57] + "..."
    if len(text) > MAX_SMILES_CHARS:
        raise InvalidInputError(
            f"{where} has {len(text):,} characters; at most {MAX_SMILES_CHARS:,} are accepted (small molecules only)."
        )
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        raise InvalidInputError(
            f"{where} '{shown}' is not valid SMILES (RDKit could not parse it: check brackets, ring-closure "
            "digits and element symbols)."
        )
    try:
        Chem.SanitizeMol(mol)
    except Exception as err:  # noqa: BLE001 - RDKit raises several sanitisation error types
        raise InvalidInputError(
            f"{where} '{shown}' describes a molecule RDKit cannot sanitise ({str(err).splitlines()[0][:120]}): "
            "check valences and charges; metal complexes are not supported."
        ) from None
    mol = Chem.RemoveHs(mol)  # explicit [H] atoms written out in the SMILES are implicit hydrogens
    notes = []
    fragments = Chem.GetMolFrags(mol, asMols=True)
    if len(fragments) > 1:
        mol = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
    ion = counter_ion_of(mol)
    if ion:
        left = f"What is left of its {len(fragments)} fragments, " if len(fragments) > 1 else ""
        notes.append(
            f"{left}{Chem.MolToSmiles(mol)}{',' if left else ''} is only a counter-ion ({ion}): an ion salts are "
            "made with, not a drug, so no prediction. Enter the active molecule (with or without its counter-ion)."
        )
    elif len(fragments) > 1:
        notes.append(
            f"{len(fragments)} fragments (a salt or mixture): only the largest, {Chem.MolToSmiles(mol)}, is analysed."
        )
    atoms = mol.GetNumAtoms()  # after RemoveHs: heavy atoms (and the rare hydrogen RDKit must keep)
    if mol.GetNumHeavyAtoms() == 0:
        raise InvalidInputError(f"{where} '{shown}' has no heavy atoms; pass a molecule.")
    if atoms > MAX_HEAVY_ATOMS:
        raise InvalidInputError(
            f"{where} '{shown}' has {atoms} heavy atoms; the models know small molecules up to {MAX_HEAVY_ATOMS}."
        )
    return Parsed(text, mol, Chem.MolToSmiles(mol), notes, ion)


def counter_ion_of(mol) -> str | None:
    """The name of the counter-ion ``mol`` is (one fragment, e.g. acetate), or None for anything else."""
    from rdkit import Chem

    return _counter_ions().get(Chem.MolToSmiles(mol, isomericSmiles=False))


def _counter_ions() -> dict[str, str]:
    """``COUNTER_IONS`` keyed by RDKit's own canonical SMILES (built once)."""
    global _CANONICAL_IONS
    if _CANONICAL_IONS is None:
        from rdkit import Chem

        _CANONICAL_IONS = {
            Chem.MolToSmiles(Chem.MolFromSmiles(smiles), isomericSmiles=False): name
            for smiles, name in COUNTER_IONS.items()
        }
    return _CANONICAL_IONS


_CANONICAL_IONS: dict[str, str] | None = None


def parse_many(smiles: list[str]) -> list[Parsed | InvalidInputError]:
    """``parse`` each SMILES; a bad one becomes its ``InvalidInputError`` so the others still go through."""
    out: list[Parsed | InvalidInputError] = []
    for position, text in enumerate(smiles, start=1):
        try:
            out.append(parse(text, position))
        except InvalidInputError as err:
            out.append(err)
    return out


def canonical(smiles: str) -> str:
    """RDKit's canonical SMILES of the largest fragment (raises as ``parse``)."""
    return parse(smiles).canonical
