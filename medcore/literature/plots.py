"""The literature page's pictures: the text with its mentions highlighted, scores per measure, frequent pairs."""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go

__all__ = ["COLOURS", "highlight_html", "scores_figure", "pairs_figure", "wilson"]

COLOURS = {"Chemical": "#cfe2ff", "Disease": "#ffd6d6"}
_BORDER = {"Chemical": "#1f5fbf", "Disease": "#b02a2a"}


def highlight_html(text: str, entities: list[dict]) -> str:
    """``text`` as HTML (escaped) with each mention marked by type; the MeSH id and score on hover."""
    parts, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < pos:
            continue
        parts.append(html.escape(text[pos : e["start"]]))
        tip = f"{e['type']} · MeSH {e['id'] or 'unknown'} · score {e['score']:.2f}"
        parts.append(
            f'<mark class="medcore-{e["type"].lower()}" title="{html.escape(tip)}" '
            f'style="background:{COLOURS[e["type"]]};border-bottom:2px solid {_BORDER[e["type"]]};'
            f'padding:0 2px;border-radius:3px">{html.escape(text[e["start"] : e["end"]])}</mark>'
        )
        pos = e["end"]
    parts.append(html.escape(text[pos:]))
    legend = " ".join(
        f'<span style="background:{COLOURS[t]};border-bottom:2px solid {_BORDER[t]};padding:0 4px">{t}</span>'
        for t in COLOURS
    )
    body = "".join(parts).replace("\n", "<br>")
    return f'<div style="line-height:1.8">{legend}<br><br>{body}</div>'


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def scores_figure(rows: list[dict], n: int) -> go.Figure:
    """Precision, recall and F1 per measure with 95 % interval bars (rows of ``per_type_rows``)."""
    fig = go.Figure()
    names = [r["measure"] for r in rows]
    for metric, colour in (("precision", "#6c8ebf"), ("recall", "#82b366"), ("f1", "#d79b00")):
        values = [r[metric] for r in rows]
        lows = [r[metric] - r[f"{metric}_ci95"][0] for r in rows]
        highs = [r[f"{metric}_ci95"][1] - r[metric] for r in rows]
        fig.add_bar(
            x=names,
            y=values,
            name=metric,
            marker_color=colour,
            error_y={"type": "data", "array": highs, "arrayminus": lows},
            hovertemplate="%{x}: " + metric + " %{y:.3f}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        title=f"Precision, recall and F1 (95 % intervals, n={n} abstracts)",
        yaxis={"range": [0, 1], "title": "score"},
        height=380,
        margin={"t": 50, "b": 10},
    )
    return fig


def pairs_figure(pairs: list[dict], n: int, top: int = 15) -> go.Figure:
    """The most frequent chemical -> disease relations: share of the ``n`` texts stating each, 95 % Wilson bars."""
    pairs = sorted(pairs, key=lambda p: -p["texts"])[:top][::-1]
    labels = [f"{p['chemical_text']} → {p['disease_text']}" for p in pairs]
    labels = [  # two pairs of ids may share their first spellings: tell them apart by id
        f"{label} ({p['chemical']} → {p['disease']})" if labels.count(label) > 1 else label
        for label, p in zip(labels, pairs)
    ]
    shares = [p["texts"] / n for p in pairs]
    bounds = [wilson(p["texts"], n) for p in pairs]
    fig = go.Figure(
        go.Bar(
            x=shares,
            y=labels,
            orientation="h",
            marker_color="#b02a2a",
            error_x={
                "type": "data",
                "array": [hi - s for s, (_, hi) in zip(shares, bounds)],
                "arrayminus": [s - lo for s, (lo, _) in zip(shares, bounds)],
            },
            customdata=[[p["texts"], p["chemical"], p["disease"]] for p in pairs],
            hovertemplate="%{y}: %{customdata[0]} texts (%{x:.1%})<br>%{customdata[1]} → %{customdata[2]}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Most frequent chemical → disease relations (share of n={n} texts, 95 % intervals)",
        xaxis={"tickformat": ".0%", "title": "texts stating the relation"},
        height=max(300, 28 * len(pairs) + 120),
        margin={"t": 50, "l": 10},
    )
    return fig
