"""Image figures: the upload with its Grad-CAM heatmap over it (plotly, from finished arrays)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

__all__ = ["DISPLAY_SIDE", "heatmap_overlay"]

DISPLAY_SIDE = 512  # images are drawn at most this many pixels a side


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
