"""The HTTP service's ``/metrics`` (no key needed, docs/interface.md) and its request metrics.

``instrument_app(app)`` adds, to any FastAPI app:
- request counts and latency by method, route *template* and status (bounded labels:
  ``/v1/withdrawals/{withdrawal_id}``, never the id itself; unmatched paths are one
  label), served at ``/metrics`` together with the Temporal SDK's metrics of this
  process when its runtime serves them (``observability.runtime``);
- OpenTelemetry spans per request when tracing is on (``observability.tracing``), so
  the API request and the workflow it starts are one trace.

The API's key check must let ``/metrics`` through (``METRICS_PATH``).
"""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI, Request, Response
from opentelemetry.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.routing import Match

from observability import runtime, tracing

METRICS_PATH = "/metrics"
HTTP_REQUESTS = "withdrawal_http_requests"  # exported as withdrawal_http_requests_total
HTTP_DURATION = "withdrawal_http_request_duration_seconds"
UNMATCHED_ROUTE = "unmatched"
LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Reading this process's Temporal metrics from its runtime's loopback endpoint.
SDK_METRICS_TIMEOUT_SECONDS = 2.0


class RequestMetrics(BaseHTTPMiddleware):
    def __init__(self, app: object, requests: Counter, duration: Histogram) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self._requests = requests
        self._duration = duration

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = route_template(request)
            if route != METRICS_PATH:
                self._requests.labels(request.method, route, str(status)).inc()
                self._duration.labels(request.method, route).observe(time.perf_counter() - started)


def route_template(request: Request) -> str:
    """The path as declared (``/v1/withdrawals/{withdrawal_id}``): a bounded label.

    After the app answered, routing has left the matched route in the scope (FastAPI's
    included routers hide their routes from ``app.router.routes``); before, or for a
    request no route took, match the top-level routes ourselves."""
    routed = request.scope.get("route")
    if routed is not None and getattr(routed, "path", None):
        return str(routed.path)
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL and getattr(route, "path", None):
            return str(route.path)
    return UNMATCHED_ROUTE


async def _sdk_metrics(telemetry: runtime.Telemetry | None) -> bytes:
    """This process's Temporal runtime metrics, if it serves them (else nothing)."""
    if telemetry is None or telemetry.metrics_url is None:
        return b""
    try:
        async with httpx.AsyncClient(timeout=SDK_METRICS_TIMEOUT_SECONDS) as client:
            answer = await client.get(telemetry.metrics_url)
        return answer.content if answer.status_code == 200 else b""
    except httpx.HTTPError:
        return b""


def instrument_app(
    app: FastAPI,
    registry: CollectorRegistry | None = None,
    telemetry: runtime.Telemetry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> CollectorRegistry:
    """Mount ``/metrics`` and the request metrics (and tracing when on) on ``app``.

    ``telemetry`` defaults to the process's (``runtime.start_telemetry``), read at each
    scrape, so an app built before the runtime started still shows the SDK's metrics.
    """
    registry = registry or CollectorRegistry()
    requests = Counter(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status",
        ["method", "route", "status"],
        registry=registry,
    )
    duration = Histogram(
        HTTP_DURATION,
        "HTTP request latency, by method and route template",
        ["method", "route"],
        buckets=LATENCY_BUCKETS_SECONDS,
        registry=registry,
    )
    app.add_middleware(RequestMetrics, requests=requests, duration=duration)

    async def metrics(_: Request) -> Response:
        sdk = await _sdk_metrics(telemetry or runtime.current_telemetry())
        body = generate_latest(registry) + sdk
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
    provider = tracer_provider or tracing.current_provider()
    if provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls=METRICS_PATH
        )
    return registry
