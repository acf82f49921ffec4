"""No global lock on the write path (PostgreSQL): while one transaction holds account A's
locks open, with an audit row of A's withdrawal written and not yet committed, a
withdrawal of account B opens, records its statuses, audits and settles.

Before per-withdrawal audit chains, every audit append took one global advisory lock
held until commit, so B's first audit row waited for A's transaction (R14 only needs
A's own account and order locks).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from gateways.http_payout import HttpPayoutProvider
from gateways.http_sms import HttpSmsProvider
from ledger import audit, holds
from ledger.db import read_only_session
from models.domain import Status
from standins.simulators.runner import RunningServer
from tests.workflows.harness import Stack
from tests.workflows.stacks import TEST_CODE_KEY, inbox_code_reader, loaded_ledger, serving

ACCOUNT_A, ORDER_A = "acct-auto", "R-ALIPAY"
ACCOUNT_B, ORDER_B = "acct-member", "R-MEMBER"


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_stack(
    dev_env: WorkflowEnvironment,
    simulators: tuple[RunningServer, RunningServer],
    postgres_url: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The dev server, a PostgreSQL ledger, and the HTTP simulators end to end."""
    payout_server, sms_server = simulators
    payout_server.set_faults()
    engine = loaded_ledger(postgres_url)
    payout, sms = HttpPayoutProvider(payout_server.url), HttpSmsProvider(sms_server.url)
    activities = WithdrawalActivities(engine, payout, sms, TEST_CODE_KEY)
    async with serving(dev_env, activities, engine, payout, sms, inbox_code_reader(sms)) as stack:
        yield stack


async def test_account_b_withdraws_while_account_a_is_locked(postgres_stack: Stack) -> None:
    engine = postgres_stack.engine
    held_withdrawal = f"w-held-{uuid.uuid4().hex[:8]}"
    with Session(engine) as holder:  # account A's transaction, left open on purpose
        holds.lock_account(holder, ACCOUNT_A)
        holds.lock_order(holder, ORDER_A)
        audit.append(
            holder, actor="tester", action="test.hold", subject=held_withdrawal, outcome="open"
        )

        with Session(engine) as other:  # A really is locked: R14 still serialises A
            other.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                holds.lock_account(other, ACCOUNT_A)

        wid = await postgres_stack.start(account_id=ACCOUNT_B, order_id=ORDER_B, amount="80.00")
        await postgres_stack.verify(wid, ACCOUNT_B)
        doc = await postgres_stack.client.result(wid)
        assert doc.status is Status.SUCCEEDED
        assert holder.in_transaction()  # A's locks were held the whole time
        holder.rollback()

    with read_only_session(engine) as session:
        actions = [row.action for row in audit.entries(session, subject=wid)]
        assert audit.verify(session).ok
    assert actions[0] == "withdrawal.request" and actions[-1] == "status.succeeded"
    assert "hold.reserve" in actions and "code.check" in actions
    record = postgres_stack.record(wid)
    assert record.status == Status.SUCCEEDED.value
    assert [e.direction for e in postgres_stack.debits(wid)] == ["debit"]
