"""Care figures: ranking curves against the baselines, a patient's timeline, and an offline map (plotly)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

__all__ = ["ranking_curves_figure", "timeline_figure", "places_figure"]


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
    figure.update_layout(
        title="The patient's record by date (first time each item appears) and the suggestions after it",
        height=360,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis_title="date of the first record of each item",
        yaxis_title="kind of record",
    )
    return figure


def _ring(lat: float, lon: float, km: float, points: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """A circle of ``km`` around a point, in degrees (small-distance approximation)."""
    angle = np.linspace(0, 2 * math.pi, points)
    dlat = km / 111.2 * np.sin(angle)
    dlon = km / (111.2 * max(math.cos(math.radians(lat)), 0.05)) * np.cos(angle)
    return lat + dlat, lon + dlon


def places_figure(
    origin: tuple[float, float], places: list[dict], label: str = "you", tiles: str | None = None
) -> go.Figure:
    """The facilities around ``origin`` with distance rings.

    Without ``tiles`` it is drawn on plain longitude/latitude axes (no basemap, so no tile server
    or internet is needed; east-west is scaled by the cosine of the latitude so distances look
    right). With ``tiles`` (a raster tile URL template, ``{z}/{x}/{y}``) the same points and rings
    are drawn on that map; markers only, so no font server is needed either.
    """
    lat0, lon0 = origin

    def trace(lats, lons, **options):  # one trace kind per drawing: map traces with tiles, plain ones without
        return go.Scattermap(lat=lats, lon=lons, **options) if tiles else go.Scatter(x=lons, y=lats, **options)

    figure = go.Figure()
    farthest = max([p["distance_km"] for p in places] + [1.0])
    step = next(s for s in (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500) if farthest / s <= 4)
    for radius in np.arange(step, farthest + step, step):
        y, x = _ring(lat0, lon0, float(radius))
        line = dict(color="#909090" if tiles else "#d0d0d0", width=1)
        figure.add_trace(trace(y, x, mode="lines", line=line, hoverinfo="skip", showlegend=False))
        if not tiles:
            figure.add_annotation(
                x=lon0, y=y.max(), text=f"{radius:g} km", showarrow=False, font=dict(color="#909090", size=10)
            )
    # The origin first, so the places' markers stay visible on top of it.
    marker = dict(size=14, color="black") if tiles else dict(symbol="star", size=16, color="black")
    figure.add_trace(trace([lat0], [lon0], mode="markers", marker=marker, name=label))
    for need in dict.fromkeys(p.get("need", p["kind"]) for p in places):
        group = [p for p in places if p.get("need", p["kind"]) == need]
        numbers = {} if tiles else {"text": [str(i) for i in range(1, len(group) + 1)], "textposition": "top center"}
        figure.add_trace(
            trace(
                [p["lat"] for p in group],
                [p["lon"] for p in group],
                mode="markers" if tiles else "markers+text",
                marker=dict(size=11),
                name=need,
                customdata=[[p["name"], p["distance_km"], p["address"]] for p in group],
                hovertemplate="%{customdata[0]}<br>%{customdata[1]:.1f} km<br>%{customdata[2]}<extra>"
                + need
                + "</extra>",
                **numbers,
            )
        )
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h"))
    if tiles:
        style = {
            "version": 8,
            "sources": {"tiles": {"type": "raster", "tiles": [tiles], "tileSize": 256}},
            "layers": [{"id": "tiles", "type": "raster", "source": "tiles"}],
        }
        zoom = max(1.0, min(14.0, math.log2(40000 / (4 * farthest + 1))))
        figure.update_layout(map=dict(style=style, center=dict(lat=lat0, lon=lon0), zoom=zoom))
        return figure
    figure.update_xaxes(title="longitude", showgrid=False, zeroline=False)
    figure.update_yaxes(
        title="latitude",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1 / max(math.cos(math.radians(lat0)), 0.05),
    )
    return figure
