"""One Temporal runtime per process, serving Prometheus metrics (``METRICS_PORT``).

The SDK's own metrics (``temporal_…``) and the service's (``observability.metrics``)
come from the same runtime, so one scrape shows both. A port already in use must not
stop a worker from working: it logs that and runs without the endpoint.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from observability.metrics import HISTOGRAM_BUCKETS, WithdrawalMetrics

METRICS_PORT_ENV = "METRICS_PORT"
METRICS_HOST_ENV = "METRICS_HOST"
DEFAULT_METRICS_PORT = 9464
DEFAULT_METRICS_HOST = "127.0.0.1"

log = logging.getLogger(__name__)

_current: Telemetry | None = None


@dataclass(frozen=True)
class Telemetry:
    """The process's runtime, its business metrics, and where they are served (or None)."""

    runtime: Runtime
    metrics: WithdrawalMetrics
    metrics_address: str | None

    @property
    def metrics_url(self) -> str | None:
        return f"http://{self.metrics_address}/metrics" if self.metrics_address else None


def free_loopback_address() -> str:
    """A loopback port nobody listens on now: for a process whose runtime metrics are
    read back by itself (the HTTP service's /metrics), not scraped directly."""
    with socket.socket() as probe:
        probe.bind((DEFAULT_METRICS_HOST, 0))
        port = probe.getsockname()[1]
    return f"{DEFAULT_METRICS_HOST}:{port}"


def metrics_address_from_env() -> str:
    host = os.environ.get(METRICS_HOST_ENV) or DEFAULT_METRICS_HOST
    port = int(os.environ.get(METRICS_PORT_ENV) or DEFAULT_METRICS_PORT)
    return f"{host}:{port}"


def prometheus_runtime(address: str) -> Runtime:
    """A runtime exporting to ``http://ADDRESS/metrics``; ValueError if it cannot bind."""
    config = PrometheusConfig(
        bind_address=address,
        counters_total_suffix=True,  # withdrawals_finished_total (docs/interface.md)
        durations_as_seconds=True,
        histogram_bucket_overrides=dict(HISTOGRAM_BUCKETS),
    )
    return Runtime(telemetry=TelemetryConfig(logging=forwarded_core_logs(), metrics=config))


def forwarded_core_logs() -> LoggingConfig:
    """The SDK core's own log lines through Python logging, so LOG_FORMAT=json covers them."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )


def start_telemetry(address: str | None = None, *, set_default: bool = True) -> Telemetry:
    """Create the process's runtime serving metrics at ``address`` (default from env).

    ``set_default`` makes every client this process connects use it, so the SDK's
    metrics of the worker and the client land on the same endpoint.
    """
    address = address or metrics_address_from_env()
    try:
        runtime = prometheus_runtime(address)
        served: str | None = address
    except ValueError as error:
        log.warning("metrics endpoint %s not started (%s); running without it", address, error)
        runtime = Runtime(telemetry=TelemetryConfig(logging=forwarded_core_logs()))
        served = None
    telemetry = Telemetry(
        runtime=runtime, metrics=WithdrawalMetrics(runtime.metric_meter), metrics_address=served
    )
    if set_default:
        global _current
        Runtime.set_default(runtime, error_if_already_set=False)
        _current = telemetry
    return telemetry


def current_telemetry() -> Telemetry | None:
    """What ``start_telemetry`` set up for this process, if anything."""
    return _current
