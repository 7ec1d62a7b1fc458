"""Plotly figures from finished numbers; no model code and no metric maths here.

Each function takes plain Python/NumPy results (from a model or ``medcore.core.metrics``) and
returns a ``plotly.graph_objects.Figure`` the pages render as they are.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from medcore.core.cards import percent

__all__ = [
    "probability_bars",
    "confusion_matrix_figure",
    "roc_figure",
    "pr_figure",
    "reliability_figure",
    "history_figure",
]


def probability_bars(
    probabilities: dict[str, float],
    threshold: float | None = None,
    positive_label: str | None = None,
    top: int | None = None,
    ordered: bool = False,
) -> go.Figure:
    """Horizontal bars of class probabilities, highest first, with the operating threshold.

    Args:
        probabilities: label -> calibrated probability in [0, 1].
        threshold: the binary operating threshold, drawn as a dashed line if given.
        positive_label: the class the threshold applies to (its bar is labelled).
        top: show only the ``top`` most likely classes.
        ordered: keep the labels' own order (ordinal grades, first at the top) instead of sorting by probability.
    """
    items = (
        list(probabilities.items())
        if ordered
        else sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    )
    items = items[: top or None]
    labels = [label for label, _ in items][::-1]
    values = [value for _, value in items][::-1]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            text=[percent(v) for v in values],  # "< 0.1 %", never a "0.0%" beside a decision
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
