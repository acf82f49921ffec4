"""Issue 22 item 2: a withdrawal's history is bounded on every waiting path.

docs/money-at-the-edges.md states the bound: at most
``BASE_EVENTS + EVENTS_PER_DAY·(days waited) + EVENTS_PER_SIGNAL·(signals received)``
events, signals counting every signal and update sent to the run (an update refused by
its validator costs nothing). Each test waits days on one path on the time-skipping server
while signals and updates are thrown at the run directly (as anyone with namespace access
could), and checks the bound at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from gateways.payout import Transfer, TransferState
from ledger.tables import HoldState
from models.domain import Status
from models.limits import CODE_RESEND_COOLDOWN_SECONDS, MAX_CODE_SENDS, PAYOUT_RETRY_TOTAL_HOURS
from models.messages import PayoutOutcome, PayoutResolutionRequest
from models.money import Money
from tests.support.withdrawals import SIGNAL_APPROVE, SIGNAL_PAYOUT_UPDATE, workflow_handle
from tests.workflows.edge_stack import deployed_before_patches_worker, edge_stack
from tests.workflows.harness import Stack
from tests.workflows.test_money_edges import signed
from tests.workflows.test_provider_records import (
    PARKED_HOURS,
    _other_digest,
    approved,
    approved_and_submitted,
    assert_parked_on_mismatch,
    conflicting_request,
    fake_payout,
    history_name,
    start_reviewed,
    wait_hours,
)
from worker import build_worker

# The bound (docs/money-at-the-edges.md), from the figures these tests measured, with room:
# the longest path without signals took 127 events (resends); the same path after 1 and
# after 30 days the same count; a callback, a decision without a proof or an update its
# validator refuses about 2.5 each, an update that runs its activity (resolve_payout
# without a proof, or a code submission since no-local-activities) about 11.
BASE_EVENTS = 150
EVENTS_PER_DAY = 0  # nothing is written per poll or per day waited since the patches
EVENTS_PER_SIGNAL = 12
# Runs started before "payout-confirmed-by-lookup" keep their old settlement loop: a timer
# and a look-up activity per poll, the poll capped at 15 minutes (96 a day).
OLD_POLLING_EVENTS_PER_DAY = 1100
DAYS = 10
FLOOD = 100


def history_bound(days: float, signals: int) -> int:
    return BASE_EVENTS + EVENTS_PER_DAY * round(days) + EVENTS_PER_SIGNAL * signals


def _handle(stack: Stack, withdrawal_id: str) -> WorkflowHandle[object, object]:
    return workflow_handle(stack.env.client, withdrawal_id)


async def assert_bounded(
    stack: Stack,
    withdrawal_id: str,
    days: float,
    signals: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = len((await _handle(stack, withdrawal_id).fetch_history()).events)
    with capsys.disabled():
        print(f"\n{withdrawal_id}: {events} events after {days} days and {signals} signals")
    assert events <= history_bound(days, signals)


async def flood_callbacks(stack: Stack, withdrawal_id: str, count: int) -> None:
    """Callbacks sent straight to the run (the receiver caps what it forwards, a sender
    with namespace access does not go through it)."""
    handle = _handle(stack, withdrawal_id)
    for index in range(count):
        state = TransferState.SUCCEEDED if index % 2 else TransferState.PROCESSING
        claim = Transfer(
            idempotency_key=withdrawal_id,
            state=state,
            amount=Money.yuan("120.00"),
            provider_reference=f"flood-{index}",
        )
        await handle.signal(SIGNAL_PAYOUT_UPDATE, claim)


async def test_history_is_bounded_waiting_in_review(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ten days in review past the SLA, a hundred decisions without a proof, then the
    approval: paid."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        wid = f"w-{uuid.uuid4().hex[:12]}"
        await start_reviewed(stack, wid)
        await stack.env.sleep(timedelta(days=DAYS))
        handle = _handle(stack, wid)
        for index in range(FLOOD):
            await handle.signal(SIGNAL_APPROVE, {"reviewer_id": f"x{index}"})
        await stack.approve(wid, "rev-1")
        doc = await stack.client.result(wid)

        assert doc.status is Status.SUCCEEDED and doc.review_overdue
        await assert_bounded(stack, wid, DAYS, FLOOD + 1, capsys)


async def test_history_is_bounded_while_the_provider_processes(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ten days processing (past the expected arrival), then settled by polling."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        wid = f"w-{uuid.uuid4().hex[:12]}"
        await approved(stack, wid)
        await stack.wait_until(lambda: payout.request_for(wid) is not None)
        await stack.env.sleep(timedelta(days=DAYS))
        payout.settle(wid)
        await stack.env.sleep(timedelta(hours=2))  # the next poll finds it
        doc = await stack.client.result(wid)

        assert doc.status is Status.SUCCEEDED
        await assert_bounded(stack, wid, DAYS, 1, capsys)


async def test_history_is_bounded_under_a_flood_of_callbacks(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A hundred callbacks sent straight to a processing payout, half of them claiming
    success: each costs at most a few events, and only the provider's record settles it."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        wid = await approved_and_submitted(stack)
        await flood_callbacks(stack, wid, FLOOD)
        await stack.env.sleep(timedelta(days=1))
        doc = await stack.client.status(wid)
        assert doc.status is Status.APPROVED_AWAITING_PAYOUT  # no callback settled it
        payout.settle(wid)
        await stack.env.sleep(timedelta(hours=2))  # the next poll finds it
        doc = await stack.client.result(wid)

        assert doc.status is Status.SUCCEEDED
        await assert_bounded(stack, wid, 1, FLOOD + 1, capsys)


async def test_history_is_bounded_while_the_payout_outcome_is_unknown(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No answer for the submit's 24 hours, then ten days parked, twenty resolutions
    without a proof (each runs the resolving activity), then ops resolve it paid."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        payout = fake_payout(stack)
        payout.fail_next_submits(100_000)
        wid = await stack.start(amount="60.00")
        await stack.verify(wid, "acct-auto")
        await stack.wait_status(wid, Status.APPROVED_AWAITING_PAYOUT)
        for _ in range(PAYOUT_RETRY_TOTAL_HOURS + 1):  # an hour at a time (test_money_edges)
            await stack.env.sleep(timedelta(hours=1))
        await stack.wait_until_doc(wid, lambda d: d.payout_unknown)
        await stack.env.sleep(timedelta(days=DAYS))
        unsigned = PayoutResolutionRequest(
            withdrawal_id=wid,
            reviewer_id="ops-1",
            outcome=PayoutOutcome.NOT_PAID,
            evidence="no proof of sign-in",
        )
        for _ in range(20):
            verdict = await stack.client.resolve_payout(unsigned)
            assert verdict.accepted is False
        paid = PayoutResolutionRequest(
            withdrawal_id=wid,
            reviewer_id="ops-1",
            outcome=PayoutOutcome.PAID,
            evidence="bank statement line 3",
            reference="BANK-REF-22",
        )
        await stack.client.resolve_payout(signed(stack, paid))
        doc = await stack.client.result(wid)

        assert doc.status is Status.SUCCEEDED
        await assert_bounded(stack, wid, DAYS + 1, 21, capsys)


async def test_history_is_bounded_while_parked_on_a_mismatch(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Another payee's transfer under the key: parked, ten days on the parked schedule,
    a hundred callbacks claiming success: still parked, money held."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        wid = f"w-{uuid.uuid4().hex[:12]}"
        await fake_payout(stack).submit(conflicting_request(wid))
        await approved(stack, wid)
        await stack.wait_until_doc(wid, lambda d: d.payout_unknown)
        await stack.env.sleep(timedelta(days=DAYS))
        await flood_callbacks(stack, wid, FLOOD)
        await stack.env.sleep(timedelta(hours=1))
        doc = await stack.client.status(wid)

        assert (doc.status, doc.payout_unknown) == (Status.APPROVED_AWAITING_PAYOUT, True)
        await assert_bounded(stack, wid, DAYS, FLOOD + 1, capsys)


async def test_history_is_bounded_through_resends_and_wrong_codes(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every resend the limit allows, a hundred more refused by the validator (no
    history), four wrong codes, then the right one."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        wid = await stack.start(amount="50.00")
        await stack.wait_status(wid, Status.AWAITING_CODE)
        updates = 0
        for _ in range(MAX_CODE_SENDS - 1):
            await stack.env.sleep(timedelta(seconds=CODE_RESEND_COOLDOWN_SECONDS + 1))
            updates += 1
            await stack.client.resend(wid)
        for _ in range(FLOOD):
            updates += 1
            with pytest.raises(WorkflowUpdateFailedError):
                await stack.client.resend(wid)
        code = await stack.code_for("acct-auto")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(4):
            updates += 1
            await stack.client.submit_code(wid, wrong)
        result = await stack.client.submit_code(wid, code)
        doc = await stack.client.result(wid)

        assert result.verdict.value == "verified" and doc.status is Status.SUCCEEDED
        await assert_bounded(stack, wid, 0, updates + 1, capsys)


async def test_a_run_from_before_the_patches_keeps_its_old_polling_rate(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Started by the worker deployed before the patches and taken over by today's: its
    settlement loop adds events per poll, at most ``OLD_POLLING_EVENTS_PER_DAY`` a day."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        activities,
    ):
        payout = fake_payout(stack)
        old_worker, old_stack = deployed_before_patches_worker(stack, activities)
        async with old_worker:
            wid = await old_stack.start(amount="75.00")
            await old_stack.verify(wid, "acct-auto")
            await stack.wait_until(lambda: payout.request_for(wid) is not None)
        task_queue = old_stack.client.task_queue
        async with build_worker(stack.env.client, activities, task_queue):  # the deploy
            await stack.env.sleep(timedelta(days=1))
            before = len((await _handle(stack, wid).fetch_history()).events)
            await stack.env.sleep(timedelta(days=1))
            after = len((await _handle(stack, wid).fetch_history()).events)
        with capsys.disabled():
            print(f"\nold polling: {after - before} events in a day")
        assert 0 < after - before <= OLD_POLLING_EVENTS_PER_DAY


async def test_a_record_flipping_between_matching_and_not_stays_parked_until_final(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Review finding 2 (issue 22, R19): two provider replicas answer in turn, one with
    the transfer paying someone else, one with the matching ``processing`` record. Before
    PATCH_PARKED_UNTIL_FINAL the matching answer unparked the payout and the next watch
    reported the mismatch at once, in a loop with no timer (2,539 events in 8 s). Now the
    payout stays parked (money held) until a final matching record, which pays it once."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        wid = await approved_and_submitted(stack)
        real_lookup = payout.lookup
        answers = {"count": 0}

        async def flipping(key: str) -> Transfer | None:
            found = await real_lookup(key)
            if found is None or key != wid:
                return found
            answers["count"] += 1
            if answers["count"] % 2:  # the stale replica: another payee
                return found.model_copy(update={"payee_digest": _other_digest()})
            return found

        payout.lookup = flipping  # type: ignore[method-assign,assignment]
        await assert_parked_on_mismatch(stack, wid)
        await wait_hours(stack, PARKED_HOURS)

        doc = await stack.client.status(wid)
        assert (doc.status, doc.payout_unknown) == (Status.APPROVED_AWAITING_PAYOUT, True)
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.HELD.value
        assert stack.debits(wid) == []
        events = (await _handle(stack, wid).fetch_history()).events
        signals = sum(
            1
            for event in events
            if event.event_type
            in (
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            )
        )
        await assert_bounded(stack, wid, PARKED_HOURS / 24, signals, capsys)

        payout.rewrite(wid, state=TransferState.SUCCEEDED)  # the final, matching record
        await wait_hours(stack, 2)  # the parked schedule's next matching look-up
        doc = await asyncio.wait_for(stack.client.result(wid), 60)
        assert doc.status is Status.SUCCEEDED
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.POSTED.value
        assert len(stack.debits(wid)) == 1
        assert payout.moved_count(wid) == 1
