"""A fake-provider stack whose activities a test can break on purpose (samples-python:
replace an activity by declaring one with the real activity's name)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from ledger import audit, tables
from ledger.db import session_scope
from models.domain import AccountStatus, WithdrawalRequest
from models.messages import Opened, ReviewerCheck, ReviewerVerdict
from tests.workflows.harness import Stack
from tests.workflows.stacks import fake_provider_stack


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
                account.status = AccountStatus.FROZEN
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
    async with fake_provider_stack(
        env, tmp_path, EdgeActivities, auto_settle=auto_settle, save_as=test_name
    ) as (stack, activities):
        yield stack, activities


def set_account_status(stack: Stack, account_id: str, status: str) -> None:
    with session_scope(stack.engine) as session:
        account = session.get(tables.Account, account_id)
        assert account is not None
        account.status = AccountStatus(status)


def audit_outcomes(stack: Stack, withdrawal_id: str, action: str) -> list[str]:
    with Session(stack.engine) as session:
        return [r.outcome for r in audit.entries(session, withdrawal_id) if r.action == action]
