"""One Temporal runtime per process serving metrics; a taken port never stops a worker."""

from __future__ import annotations

import socket

import httpx

from observability.runtime import free_loopback_address, start_telemetry
from tests.observability.scrape import parse, total


def test_counters_carry_the_contract_name_and_bounded_labels() -> None:
    telemetry = start_telemetry(free_loopback_address(), set_default=False)
    assert telemetry.metrics_url is not None
    telemetry.metrics.withdrawal_finished(status="failed", route="alipay", kind="non_recharge")
    telemetry.metrics.withdrawal_started(route="alipay", kind="non_recharge")
    samples = parse(httpx.get(telemetry.metrics_url, timeout=5).text)
    # docs/interface.md: withdrawals_finished_total by status.
    assert total(samples, "withdrawals_finished_total", status="failed") == 1
    assert total(samples, "withdrawals_started_total", route="alipay") == 1


def test_a_taken_metrics_port_leaves_the_process_running_without_the_endpoint() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        host, port = taken.getsockname()
        telemetry = start_telemetry(f"{host}:{port}", set_default=False)
    assert telemetry.metrics_address is None and telemetry.metrics_url is None
    # The metrics still accept values (they go nowhere), so activities keep working.
    telemetry.metrics.sms_sent()
    telemetry.metrics.set_money_held(100)
