"""Survival and risk prediction: a patient's covariates -> survival curve with a band, risk percentile,
each covariate's contribution and treatment what-ifs.

``data.py`` describes the three cohorts' covariates and reads tables (refusing bad values by
column and row); ``families.py`` holds the Cox, boosted-tree and DeepSurv risk functions with
their Breslow baseline; ``metrics.py`` the C-index, time-dependent AUC, integrated Brier score
and calibration; ``model.py`` the loaded model; ``train.py`` the cross-validated choice among
the families; ``evaluate.py`` evaluation on a labelled CSV; ``plots.py`` the figures;
``inputs.py`` the page's batch reader (bad rows listed, IDs and unit-labelled headers kept),
templates, and the METABRIC gene values a clinic may not have.
"""
