"""Plotly figures from finished numbers; no model code and no metric maths here.

Each function takes plain Python/NumPy results (from a model or ``medcore.metrics``) and
returns a ``plotly.graph_objects.Figure`` the pages render as they are.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

__all__ = ["probability_bars", "heatmap_overlay", "DISPLAY_SIDE"]

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


def _display_size(image: np.ndarray) -> tuple[int, int]:
    height, width = image.shape[:2]
    scale = min(1.0, DISPLAY_SIDE / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def heatmap_overlay(
    image: np.ndarray, heatmap: np.ndarray | None, opacity: float = 0.45, title: str | None = None
) -> go.Figure:
    """The image with a Grad-CAM heatmap over it.

    Args:
        image: uint8 (H, W) or (H, W, 3).
        heatmap: float (H, W) in [0, 1], or None to draw the image alone.
        opacity: heatmap opacity in [0, 1].
        title: figure title.
    """
    from PIL import Image

    width, height = _display_size(image)
    shown = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))
    if shown.ndim == 2:
        shown = np.repeat(shown[..., None], 3, axis=2)
    figure = go.Figure(go.Image(z=shown, hoverinfo="skip"))
    if heatmap is not None and opacity > 0:
        small = np.asarray(
            Image.fromarray(heatmap.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR)
        )
        figure.add_trace(
            go.Heatmap(
                z=np.clip(small, 0, 1),
                colorscale="Jet",
                zmin=0,
                zmax=1,
                opacity=float(opacity),
                colorbar=dict(title="model<br>attention", thickness=12),
                hovertemplate="attention %{z:.2f}<extra></extra>",
            )
        )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    figure.update_layout(title=title, height=min(520, height + 80), margin=dict(l=0, r=0, t=40 if title else 0, b=0))
    return figure
