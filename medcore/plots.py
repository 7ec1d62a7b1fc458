"""Plotly figures from finished numbers; no model code and no metric maths here.

Each function takes plain Python/NumPy results (from a model or ``medcore.metrics``) and
returns a ``plotly.graph_objects.Figure`` the pages render as they are.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "DISPLAY_SIDE",
    "probability_bars",
    "heatmap_overlay",
    "confusion_matrix_figure",
    "roc_figure",
    "pr_figure",
    "reliability_figure",
    "history_figure",
    "highlight_html",
    "ranking_curves_figure",
    "timeline_figure",
]

DISPLAY_SIDE = 512  # images are drawn at most this many pixels a side


def probability_bars(
    probabilities: dict[str, float],
    threshold: float | None = None,
    positive_label: str | None = None,
    top: int | None = None,
) -> go.Figure:
    """Horizontal bars of class probabilities, highest first, with the operating threshold.

    Args:
        probabilities: label -> calibrated probability in [0, 1].
        threshold: the binary operating threshold, drawn as a dashed line if given.
        positive_label: the class the threshold applies to (its bar is labelled).
        top: show only the ``top`` most likely classes.
    """
    items = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)[: top or None]
    labels = [label for label, _ in items][::-1]
    values = [value for _, value in items][::-1]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            text=[f"{v:.1%}" for v in values],
            textposition="auto",
            marker_color=["#c0392b" if label == positive_label else "#2e86c1" for label in labels],
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    if threshold is not None:
        figure.add_vline(
            x=threshold,
            line_dash="dash",
            line_color="#444",
            annotation_text=f"threshold {threshold:.2f} ({positive_label})",
            annotation_position="top",
        )
    figure.update_layout(
        xaxis=dict(range=[0, 1], tickformat=".0%", title="calibrated probability"),
        height=120 + 40 * len(labels),
        margin=dict(l=10, r=10, t=40, b=10),
        showlegend=False,
    )
    return figure


def _display_size(image: np.ndarray, side: int) -> tuple[int, int]:
    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _png_data_uri(pixels: np.ndarray) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def heatmap_overlay(
    image: np.ndarray, heatmap: np.ndarray | None, opacity: float = 0.45, title: str | None = None
) -> go.Figure:
    """The image with a Grad-CAM heatmap over it.

    The image travels as one PNG (at most ``DISPLAY_SIDE`` pixels a side) and the heatmap
    as a grid of at most 128 cells a side, so the figure stays small for any input size.

    Args:
        image: uint8 (H, W) or (H, W, 3).
        heatmap: float (H, W) in [0, 1], or None to draw the image alone.
        opacity: heatmap opacity in [0, 1].
        title: figure title.
    """
    from PIL import Image

    width, height = _display_size(image, DISPLAY_SIDE)
    shown = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))
    figure = go.Figure(go.Image(source=_png_data_uri(shown), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"))
    if heatmap is not None and opacity > 0:
        grid_w, grid_h = _display_size(heatmap, 128)
        grid = np.asarray(
            Image.fromarray(heatmap.astype(np.float32)).resize((grid_w, grid_h), Image.Resampling.BILINEAR)
        )
        dx, dy = width / grid_w, height / grid_h
        figure.add_trace(
            go.Heatmap(
                z=np.round(np.clip(grid, 0, 1), 3),
                x0=dx / 2 - 0.5,
                dx=dx,
                y0=dy / 2 - 0.5,
                dy=dy,
                colorscale="Jet",
                zmin=0,
                zmax=1,
                opacity=float(opacity),
                colorbar=dict(title="model<br>attention", thickness=12),
                hovertemplate="attention %{z:.2f}<extra></extra>",
            )
        )
    figure.update_xaxes(visible=False, range=[-0.5, width - 0.5])
    figure.update_yaxes(visible=False, range=[height - 0.5, -0.5], scaleanchor="x")
    figure.update_layout(title=title, height=min(560, height + 80), margin=dict(l=0, r=0, t=40 if title else 0, b=0))
    return figure


def confusion_matrix_figure(
    matrix: list[list[int]], labels: list[str], normalise: bool = False, present_only: bool = False
) -> go.Figure:
    """Confusion matrix heatmap: rows true classes, columns predicted; counts or row fractions.

    ``present_only`` keeps just the classes that occur as a label or a prediction (a small
    evaluation file of a 24-class model stays readable); the title says how many were left out.
    """
    counts = np.asarray(matrix, dtype=float)
    left_out = 0
    if present_only:
        keep = np.flatnonzero(counts.sum(axis=0) + counts.sum(axis=1))
        left_out = len(labels) - len(keep)
        counts, labels = counts[np.ix_(keep, keep)], [labels[i] for i in keep]
    values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalise else counts
    text = [[f"{v:.0%}" if normalise else f"{int(v)}" for v in row] for row in values]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
            showscale=False,
        )
    )
    figure.update_yaxes(autorange="reversed", title="true")
    figure.update_xaxes(title="predicted")
    side = 140 + 38 * len(labels)
    figure.update_layout(
        title="Confusion matrix"
        + (" (row-normalised)" if normalise else " (counts)")
        + (f"<br><sup>{left_out} class(es) absent from the data not shown</sup>" if left_out else ""),
        height=min(900, side),
        margin=dict(l=10, r=10, t=60 if left_out else 40, b=10),
    )
    return figure


def roc_figure(curves: list[dict]) -> go.Figure:
    """ROC curves (one-vs-rest), each ``{"label", "fpr", "tpr", "auc"}``, with the chance line."""
    figure = go.Figure()
    for curve in curves:
        figure.add_trace(
            go.Scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{curve['label']} (AUC {curve['auc']:.3f})")
        )
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="gray"), name="chance"))
    figure.update_layout(
        title="ROC curve",
        xaxis_title="1 - specificity (false-positive rate)",
        yaxis_title="sensitivity (true-positive rate)",
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return figure


def pr_figure(curves: list[dict]) -> go.Figure:
    """Precision-recall curves, each ``{"label", "recall", "precision", "average_precision"}``."""
    figure = go.Figure()
    for curve in curves:
        figure.add_trace(
            go.Scatter(
                x=curve["recall"],
                y=curve["precision"],
                mode="lines",
                name=f"{curve['label']} (AP {curve['average_precision']:.3f})",
            )
        )
    figure.update_layout(
        title="Precision-recall curve",
        xaxis_title="recall (sensitivity)",
        yaxis_title="precision (PPV)",
        yaxis_range=[0, 1.02],
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return figure


def reliability_figure(
    after: dict, before: dict | None = None, ece_after: float | None = None, ece_before: float | None = None
) -> go.Figure:
    """Reliability diagram: mean confidence vs accuracy per bin, before and after calibration."""
    figure = go.Figure(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="gray"), name="perfect")
    )
    for curve, name, ece in ((before, "before calibration", ece_before), (after, "after calibration", ece_after)):
        if curve:
            label = name + (f" (ECE {ece:.3f})" if ece is not None else "")
            figure.add_trace(
                go.Scatter(
                    x=curve["confidence"],
                    y=curve["accuracy"],
                    mode="lines+markers",
                    name=label,
                    customdata=curve["count"],
                    hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.2f}<br>n=%{customdata}<extra></extra>",
                )
            )
    figure.update_layout(
        title="Reliability (top-label)",
        xaxis_title="predicted probability",
        yaxis_title="observed accuracy",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return figure


def history_figure(histories: list[dict]) -> go.Figure:
    """Training curves per member/model: loss (train, validation) and any ``val_*`` metric."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "validation metric"))
    for index, history in enumerate(histories):
        epochs = history.get("epoch") or list(range(1, len(history.get("loss", [])) + 1))
        prefix = f"#{index + 1} " if len(histories) > 1 else ""
        for key, dash in (("loss", None), ("val_loss", "dot")):
            if key in history:
                figure.add_trace(
                    go.Scatter(x=epochs, y=history[key], name=prefix + key, line=dict(dash=dash)), row=1, col=1
                )
        for key in history:
            if key.startswith(("val_", "accuracy")) and key != "val_loss":
                figure.add_trace(go.Scatter(x=epochs, y=history[key], name=prefix + key), row=1, col=2)
    figure.update_xaxes(title="epoch")
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10))
    return figure


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
                    name=kind,
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
                name="recommended",
                text=[f"{r['description']} (score {r['score']:.2f})" for r in recommended],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(size=14, symbol="star", color="#c0392b"),
            )
        )
    figure.update_yaxes(categoryorder="array", categoryarray=kinds)
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="date")
    return figure
