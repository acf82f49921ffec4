"""Ops after a payout-provider outage and an overdue review, on the time-skipping server.

``starter.py attention`` lists both, most urgent first, and exits 4 (docs/interface.md); the
worker's metrics count the provider's failures and the gauges show the late payout
and the overdue review (R7, R17).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from cli.app import main as cli
from cli.command import Context
from models.domain import Kind, Route, Status
from models.limits import REVIEW_SLA_HOURS
from observability import gauges
from observability.runtime import Telemetry, free_loopback_address, start_telemetry
from standins.fakes import FakePayoutProvider
from tests.observability.scrape import parse, total
from tests.workflows.harness import Stack, alipay_payee
from tests.workflows.stacks import fake_provider_stack, sqlite_url

OUTAGE_CALLS = 100_000  # longer than the test: every provider call fails
HOUR_SECONDS = 3600


@pytest_asyncio.fixture(loop_scope="session")
async def metered(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[Stack, Telemetry, str]]:
    """Like ``fake_stack``, with the worker's business metrics on a Prometheus endpoint."""
    telemetry = start_telemetry(free_loopback_address(), set_default=False)
    async with fake_provider_stack(
        time_skipping_env, tmp_path, WithdrawalActivities, metrics=telemetry.metrics
    ) as (stack, _):
        yield stack, telemetry, sqlite_url(tmp_path)


def attention(
    url: str, now: datetime, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    status = cli(
        ["attention", "--json", "--no-reconcile"], Context(database_url=url, clock=lambda: now)
    )
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.usefixtures("next_years_covered")  # on the real clock (issue 26)
async def test_attention_lists_a_late_payout_before_an_overdue_review_and_exits_4(
    metered: tuple[Stack, Telemetry, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stack, telemetry, url = metered
    assert isinstance(stack.payout, FakePayoutProvider)
    now = await stack.env.get_current_time()
    status, document = attention(url, now, capsys)
    assert (status, document["count"]) == (0, 0)  # nothing yet: exit 0

    review = await stack.start(
        account_id="acct-ent",
        amount="20.00",
        kind=Kind.NON_RECHARGE,
        route=Route.ALIPAY,
        payee=alipay_payee(),
    )
    await stack.verify(review, "acct-ent")
    await stack.wait_status(review, Status.UNDER_REVIEW)
    await stack.env.sleep((REVIEW_SLA_HOURS - 1) * HOUR_SECONDS)

    stack.payout.fail_next_lookups(OUTAGE_CALLS)  # the provider goes down
    stack.payout.fail_next_submits(OUTAGE_CALLS)
    late = await stack.start(amount="100.00")  # Alipay recharge: within 1 hour (R7)
    await stack.verify(late, "acct-auto")
    await stack.wait_status(late, Status.APPROVED_AWAITING_PAYOUT)
    await stack.env.sleep(2 * HOUR_SECONDS)

    now = await stack.env.get_current_time()
    status, document = attention(url, now, capsys)
    assert status == 4
    listed = [(item["kind"], item["withdrawal_id"]) for item in document["items"]]
    assert listed == [("settlement_past_arrival", late), ("review_past_sla", review)]
    assert "R17" in document["items"][1]["detail"]

    levels = await gauges.refresh(stack.engine, telemetry.metrics, clock=lambda: now)
    assert (levels.review_waiting, levels.review_overdue, levels.settlements_late) == (1, 1, 1)
    assert telemetry.metrics_url is not None
    samples = parse(httpx.get(telemetry.metrics_url, timeout=5).text)
    assert total(samples, "withdrawal_provider_errors_total", provider="payout") >= 10
    assert total(samples, "withdrawal_review_overdue") == 1
    assert total(samples, "withdrawal_settlement_past_arrival") == 1
    assert total(samples, "withdrawal_money_held_fen") == 12000  # 20.00 + 100.00 frozen

    # The reviewer finally decides: time in review is observed once, past the SLA.
    decision = await stack.approve(review, "rev-1")
    assert decision is not None and decision.accepted
    samples = parse(httpx.get(telemetry.metrics_url, timeout=5).text)
    name = "withdrawal_review_time_seconds"
    assert total(samples, f"{name}_count", decision="approve") == 1
    assert total(samples, f"{name}_sum", decision="approve") > REVIEW_SLA_HOURS * HOUR_SECONDS
