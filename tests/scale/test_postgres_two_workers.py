"""Scale-out: two worker processes, PostgreSQL, a hundred withdrawals in `make test`
(500 in `make soak`).

The same end checks as the crash test: every withdrawal final, the provider moved money
once per succeeded withdrawal and never otherwise, every hold resolved exactly once,
balances exact to the fen, and both workers did part of the work.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from client.withdrawals import WithdrawalClient
from gateways.http_sms import HttpSmsProvider
from ledger import tables
from ledger.db import dispose_engine, get_engine, session_scope
from ledger.loading import load_fixture
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.fixtures import parse_fixture
from models.money import Money
from stack import REPO_ROOT, Ports, Stack, StackConfig
from stack.child_process import ChildProcess
from tests.support.withdrawals import workflow_handle

BATCH = int(os.environ.get("SCALE_BATCH", "100"))  # `make soak`: 500
CONCURRENCY = 25
ACCOUNT_CASH = "500.00"
RUN_DEADLINE_SECONDS = 240.0
CODE_POLL_SECONDS = 0.05


def _fixture(count: int) -> dict[str, Any]:
    paid = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    return {
        "accounts": [
            {
                "id": f"acct-scale-{i}",
                "owner_name": f"Scale Owner {i}",
                "type": "personal",
                "real_name_verified": True,
                "status": "normal",
                "identity_id": f"id-scale-{i}",
                "security_phone": f"+86139{i:08d}",
                "cash": ACCOUNT_CASH,
            }
            for i in range(count)
        ],
        "recharge_orders": [
            {
                "id": f"R-SCALE-{i}",
                "account_id": f"acct-scale-{i}",
                "amount": ACCOUNT_CASH,
                "channel": "alipay",
                "bank": None,
                "paid_at": paid,
            }
            for i in range(count)
        ],
        "reviewers": [],
    }


def _amount(i: int) -> Money:
    return Money(10_000 + i)  # 100.00 plus i fen: every withdrawal's amount is distinct


async def _run_one(
    client: WithdrawalClient, sms: HttpSmsProvider, i: int, gate: asyncio.Semaphore
) -> Status:
    async with gate:
        request = WithdrawalRequest(
            withdrawal_id=f"w-scale-{i}",
            account_id=f"acct-scale-{i}",
            amount=_amount(i),
            kind=Kind.RECHARGE,
            route=Route.ORIGINAL,
            order_id=f"R-SCALE-{i}",
        )
        await client.start(request)
        code = None
        deadline = time.monotonic() + RUN_DEADLINE_SECONDS
        while code is None and time.monotonic() < deadline:
            inbox = await sms.inbox(f"+86139{i:08d}")
            code = inbox[0].code if inbox else None
            if code is None:
                await asyncio.sleep(CODE_POLL_SECONDS)
        assert code is not None, f"no code for w-scale-{i}"
        await client.submit_code(request.withdrawal_id, code)
        return (await client.result(request.withdrawal_id)).status


async def _activity_identities(client: WithdrawalClient, withdrawal_ids: list[str]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for withdrawal_id in withdrawal_ids:
        handle = workflow_handle(client.temporal, withdrawal_id)
        async for event in handle.fetch_history_events():
            if event.HasField("activity_task_started_event_attributes"):
                seen[event.activity_task_started_event_attributes.identity.split("@")[0]] += 1
    return seen


@pytest.mark.slow
async def test_two_workers_on_postgres_pay_every_withdrawal_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    config = dataclasses.replace(
        StackConfig.local(tmp_path, Ports.free(), max_settle_seconds=0.5),
        database_url=postgres_url,
        fixture=None,
    )
    with session_scope(get_engine(postgres_url)) as session:
        load_fixture(session, parse_fixture(_fixture(BATCH)))
    dispose_engine(postgres_url)

    stack = await Stack.start(config)
    second = ChildProcess(
        name="worker-2",
        command=[sys.executable, "worker.py"],
        env=stack.child_env(),
        log_path=config.logs_dir / "worker-2.log",
        cwd=REPO_ROOT,
        stop_timeout_seconds=30,
    )
    try:
        second.spawn()
        assert stack.client is not None
        client = WithdrawalClient(stack.client, config.task_queue)
        sms = HttpSmsProvider(stack.urls.sms)
        gate = asyncio.Semaphore(CONCURRENCY)
        started = time.monotonic()
        statuses = await asyncio.gather(*(_run_one(client, sms, i, gate) for i in range(BATCH)))
        elapsed = time.monotonic() - started
        identities = await _activity_identities(
            client, [f"w-scale-{i}" for i in range(0, BATCH, max(1, BATCH // 20))]
        )
        movements = stack.simulators[0].stats()["movements"]
    finally:
        second.stop()
        stack.stop()

    assert Counter(statuses) == {Status.SUCCEEDED: BATCH}
    assert len(identities) == 2, f"one worker did everything: {identities}"
    engine = get_engine(postgres_url)
    with Session(engine) as session:
        holds = {h.withdrawal_id: h for h in session.exec(select(tables.Hold))}
        debits = Counter(
            e.withdrawal_id
            for e in session.exec(select(tables.LedgerEntry))
            if e.type == "withdrawal"
        )
        accounts = {a.id: a for a in session.exec(select(tables.Account))}
    duplicates = {key: n for key, n in movements.items() if n != 1}
    mismatches = 0
    for i in range(BATCH):
        wid, account = f"w-scale-{i}", accounts[f"acct-scale-{i}"]
        expected_cash = Money.yuan(ACCOUNT_CASH).fen - _amount(i).fen
        ok = (
            holds[wid].state == tables.HoldState.POSTED.value
            and debits[wid] == 1
            and movements.get(wid) == 1
            and account.cash_fen == expected_cash
            and account.held_fen == 0
        )
        mismatches += not ok
    print(
        f"\nscale-out: {BATCH} withdrawals, 2 workers, PostgreSQL, {elapsed:.1f} s "
        f"({BATCH / elapsed:.1f}/s); activities by worker {dict(identities)}; "
        f"duplicates {len(duplicates)}; mismatches {mismatches}"
    )
    assert duplicates == {}
    assert mismatches == 0
