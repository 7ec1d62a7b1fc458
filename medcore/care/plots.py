"""Recommender figures: ranking curves against the baselines and a patient's timeline (plotly)."""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["ranking_curves_figure", "timeline_figure"]


def ranking_curves_figure(curves: dict[str, dict], ks: list[int], shipped: str | None = None) -> go.Figure:
    """HR@k and NDCG@k per recommender (``{name: {"hr": [...], "ndcg": [...]}}``) against k."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("hit rate @k", "NDCG @k"))
    for name, curve in curves.items():
        width = 4 if name == shipped else 1.5
        for column, key in ((1, "hr"), (2, "ndcg")):
            figure.add_trace(
                go.Scatter(
                    x=ks, y=curve[key], name=name, legendgroup=name, showlegend=column == 1, line=dict(width=width)
                ),
                row=1,
                col=column,
            )
    figure.update_xaxes(title="k")
    figure.update_layout(height=400, margin=dict(l=10, r=10, t=40, b=10))
    return figure


def timeline_figure(timeline: list[dict], recommended: list[dict] | None = None) -> go.Figure:
    """A patient's history by date and kind, with the recommended items drawn after its last date.

    Args:
        timeline: ``{"date": "YYYY-MM-DD", "kind", "description"}`` per history item.
        recommended: ``{"kind", "description", "score"}`` per recommendation.
    """
    import pandas as pd

    figure = go.Figure()
    kinds = ["condition", "procedure", "medication", "immunization", "careplan"]
    for kind in kinds:
        events = [e for e in timeline if e["kind"] == kind]
        if events:
            figure.add_trace(
                go.Scatter(
                    x=[e["date"] for e in events],
                    y=[kind] * len(events),
                    mode="markers",
                    name=f"history: {kind}",
                    text=[e["description"] for e in events],
                    hovertemplate="%{x}<br>%{text}<extra></extra>",
                    marker=dict(size=9, opacity=0.7),
                )
            )
    if recommended and timeline:
        last = pd.Timestamp(max(e["date"] for e in timeline))
        span = max(pd.Timedelta(days=90), (last - pd.Timestamp(min(e["date"] for e in timeline))) * 0.08)
        figure.add_vrect(
            x0=last + span * 0.3,
            x1=last + span * 1.7,
            fillcolor="#fdebd0",
            layer="below",
            line_width=0,
            annotation_text="recommended next",
        )
        figure.add_trace(
            go.Scatter(
                x=[last + span] * len(recommended),
                y=[r["kind"] for r in recommended],
                mode="markers",
                name="recommended next",
                text=[f"{r['description']} (score {r['score']:.2f})" for r in recommended],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(size=14, symbol="star", color="#c0392b"),
            )
        )
    figure.update_yaxes(categoryorder="array", categoryarray=kinds)
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="date")
    return figure
