"""Patch ``code-check-answered``: a code check run as an activity is one a worker from
before ``status-written-with-its-step`` cannot take, and the status it carries counts as
written only on its answer.

Once ``check_code`` was an activity (``no-local-activities``), any worker polling the
task queue could run it, one deployed before the carried status included: pydantic drops
``CodeCheck.then`` unread, the worker writes no status, and the run took it as written.
The ledger then said "awaiting code" while the money was paid out, or while the
withdrawal waited for reviewers, whose queue lists by the ledger's status (R17, R18).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from application.review_queue import waiting_for_review
from models.domain import Status
from models.messages import CodeAnswer, CodeCheck
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack
from tests.workflows.stacks import fake_provider_stack
from tests.workflows.test_no_local_activities import paid_without_review, scheduled
from tests.workflows.test_review_timer_numbers import _patched
from tests.workflows.test_status_with_step import (
    CountingActivities,
    _designated,
    ledger_of,
    patch_forced_off,
)
from workflows.patches import PATCH_CODE_CHECK_ANSWERED, PATCH_PLAIN_CODE_CHECK_RECORDED

APPROVAL = (Status.APPROVED_AWAITING_PAYOUT, "approved, paying out")


def _dropped(check: CodeCheck) -> CodeCheck:
    """``check`` as a worker from before the carried status reads it: no ``then``."""
    return CodeCheck.model_validate(check.model_dump(exclude={"then"}))


class OlderCodeWorker(CountingActivities):
    """``check_code`` as a worker deployed before status-written-with-its-step runs it."""

    @activity.defn(name="check_code")
    async def check_code(self, check: CodeCheck) -> bool:
        return await super().check_code(_dropped(check))


class UnwrittenCheck(CountingActivities):
    """A right code whose carried status did not reach the ledger, and an answer that says
    so: the run must record the status itself."""

    @activity.defn(name="check_code_answered")
    async def check_code_answered(self, check: CodeCheck) -> CodeAnswer:
        return await super().check_code_answered(_dropped(check))


async def test_an_auto_withdrawal_is_never_checked_by_a_worker_that_drops_its_status(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    name = "test_an_auto_withdrawal_is_never_checked_by_a_worker_that_drops_its_status"
    async with fake_provider_stack(time_skipping_env, tmp_path, OlderCodeWorker, save_as=name) as (
        stack,
        activities,
    ):
        wid = await paid_without_review(stack)
        ledger = ledger_of(stack, wid)
        history = await workflow_handle(stack.env.client, wid).fetch_history()

    assert _patched(history, PATCH_CODE_CHECK_ANSWERED)
    assert scheduled(history)["check_code"] == 0
    assert APPROVAL in ledger["timeline"]
    assert "withdrawal.approved_awaiting_payout" in [kind for _, kind, _ in ledger["events"]]
    assert activities.record_status_runs == 0  # written with the check, as issue 24 saved


async def test_a_reviewed_withdrawal_reaches_the_reviewers_queue_in_a_rolling_deploy(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with fake_provider_stack(time_skipping_env, tmp_path, OlderCodeWorker) as (stack, _):
        wid = await _designated(stack)
        await stack.verify(wid, "acct-auto")
        await stack.wait_status(wid, Status.UNDER_REVIEW)
        record = stack.record(wid)
        queue = [item.id for item in waiting_for_review(stack.engine, datetime.now(UTC))]

    assert record.status == Status.UNDER_REVIEW.value
    assert wid in queue


async def test_a_carried_status_the_check_did_not_write_is_recorded_by_the_run(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    name = "test_a_carried_status_the_check_did_not_write_is_recorded_by_the_run"
    async with fake_provider_stack(time_skipping_env, tmp_path, UnwrittenCheck, save_as=name) as (
        stack,
        activities,
    ):
        wid = await paid_without_review(stack)
        ledger = ledger_of(stack, wid)

    assert ledger["timeline"].count(APPROVAL) == 1
    assert activities.record_status_runs == 1  # the run recorded what the check did not


async def _wrong_before_the_deploy_right_after(stack: Stack) -> str:
    """A run recorded between no-local-activities and code-check-answered: its wrong code
    checked by the plain ``check_code`` before the deploy (the answer kept for the run),
    its right code after it."""
    wid = await stack.start(amount="44.00")
    await stack.wait_status(wid, Status.AWAITING_CODE)
    right = await stack.code_for("acct-auto")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with patch_forced_off(PATCH_CODE_CHECK_ANSWERED):
        assert (await stack.client.submit_code(wid, wrong)).attempts_left == 4
    assert (await stack.client.submit_code(wid, right)).verdict.value == "verified"
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


async def test_a_plain_check_after_the_deploy_still_reaches_the_ledger_via_an_older_worker(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    name = "test_a_plain_check_after_the_deploy_still_reaches_the_ledger_via_an_older_worker"
    async with fake_provider_stack(time_skipping_env, tmp_path, OlderCodeWorker, save_as=name) as (
        stack,
        activities,
    ):
        wid = await _wrong_before_the_deploy_right_after(stack)
        ledger = ledger_of(stack, wid)
        history = await workflow_handle(stack.env.client, wid).fetch_history()

    assert not _patched(history, PATCH_CODE_CHECK_ANSWERED)
    assert _patched(history, PATCH_PLAIN_CODE_CHECK_RECORDED)
    assert scheduled(history)["check_code"] == 2
    assert ledger["timeline"].count(APPROVAL) == 1
    assert activities.record_status_runs == 1  # the run recorded what the worker dropped


async def test_a_plain_check_by_a_new_worker_writes_the_approval_once(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    name = "test_a_plain_check_by_a_new_worker_writes_the_approval_once"
    async with fake_provider_stack(
        time_skipping_env, tmp_path, CountingActivities, save_as=name
    ) as (stack, _):
        wid = await _wrong_before_the_deploy_right_after(stack)
        ledger = ledger_of(stack, wid)

    assert ledger["timeline"].count(APPROVAL) == 1
    kinds = [kind for _, kind, _ in ledger["events"]]
    assert kinds.count("withdrawal.approved_awaiting_payout") == 1
