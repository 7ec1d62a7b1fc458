"""The one timing helper the benchmark scripts share (they print figures; nothing is asserted)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def median_ms(function: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``function()`` over ``repeats`` calls, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))
