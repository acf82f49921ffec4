"""A fake-provider stack whose activities a test can break on purpose (samples-python:
replace an activity by declaring one with the real activity's name)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.withdrawal import WithdrawalActivities
from client.withdrawals import WithdrawalClient
from ledger import audit, tables
from ledger.db import session_scope
from models.domain import AccountStatus, WithdrawalRequest
from models.messages import Opened, ReviewerCheck, ReviewerVerdict
from tests.workflows import deployed_before_patches
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


def deployed_before_patches_worker(
    stack: Stack, activities: WithdrawalActivities
) -> tuple[Worker, Stack]:
    """A worker of the workflow as deployed before the patches, on a task queue of its
    own, and a stack driving that queue (same ledger and providers). It caches no run, so
    once today's worker serves the queue (``build_worker``, the deploy) it takes over."""
    task_queue = f"withdrawals-old-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        stack.env.client,
        task_queue=task_queue,
        workflows=[deployed_before_patches.WithdrawalWorkflow],
        activities=[
            activities.open_withdrawal,
            activities.send_code,
            activities.check_code,
            activities.review_decision,
            activities.record_status,
            activities.submit_payout,
            activities.check_payout,
            activities.settle,
        ],
        max_cached_workflows=0,  # no sticky queue: the next task goes to the new worker
    )
    client = WithdrawalClient(stack.env.client, task_queue)
    return worker, dataclasses.replace(stack, client=client, started=stack.started)
