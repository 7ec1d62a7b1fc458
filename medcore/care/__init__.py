"""Care recommendation: a patient's history -> the services likely needed next (``model``), over
collaborative-filtering scores (``collaborative``); Synthea readers and the temporal protocol's
queries (``data``), training (``train``), evaluation (``evaluate``) and figures (``plots``).
"""
