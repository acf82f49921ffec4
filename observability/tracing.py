"""OpenTelemetry traces: one withdrawal is one trace, from the request through every activity.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; then spans go out by OTLP over HTTP
(the standard ``OTEL_EXPORTER_OTLP_*`` variables apply). The Temporal SDK's
``TracingInterceptor`` on the client carries the context into workflows and activities
(a worker inherits its client's interceptors); the HTTP service is instrumented by
``observability.http``. Span attributes are the SDK's: workflow and activity ids and
types, never payloads, so nothing personal leaves in a trace.

The OpenTelemetry SDK is imported only when tracing is on: a CLI command connecting to
Temporal pays nothing for it (docs/architecture.md, quick commands).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import TracerProvider as AnyTracerProvider
    from temporalio.client import Interceptor

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACER_NAME = "withdrawals"

_provider: TracerProvider | None = None


def current_provider() -> TracerProvider | None:
    """The provider ``start_tracing`` set up; None while tracing is off."""
    return _provider


def start_tracing(service_name: str) -> TracerProvider | None:
    """Export spans by OTLP if the endpoint is set (once per process); None otherwise."""
    global _provider
    if _provider is not None or not os.environ.get(OTLP_ENDPOINT_ENV):
        return _provider
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def stop_tracing() -> None:
    """Flush what is buffered; call at process exit."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def tracing_interceptors(provider: AnyTracerProvider | None = None) -> list[Interceptor]:
    """The client interceptors: none when tracing is off (no headers, no cost)."""
    provider = provider or _provider
    if provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer=provider.get_tracer(TRACER_NAME))]
