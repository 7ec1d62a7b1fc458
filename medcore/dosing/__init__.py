"""Genotype-guided warfarin dosing: a starting weekly dose from clinical factors and CYP2C9 / VKORC1
genotypes, with a 95 % interval, each factor's effect and the published IWPC algorithms beside it.

``data.py`` reads IWPC-named tables (refusing implausible values) and builds the patient factors
(VKORC1 imputed by the IWPC rules); ``iwpc.py`` holds the published algorithms; ``model.py`` the
loaded model; ``train.py`` the cross-validated choice among ridge, boosted trees, a Keras network and
their mean; ``evaluate.py`` evaluation on a labelled CSV; ``plots.py`` the waterfall and calibration;
``tablets.py`` a week of whole tablets of the strengths stocked; ``template.py`` the batch CSV template and key.
"""
