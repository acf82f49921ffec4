"""The worker's Prometheus endpoint during an end-to-end run (docs/interface.md, Metrics).

The real stack as ``make run`` starts it (dev server, simulators, ``worker.py``) on
free ports, ``METRICS_PORT`` among them; withdrawals run through the simulators and
the scrape must move with them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from client.polling import poll_until
from client.withdrawals import WithdrawalClient
from gateways.http_sms import HttpSmsProvider
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.money import Money
from stack import Ports, Stack, StackConfig
from tests.observability.scrape import Samples, names, scrape, total
from tests.support.ports import free_port

PHONE = "+8613800000002"  # acct-personal in fixtures/demo.json
CODE_WAIT_SECONDS = 20.0
GAUGE_WAIT_SECONDS = 10.0
GAUGE_INTERVAL_SECONDS = "0.5"  # instead of 15 s, so the test waits little


def request(amount: str) -> WithdrawalRequest:
    return WithdrawalRequest(
        withdrawal_id=f"w-metrics-{uuid.uuid4().hex[:8]}",
        account_id="acct-personal",
        amount=Money.yuan(amount),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id="R-P-ALIPAY",
    )


async def code_for(sms: HttpSmsProvider, after: str | None) -> str:

    async def newest_code() -> str | None:
        inbox = await sms.inbox(PHONE)
        return inbox[0].code if inbox else None

    code = await poll_until(
        newest_code,
        lambda code: bool(code) and code != after,
        timeout=CODE_WAIT_SECONDS,
        interval=0.1,
        on_timeout=lambda _: AssertionError("no verification code arrived"),
    )
    assert code is not None
    return code


async def wait_for(url: str, ok: Callable[[Samples], bool]) -> Samples:

    async def scraped() -> Samples:
        return scrape(url)[1]

    return await poll_until(scraped, ok, timeout=GAUGE_WAIT_SECONDS, interval=0.5)


def assert_json_logs(path: Path, withdrawal_ids: set[str]) -> None:
    """LOG_FORMAT=json: every line one JSON object; activity lines carry the ids as fields,
    and no phone number appears anywhere."""
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    finished = [line for line in lines if str(line["message"]).startswith("finished:")]
    assert withdrawal_ids <= {line.get("withdrawal_id") for line in finished}
    for line in finished:
        assert line["activity_type"] == "settle" and line["workflow_id"].startswith("withdrawal-")
    assert PHONE.removeprefix("+86") not in text


@pytest.mark.slow
async def test_worker_metrics_move_as_withdrawals_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))  # the stack's worker inherits both
    monkeypatch.setenv("METRICS_GAUGE_INTERVAL_SECONDS", GAUGE_INTERVAL_SECONDS)
    monkeypatch.setenv("LOG_FORMAT", "json")
    url = f"http://127.0.0.1:{port}/metrics"
    stack = await Stack.start(StackConfig.local(tmp_path, Ports.free(), max_settle_seconds=0.2))
    try:
        assert stack.client is not None
        client = WithdrawalClient(stack.client, stack.config.task_queue)
        sms = HttpSmsProvider(stack.urls.sms)
        text, before = scrape(url)
        assert "temporal_" in text  # the SDK's own metrics, same endpoint

        # Two paid out, one refused at opening, one cancelled while waiting for the code.
        last_code = None
        for amount in ("10.00", "20.00"):
            wanted = request(amount)
            await client.start(wanted)
            last_code = await code_for(sms, last_code)
            await client.submit_code(wanted.withdrawal_id, last_code)
            assert (await client.result(wanted.withdrawal_id)).status is Status.SUCCEEDED
        refused = request("99999.00")  # beyond what is withdrawable (R12): refused at opening
        await client.start(refused)
        assert (await client.result(refused.withdrawal_id)).status is Status.FAILED
        cancelled = request("30.00")
        await client.start(cancelled)
        last_code = await code_for(sms, last_code)  # frozen, code sent: money held now
        held = await wait_for(
            url,
            lambda s: (
                total(s, "withdrawal_money_held_fen") == 3000
                and total(s, "withdrawals_in_flight", status="awaiting_code") == 1
            ),
        )
        assert total(held, "withdrawal_money_held_fen") == 3000  # 30.00 yuan frozen (R14)
        assert total(held, "withdrawals_in_flight", status="awaiting_code") == 1
        await client.cancel(cancelled.withdrawal_id, by="acct-personal")

        after = await wait_for(url, lambda s: total(s, "withdrawal_money_held_fen") == 0)
    finally:
        stack.stop()

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("withdrawals_started_total", route="original", kind="recharge") == 3
    assert moved("withdrawals_finished_total", status="succeeded") == 2
    assert moved("withdrawals_finished_total", status="cancelled") == 1
    assert moved("withdrawals_finished_total", status="failed") == 1  # started: never frozen
    assert moved("withdrawal_sms_sent_total") == 3
    assert moved("withdrawal_payout_latency_seconds_count", route="original") == 2
    assert total(after, "withdrawal_money_held_fen") == 0  # R19: the cancel released it
    assert "temporal_workflow_completed_total" in names(after)
    assert_json_logs(stack.config.logs_dir / "worker.log", {wanted.withdrawal_id})
    # Bounded labels: no series carries an id.
    for (_, labels), _value in after.items():
        assert not any("w-metrics" in v or "acct-" in v for _, v in labels)
