"""The HTTP service's /metrics (docs/interface.md: no key needed) on any FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from observability.http import instrument_app
from observability.runtime import free_loopback_address, start_telemetry
from tests.observability.scrape import parse, total


def app_with_routes() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/withdrawals/{withdrawal_id}")
    async def status(withdrawal_id: str) -> dict[str, str]:
        return {"id": withdrawal_id}

    @app.post("/v1/withdrawals")
    async def create() -> dict[str, str]:
        raise RuntimeError("boom")

    return app


def test_requests_are_counted_by_route_template_never_by_id() -> None:
    app = app_with_routes()
    instrument_app(app)
    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.get("/v1/withdrawals/w-secret-1").status_code == 200
        assert http.get("/v1/withdrawals/w-secret-2").status_code == 200
        assert http.post("/v1/withdrawals").status_code == 500
        assert http.get("/nowhere/13800000000").status_code == 404
        page = http.get("/metrics")
    assert page.status_code == 200
    samples = parse(page.text)
    name = "withdrawal_http_requests_total"
    route = "/v1/withdrawals/{withdrawal_id}"
    assert total(samples, name, method="GET", route=route, status="200") == 2
    assert total(samples, name, method="POST", route="/v1/withdrawals", status="500") == 1
    assert total(samples, name, route="unmatched", status="404") == 1
    assert total(samples, "withdrawal_http_request_duration_seconds_count", route=route) == 2
    # Bounded labels: neither ids nor anything a caller typed into a path.
    assert "w-secret" not in page.text and "13800000000" not in page.text


def test_metrics_page_carries_the_processes_temporal_runtime_metrics() -> None:
    telemetry = start_telemetry(free_loopback_address(), set_default=False)
    assert telemetry.metrics_url is not None
    telemetry.metrics.withdrawal_finished(status="succeeded", route="bank", kind="recharge")
    app = app_with_routes()
    instrument_app(app, telemetry=telemetry)
    with TestClient(app) as http:
        page = http.get("/metrics")
    samples = parse(page.text)
    assert total(samples, "withdrawals_finished_total", status="succeeded") == 1
