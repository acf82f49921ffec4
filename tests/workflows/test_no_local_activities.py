"""Patch ``no-local-activities``: new runs run ``check_code`` and ``record_status`` as
activities, so no result of theirs can reach the workflow at one point live and at
another on replay.

``make simulate``'s real stage (seed 1 script 81, seed 2 script 95) recorded histories
that fail replay with "Non-deprecated patch marker encountered for change
payout-submit-checked": the ``submit_code`` update's ``check_code`` local activity had its
marker recorded in one workflow task, but live its result reached the workflow only with
the next task's activity result (a review-key load), while replay hands it over in its own
task. Core's late hand-over cannot be forced on demand (the simulator's reruns are that
evidence); these tests check what removes the dependence on it: on the paths that run
them (a code check right or wrong, the review's overdue flag, a refusal at open), new
runs record activities and no local-activity marker, and replay. (The count of refused
decisions and a parked payout record through the same ``StatusRoom.transition``.)
Runs recorded before the patch keep their local activities (their saved histories replay
in ``test_replay.py``; here, one recorded live with the patch forced off).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from client.connection import data_converter
from models.domain import Kind, Route, Status
from models.limits import REVIEW_SLA_HOURS
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack, alipay_payee, start_with_a_typed_branch
from tests.workflows.keys import TEST_KEYS
from tests.workflows.test_review_timer_numbers import _patched
from tests.workflows.test_status_with_step import patch_forced_off
from workflows.patches import PATCH_NO_LOCAL_ACTIVITIES
from workflows.withdrawal import WithdrawalWorkflow

LOCAL_ACTIVITY_MARKER = "core_local_activity"
# the code check is ``check_code_answered`` since code-check-answered, ``check_code`` before
WATCHED = ("check_code", "check_code_answered", "record_status")


def local_activity_markers(history: WorkflowHistory) -> int:
    return sum(
        1
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    )


def scheduled(history: WorkflowHistory) -> Counter[str]:
    """How often each of ``WATCHED`` was scheduled as an activity."""
    return Counter(
        name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and (name := event.activity_task_scheduled_event_attributes.activity_type.name) in WATCHED
    )


async def paid_without_review(stack: Stack) -> str:
    wid = await stack.start(amount="42.00")
    await stack.verify(wid, "acct-auto")
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


async def a_wrong_code_then_the_right_one(stack: Stack) -> str:
    wid = await stack.start(amount="43.00")
    await stack.wait_status(wid, Status.AWAITING_CODE)
    right = await stack.code_for("acct-auto")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert (await stack.client.submit_code(wid, wrong)).attempts_left == 4
    assert (await stack.client.submit_code(wid, right)).verdict.value == "verified"
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


async def review_past_its_sla_then_approved(stack: Stack) -> str:
    wid = await stack.start(
        account_id="acct-ent",
        amount="21.00",
        kind=Kind.NON_RECHARGE,
        route=Route.ALIPAY,
        payee=alipay_payee(),
    )
    await stack.verify(wid, "acct-ent")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    await stack.env.sleep(REVIEW_SLA_HOURS * 3600 + 60)
    assert (await stack.client.status(wid)).review_overdue is True  # recorded: record_status
    await stack.approve(wid, "rev-1")
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


async def refused_at_open(stack: Stack) -> str:
    wid = await start_with_a_typed_branch(stack)
    assert (await stack.client.result(wid)).status is Status.FAILED  # recorded: record_status
    return wid


Path_ = Callable[[Stack], Awaitable[str]]
# path: (its run, check_code and record_status activities it schedules)
PATHS: dict[str, tuple[Path_, Counter[str]]] = {
    "auto": (paid_without_review, Counter(check_code_answered=1)),
    "wrong_code": (a_wrong_code_then_the_right_one, Counter(check_code_answered=2)),
    "overdue_review": (
        review_past_its_sla_then_approved,
        Counter(check_code_answered=1, record_status=1),
    ),
    "refused_at_open": (refused_at_open, Counter(record_status=1)),
}


async def _replays(history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=[WithdrawalWorkflow], data_converter=data_converter(TEST_KEYS))
    await replayer.replay_workflow(history)


@pytest.mark.parametrize("path", PATHS)
async def test_new_runs_check_codes_and_record_statuses_by_activities(
    fake_stack: Stack, path: str
) -> None:
    run, expected = PATHS[path]
    wid = await run(fake_stack)
    history = await workflow_handle(fake_stack.env.client, wid).fetch_history()

    assert _patched(history, PATCH_NO_LOCAL_ACTIVITIES)
    assert local_activity_markers(history) == 0
    assert scheduled(history) == expected
    await _replays(history)


async def test_a_run_from_before_the_patch_keeps_its_local_activities(fake_stack: Stack) -> None:
    with patch_forced_off(PATCH_NO_LOCAL_ACTIVITIES):
        wid = await review_past_its_sla_then_approved(fake_stack)
    history = await workflow_handle(fake_stack.env.client, wid).fetch_history()

    assert not _patched(history, PATCH_NO_LOCAL_ACTIVITIES)
    assert local_activity_markers(history) == 2  # the code check and the overdue flag
    assert scheduled(history) == Counter()
    await _replays(history)
