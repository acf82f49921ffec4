"""Observability for one process, in one call at its start (worker, HTTP service).

Logging first (``LOG_FORMAT``), then the Temporal runtime serving metrics (before any
client connects, so the client uses it), then tracing (``OTEL_EXPORTER_OTLP_ENDPOINT``).
"""

from __future__ import annotations

from observability.logs import configure_logging
from observability.runtime import Telemetry, start_telemetry
from observability.tracing import start_tracing


def start_observability(service_name: str, metrics_address: str | None = None) -> Telemetry:
    """``metrics_address`` defaults to ``METRICS_HOST:METRICS_PORT`` (the worker's); the
    HTTP service passes ``runtime.free_loopback_address()`` and serves them at /metrics."""
    configure_logging()
    telemetry = start_telemetry(metrics_address)
    start_tracing(service_name)
    return telemetry
