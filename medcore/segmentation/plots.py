"""The segmentation pictures: lesion outline points over a displayed image, the Dice distribution, worst cases."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

__all__ = ["outline_traces", "dice_histogram", "worst_cases_figure"]


def _boundary(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the mask's pixels that touch the background (4-neighbourhood)."""
    m = np.asarray(mask) > 0
    inner = np.zeros_like(m)
    inner[1:-1, 1:-1] = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return np.nonzero(m & ~inner)


def outline_traces(mask: np.ndarray, width: int, height: int, fill: bool = False) -> list:
    """Plotly traces drawing ``mask``'s outline (and, with ``fill``, the mask) on an image shown at width x height."""
    from PIL import Image

    shown = (
        np.asarray(Image.fromarray((mask > 0).astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST))
        > 0
    )
    ys, xs = _boundary(shown)
    traces = []
    if fill and shown.any():
        traces.append(
            go.Heatmap(
                z=shown.astype(float),
                colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,255,120,0.35)"]],
                showscale=False,
                hoverinfo="skip",
                zmin=0,
                zmax=1,
            )
        )
    traces.append(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            marker={"size": 2, "color": "#00ff78"},
            name="lesion outline",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    return traces


def dice_histogram(values: list[float], n: int) -> go.Figure:
    """Distribution of per-image Dice over images with a lesion."""
    fig = go.Figure(go.Histogram(x=values, xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color="#2a6fb0"))
    fig.update_layout(
        title=f"Dice per image with a lesion (n={n})",
        xaxis_title="Dice",
        yaxis_title="images",
        height=320,
        xaxis={"range": [0, 1]},
    )
    return fig


def worst_cases_figure(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray, dice: np.ndarray) -> go.Figure:
    """The worst validation images side by side: expert outline (yellow) and the model's (green)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(images), subplot_titles=[f"Dice {d:.2f}" for d in dice])
    for col, (image, t, p) in enumerate(zip(images, truth, predicted), start=1):
        fig.add_trace(go.Heatmap(z=image[::-1], colorscale="gray", showscale=False, hoverinfo="skip"), 1, col)
        for mask, colour in ((t, "#ffd400"), (p, "#00ff78")):
            ys, xs = _boundary(mask[::-1])
            fig.add_trace(
                go.Scatter(
                    x=xs, y=ys, mode="markers", marker={"size": 2, "color": colour}, showlegend=False, hoverinfo="skip"
                ),
                1,
                col,
            )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title="Worst validation images: expert outline (yellow), model (green)", height=320)
    return fig
