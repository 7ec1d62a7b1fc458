"""Prometheus metrics of the model service: requests, latency per model, errors.

Each app has its own registry (``prometheus_client``), so several apps in one process (tests)
do not share counters. With several uvicorn workers each worker counts its own requests: a
scrape sees the worker that answered it.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["ServiceMetrics"]

# Seconds: a text answers in milliseconds, an image with Grad-CAM in tenths, a batch in seconds.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    """Counters and a latency histogram, labelled by endpoint, model and status."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "medcore_requests", "HTTP requests answered", ("endpoint", "model", "status"), registry=self.registry
        )
        self.errors = Counter(
            "medcore_errors",
            "HTTP requests answered with an error (4xx/5xx)",
            ("endpoint", "model", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "medcore_request_seconds",
            "Time to answer a request",
            ("endpoint", "model"),
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def observe(self, endpoint: str, model: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        labels = (endpoint, model, str(status))
        self.requests.labels(*labels).inc()
        if status >= 400:
            self.errors.labels(*labels).inc()
        self.latency.labels(endpoint, model).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
