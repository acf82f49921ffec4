"""A fake-provider stack whose activities a test can break on purpose (samples-python:
replace an activity by declaring one with the real activity's name)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from client.withdrawals import WithdrawalClient
from gateways.fakes import FakePayoutProvider, FakeSmsProvider
from ledger import audit, tables
from ledger.db import get_engine, session_scope
from models.domain import WithdrawalRequest
from models.messages import Opened, ReviewerCheck, ReviewerVerdict
from models.money import Money
from tests.workflow.harness import Stack, load_test_accounts
from tests.workflow.keys import review_verify_key
from worker import build_worker

HISTORIES = Path(__file__).parent / "histories"
TEST_CODE_KEY = b"k" * 32
FOUR_EYES_TEST_THRESHOLD = Money.yuan("500.00")


class EdgeActivities(WithdrawalActivities):
    """The real activities, with the faults a test switches on."""

    freeze_account_after_first_open: str | None = None  # and lose that open's answer
    approve_anyone = False  # a broken review activity: lets the applicant approve
    opens = 0

    @activity.defn(name="open_withdrawal")
    async def open_withdrawal(self, request: WithdrawalRequest) -> Opened:
        opened = await super().open_withdrawal(request)
        self.opens += 1
        if self.opens == 1 and self.freeze_account_after_first_open:
            with session_scope(self._engine) as session:
                account = session.get(tables.Account, self.freeze_account_after_first_open)
                assert account is not None
                account.status = "frozen"
            raise ApplicationError("injected: the open committed, its answer was lost")
        return opened

    @activity.defn(name="review_decision")
    async def review_decision(self, check: ReviewerCheck) -> ReviewerVerdict:
        verdict = await super().review_decision(check)
        if self.approve_anyone:
            return ReviewerVerdict(allowed=True, why="approved (broken check)", role="reviewer")
        return verdict


@asynccontextmanager
async def edge_stack(
    env: WorkflowEnvironment, tmp_path: Path, test_name: str, *, auto_settle: bool = True
) -> AsyncIterator[tuple[Stack, EdgeActivities]]:
    engine = get_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    load_test_accounts(engine)
    payout = FakePayoutProvider(auto_settle=auto_settle)
    sms = FakeSmsProvider()
    task_queue = f"withdrawals-{uuid.uuid4().hex[:8]}"
    activities = EdgeActivities(
        engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        review_verify_key=review_verify_key(),
    )

    async def read_code(phone: str) -> str | None:
        return sms.last_code(phone)

    async with build_worker(env.client, activities, task_queue):
        stack = Stack(
            env=env,
            client=WithdrawalClient(env.client, task_queue),
            engine=engine,
            payout=payout,
            sms=sms,
            read_code=read_code,
        )
        try:
            yield stack, activities
            if os.environ.get("SAVE_HISTORIES"):  # new files only (see Stack.save_histories)
                await stack.save_histories(HISTORIES, test_name)
        finally:
            await stack.terminate_leftovers()


def set_account_status(stack: Stack, account_id: str, status: str) -> None:
    with session_scope(stack.engine) as session:
        account = session.get(tables.Account, account_id)
        assert account is not None
        account.status = status


def audit_outcomes(stack: Stack, withdrawal_id: str, action: str) -> list[str]:
    with Session(stack.engine) as session:
        return [r.outcome for r in audit.entries(session, withdrawal_id) if r.action == action]
