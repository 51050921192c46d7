"""The webhook's Prometheus metrics: requests, latency, patches and errors, by rule, result and pattern."""

from __future__ import annotations

from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

# Admission calls must answer well inside the webhook's timeoutSeconds: fine buckets below 50 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics(NamedTuple):
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    patches: Counter
    errors: Counter

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


def new_metrics() -> Metrics:
    """One registry per server (nothing global, so tests and library users can run several)."""
    registry = CollectorRegistry()
    return Metrics(
        registry,
        Counter("manifestkit_webhook_requests", "admission requests answered, by rule and result", ["rule", "result"],
                registry=registry),
        Histogram("manifestkit_webhook_request_duration_seconds", "time to answer an admission request", ["rule"],
                  buckets=LATENCY_BUCKETS, registry=registry),
        Counter("manifestkit_webhook_patches", "patterns injected, by pattern", ["pattern"], registry=registry),
        Counter("manifestkit_webhook_errors", "requests refused or failed, by reason", ["reason"], registry=registry),
    )
