"""Patch ``review-wait-settles-before-timer`` (seeded simulations, issue 23 item 3): the
review loop starts its SLA timer only after the activation's other coroutines have run
and no review-key load is in flight.

Seeded simulations recorded histories that fail replay with "Timer fired event did not
have expected timer id 6, it was 7": a signed approve loaded the review keys (the
``review_verify_keys`` local activity, from its signal handler) while the
``review_decision`` activity of a refused decision ran; live, the loop started its SLA
timer on that activity's result and the handler's decision cancelled it within the same
workflow task (core drops both commands, but the number is used), while replay, which
brought the local activity's result first, never started it. Here the same race is set
up (the activity held until the approve's key load has begun) and the history must
replay with timer numbers that leave no gap (a gap is a timer live started and replay
cannot).

The live ordering that started the timer was not reproduced on demand; this test guards
the new path and its saved history, it does not fail without the patch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio import activity
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.withdrawal import WithdrawalActivities
from application.reviews import authenticate, issue_decision_proof
from client.connection import data_converter
from models.domain import Kind, Route, Status
from models.messages import ReviewDecision, ReviewDecisionKind, ReviewerCheck, ReviewerVerdict
from tests.workflows.harness import Stack, bank_payee
from tests.workflows.keys import TEST_KEYS, review_signing_key, review_verify_key
from tests.workflows.stacks import (
    FOUR_EYES_TEST_THRESHOLD,
    HISTORIES,
    TEST_CODE_KEY,
    workerless_fake_stack,
)
from worker import build_worker
from workflows.contract import SIGNAL_REJECT
from workflows.patches import PATCH_REVIEW_WAIT_SETTLES
from workflows.withdrawal import WithdrawalWorkflow

HELD_SECONDS = 0.3  # the refused decision's activity runs while the approve arrives


def _timer_ids(history: WorkflowHistory) -> list[int]:
    return [
        int(event.timer_started_event_attributes.timer_id)
        for event in history.events
        if event.HasField("timer_started_event_attributes")
    ]


def _patched(history: WorkflowHistory, patch_id: str) -> bool:
    """A ``core_patch`` marker names the id (core writes it as plain JSON)."""
    return any(
        event.marker_recorded_event_attributes.marker_name == "core_patch"
        and patch_id.encode() in event.marker_recorded_event_attributes.SerializeToString()
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    )


@asynccontextmanager
async def key_load_racing_a_decision(
    env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[Stack, WorkflowHistory]]:
    """A raw reject (no proof) is refused and recorded by a held ``review_decision``; a
    signed approve arrives while that activity runs and loads the keys. Yields the stack
    and the run's history (the worker stopped); leftovers are terminated after."""
    stack, payout, sms = workerless_fake_stack(env, tmp_path)
    task_queue = stack.client.task_queue
    activities = WithdrawalActivities(
        stack.engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        review_verify_key=[review_verify_key()],
    )
    weigh = activities.review_decision

    @activity.defn(name="review_decision")
    async def held_review_decision(check: ReviewerCheck) -> ReviewerVerdict:
        await asyncio.sleep(HELD_SECONDS)
        return await weigh(check)

    activities.review_decision = held_review_decision  # type: ignore[method-assign]
    try:
        async with build_worker(env.client, activities, task_queue):
            wid = await stack.start(
                account_id="acct-ent",
                amount="510.00",
                kind=Kind.NON_RECHARGE,
                route=Route.BANK,
                payee=bank_payee(),
            )
            await stack.verify(wid, "acct-ent")
            await stack.wait_status(wid, Status.UNDER_REVIEW)
            reviewer = authenticate(stack.engine, "rev-1", stack.passwords["rev-1"])
            proof = issue_decision_proof(
                reviewer,
                wid,
                ReviewDecisionKind.APPROVE,
                "checked",
                signing_key=review_signing_key(),
                now=await stack.workflow_now(),
            )
            handle = stack.client.temporal.get_workflow_handle(f"withdrawal-{wid}")
            await handle.signal(
                SIGNAL_REJECT, ReviewDecision(reviewer_id="rev-kin", comment="no", proof=None)
            )
            await asyncio.sleep(HELD_SECONDS / 3)
            approved = await stack.client.decide(
                wid, ReviewDecisionKind.APPROVE, "rev-1", "checked", proof=proof
            )
            assert approved is not None and approved.accepted, approved
            history = await handle.fetch_history()
        yield stack, history
    finally:
        await stack.terminate_leftovers()


async def test_a_key_load_racing_a_review_decision_leaves_no_timer_number_unused(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with key_load_racing_a_decision(time_skipping_env, tmp_path) as (stack, history):
        assert _patched(history, PATCH_REVIEW_WAIT_SETTLES)
        ids = _timer_ids(history)
        assert ids == list(range(1, len(ids) + 1)), ids
        replayer = Replayer(
            workflows=[WithdrawalWorkflow], data_converter=data_converter(TEST_KEYS)
        )
        await replayer.replay_workflow(history)
        if os.environ.get("SAVE_HISTORIES"):
            await stack.save_histories(
                HISTORIES, "test_a_key_load_racing_a_review_decision_leaves_no_timer_number_unused"
            )
