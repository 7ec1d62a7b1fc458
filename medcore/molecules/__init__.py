"""Drug activity from molecular structure: SMILES -> predicted properties, per-atom contributions,
nearest training molecules and an applicability-domain verdict.

``chem.py`` parses SMILES (largest fragment, size limits); ``features.py`` computes Morgan bits,
RDKit descriptors and atom graphs; ``network.py`` is the Keras graph network; ``model.py`` the
loaded model; ``data.py`` the MoleculeNet sets and CSV readers; ``train.py`` the forest / network /
ensemble choice on the validation scaffolds; ``evaluate.py`` evaluation on a labelled CSV;
``plots.py`` the drawings and charts.
"""
