"""Item 6: no personal data in any process's logs, whatever fails (issue 12).

The whole stack runs as ``make run`` runs it (dev server, simulators, callback receiver,
codec server, worker, each logging to its file). A designated bank-card withdrawal meets
a database error while it opens (a trigger refuses the insert that carries the payee) and
a provider error during its payout (the simulator fails every call for a while). Then
every log line of every process is scanned for the payee's account number and name and
the account's phone: none may appear. Without ``hide_parameters`` the database error's
text carries the insert's bound values into the worker's log, and this test fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from application.reviews import authenticate, send_decision
from client.withdrawals import WithdrawalClient
from gateways.http_sms import HttpSmsProvider
from ledger.db import get_engine, session_scope
from ledger.loading import load_fixture
from models.domain import DesignatedReason, Route, Status
from models.fixtures import parse_fixture
from models.messages import ReviewDecisionKind
from observability.log_filter import install_personal_data_filter
from stack import Ports, Stack, StackConfig
from tests.support.polling import eventually
from tests.workflows import data
from tests.workflows.harness import bank_payee, make_request

WAIT_SECONDS = 60.0
FAILING_OPEN_SECONDS = 3.0
FAILING_PAYOUT_SECONDS = 4.0


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    config = StackConfig.local(tmp_path / "stack", Ports.free(), max_settle_seconds=1.0)
    config = StackConfig(**{**config.__dict__, "fixture": None})
    running = await Stack.start(config)
    try:
        yield running
    finally:
        running.stop()


async def test_no_personal_data_in_any_log_when_the_database_and_provider_fail(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    install_personal_data_filter()  # this process plays the CLI, which installs it too
    engine = get_engine(stack.urls.database_url)
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture(data.fixture()))
    request = make_request(
        amount="200.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    wid = request.withdrawal_id
    with engine.begin() as connection:  # the insert that carries the payee fails
        connection.execute(
            text(
                "CREATE TRIGGER fail_open BEFORE INSERT ON withdrawal "
                f"WHEN NEW.id = '{wid}' BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
            )
        )
    assert stack.client is not None
    client = WithdrawalClient(stack.client, stack.config.task_queue)
    await client.start(request)
    await asyncio.sleep(FAILING_OPEN_SECONDS)  # open_withdrawal fails and retries
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER fail_open"))

    async def status_is(*statuses: Status) -> bool:
        return (await client.status(wid)).status in statuses

    await eventually(
        lambda: status_is(Status.AWAITING_CODE), "awaiting_code", timeout=WAIT_SECONDS, interval=0.2
    )
    sms = HttpSmsProvider(stack.urls.sms)
    phone = data.PHONES["acct-auto"]
    inbox = await sms.inbox(phone)
    assert inbox and inbox[0].code
    assert (await client.submit_code(wid, inbox[0].code)).verdict.value == "verified"
    await eventually(
        lambda: status_is(Status.UNDER_REVIEW), "under_review", timeout=WAIT_SECONDS, interval=0.2
    )

    payout = stack.simulators[0]
    payout.set_faults(error_rate=1.0)  # every payout call fails with a 5xx
    reviewer = authenticate(engine, "rev-1", data.PASSWORDS["rev-1"])
    decision = await send_decision(
        client,
        reviewer,
        wid,
        ReviewDecisionKind.APPROVE,
        "ok",
        signing_key=stack.review_signing_key(),
        now=datetime.now(UTC),
    )
    assert decision is not None and decision.accepted, decision
    await asyncio.sleep(FAILING_PAYOUT_SECONDS)
    payout.set_faults()
    await eventually(
        lambda: status_is(Status.SUCCEEDED), "succeeded", timeout=WAIT_SECONDS, interval=0.2
    )

    logs = {p.name: p.read_text(errors="replace") for p in stack.config.logs_dir.glob("*.log")}
    assert {"worker.log", "temporal.log", "payout-simulator.log", "callbacks.log"} <= set(logs)
    assert "forced failure" in logs["worker.log"]  # the database error was logged...
    logs["this test"] = caplog.text
    personal = [data.BANK_ACCOUNT_NUMBER, data.PAYEE_NAME, phone, phone.lstrip("+")]
    for name, content in logs.items():
        for secret in personal:
            assert secret not in content, f"{secret!r} in {name}"  # ...without the payee
