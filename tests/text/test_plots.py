"""Word highlights are escaped HTML."""

from __future__ import annotations

from medcore.text import plots


def test_highlight_escapes_hostile_tokens():
    text = plots.highlight_html([("<script>alert(1)</script>", 0.9), ("fever", 0.1)])
    assert "<script>" not in text and "&lt;script&gt;" in text
