"""What every capability shares, and nothing capability-specific.

Bundles (``bundle``: write, sha256), the registry (``registry``: find, verify and load a
bundle; the one table from a card's ``kind`` to its capability), settings and ``LIMITS``,
errors, input size checks (``validate``), the audit log, access (password hashes), metrics,
calibration, card text (``cards``), the generic plotly figures (``plots``) and the
evaluation path every classifier shares (``evaluate``). Nothing here imports a capability
or streamlit; ``registry`` names the capability packages as strings in its table.
"""
