"""Review of ``status-written-with-its-step`` (issue 24, item 2): what a deploy in the
middle of running withdrawals, and a stranger's signal, do to the ledger's statuses and
webhook events.

``review_decision`` is a regular activity: during a rolling deploy an older worker (one
without the patch, polling the same task queue) can take the task a newer run scheduled.
It ignores ``ReviewerCheck.then`` (pydantic drops an unknown field) and writes no
status; the run must not take the approval as written by it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from models.domain import Status
from models.messages import ReviewDecision, ReviewerCheck, ReviewerVerdict
from tests.support.withdrawals import SIGNAL_REJECT, workflow_handle
from tests.workflows.harness import Stack
from tests.workflows.stacks import fake_provider_stack
from tests.workflows.test_status_with_step import (
    HELD_CHECK_SECONDS,
    SETTLE_SECONDS,
    CountingActivities,
    HeldApprovalActivities,
    _designated,
    ledger_of,
)

APPROVAL = (Status.APPROVED_AWAITING_PAYOUT, "approved, paying out")


async def _approved_and_paid(stack: Stack) -> dict[str, Any]:
    """A designated withdrawal verified, approved by rev-1 and paid: its ledger view."""
    wid = await _designated(stack)
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    await stack.approve(wid, "rev-1", "proof matches")
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return ledger_of(stack, wid)


class OlderReviewWorker(CountingActivities):
    """``review_decision`` as a worker deployed before the patch runs it: ``then`` is
    not a field it knows, so it is dropped and no status is written with the decision."""

    @activity.defn(name="review_decision")
    async def review_decision(self, check: ReviewerCheck) -> ReviewerVerdict:
        older = ReviewerCheck.model_validate(check.model_dump(exclude={"then"}))
        return await super().review_decision(older)


async def test_an_approval_weighed_by_an_older_worker_still_reaches_the_ledger(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """R18: the ledger (the withdrawal list, the webhooks) shows "approved, paying out"
    while the money is paid out, even when the deciding approval was weighed by a worker
    that does not write it (rolling deploy)."""
    name = "test_an_approval_weighed_by_an_older_worker_still_reaches_the_ledger"
    async with fake_provider_stack(
        time_skipping_env, tmp_path, OlderReviewWorker, save_as=name
    ) as (stack, activities):
        ledger = await _approved_and_paid(stack)

    assert APPROVAL in ledger["timeline"]
    assert activities.record_status_runs == 1  # the run recorded what the worker did not
    kinds = [kind for _, kind, _ in ledger["events"]]
    assert "withdrawal.approved_awaiting_payout" in kinds


async def test_a_refused_signal_during_the_deciding_approval_sends_one_approval_event(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """One unauthenticated ``reject`` signal (anyone with namespace access can send it),
    landing while the deciding approval is weighed: webhook consumers must see the
    approval once and the status never going back to under review. Since
    carried-status-acknowledged the count of refused decisions is filed under the status
    the approval wrote, and the step to the payout records nothing again (R18)."""
    name = "test_a_refused_signal_during_the_deciding_approval_sends_one_approval_event"
    async with fake_provider_stack(
        time_skipping_env, tmp_path, HeldApprovalActivities, save_as=name
    ) as (stack, activities):
        wid = await _designated(stack)
        await stack.verify(wid, "acct-auto")
        await stack.wait_status(wid, Status.UNDER_REVIEW)
        approved = asyncio.create_task(stack.approve(wid, "rev-1", "proof matches"))
        await asyncio.wait_for(activities.deciding.wait(), timeout=HELD_CHECK_SECONDS)
        handle = workflow_handle(stack.env.client, wid)
        await handle.signal(SIGNAL_REJECT, ReviewDecision(reviewer_id="x", comment="", proof=None))
        await asyncio.sleep(SETTLE_SECONDS)
        activities.go_on.set()
        await approved
        doc = await stack.client.result(wid)
        ledger = ledger_of(stack, wid)

    assert doc.status is Status.SUCCEEDED
    kinds = [kind for _, kind, _ in ledger["events"] if kind != "withdrawal.updated"]
    assert kinds.count("withdrawal.approved_awaiting_payout") == 1, kinds
    after_approval = kinds[kinds.index("withdrawal.approved_awaiting_payout") :]
    assert "withdrawal.under_review" not in after_approval, kinds
    counted = "1 more decisions without a valid proof refused (counted only)"
    assert ledger["timeline"][-3:] == [
        APPROVAL,
        (Status.APPROVED_AWAITING_PAYOUT, counted),
        (Status.SUCCEEDED, "money sent"),
    ]
    assert activities.record_status_runs == 1  # the count only, not the approval again


async def test_an_acknowledged_approval_is_not_recorded_again(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The same path with a worker that writes the carried status and says so: the run
    records nothing itself (issue 24's saving kept)."""
    name = "test_an_acknowledged_approval_is_not_recorded_again"
    async with fake_provider_stack(
        time_skipping_env, tmp_path, CountingActivities, save_as=name
    ) as (stack, activities):
        ledger = await _approved_and_paid(stack)

    assert ledger["timeline"].count(APPROVAL) == 1
    assert activities.record_status_runs == 0
