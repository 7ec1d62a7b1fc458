"""Text figures: the words of a text shaded by how much each moved the result."""

from __future__ import annotations

__all__ = ["highlight_html"]


def highlight_html(token_weights: list[tuple[str, float]]) -> str:
    """Text with each token's background shaded by its weight (red pushes towards the class).

    Every token is HTML-escaped, so hostile text cannot inject markup.
    """
    import html

    peak = max((abs(w) for _, w in token_weights), default=0.0) or 1.0
    spans = []
    for token, weight in token_weights:
        strength = min(1.0, abs(weight) / peak)
        colour = (
            f"rgba(192, 57, 43, {strength * 0.8:.2f})" if weight > 0 else f"rgba(46, 134, 193, {strength * 0.5:.2f})"
        )
        spans.append(
            f'<span style="background:{colour};padding:1px 2px;border-radius:3px" '
            f'title="{weight:+.3f}">{html.escape(token)}</span>'
        )
    return '<div style="line-height:2">' + " ".join(spans) + "</div>"
