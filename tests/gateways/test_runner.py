"""The simulator runner: free port, readiness by polling /health, clean stop."""

from __future__ import annotations

import httpx
import pytest

from standins.simulators.runner import start_simulator


def test_subprocess_simulator_starts_ready_and_stops() -> None:
    server = start_simulator("sms", mode="subprocess", error_rate=0.0)
    try:
        assert httpx.get(server.url + "/health").status_code == 200
    finally:
        server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=1.0)


def test_thread_simulator_stops_and_frees_its_port() -> None:
    with start_simulator("payout", max_settle_seconds=0, seed=3) as server:
        assert httpx.get(server.url + "/admin/faults").json()["seed"] == 3
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=1.0)


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown payout simulator settings"):
        start_simulator("payout", settle_speed=2)
