"""Symptom assessment: findings from a patient's words or ticks -> triage level, differential, next questions.

``model.py`` (``AssessmentModel``), ``extract.py`` (the findings reader), ``knowledge.py`` (the
reviewed tables in ``knowledge/``), ``train.py`` (the bundle), ``evaluate.py`` (vignette figures).
"""
