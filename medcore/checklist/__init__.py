"""Symptom checklist: ticked symptoms -> differential diagnosis, next questions and a triage hint
(``model``), the disease-symptom tables (``data``), training (``train``) and evaluation (``evaluate``).
"""
