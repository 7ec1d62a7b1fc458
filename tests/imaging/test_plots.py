"""The Grad-CAM overlay stays small for any image size and carries the chosen opacity."""

from __future__ import annotations

import numpy as np

from medcore.imaging import plots


def test_heatmap_overlay_keeps_large_images_small(rng):
    image = rng.integers(0, 256, (2000, 1500), dtype=np.uint8)
    heatmap = rng.random((2000, 1500))
    figure = plots.heatmap_overlay(image, heatmap, opacity=0.5)
    assert figure.data[0].source.startswith("data:image/png;base64,")
    assert np.asarray(figure.data[1].z).shape[0] <= 128
    assert figure.data[1].opacity == 0.5
    assert len(plots.heatmap_overlay(image, heatmap, opacity=0.0).data) == 1
