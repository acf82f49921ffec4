"""Issue 22, items 1 and 3: money moves only on the provider's matching record.

Every entry point where the workflow learns a transfer's state (the look-up before a
submit, the submit's answer, a key conflict, the watch, a callback's confirmation, ops'
resolution) goes through ``models.provider_record.check_record``. A record that does not
match is never acted on: the payout is parked (``payout_unknown``, money held, the
mismatch in the timeline and the audit trail, ``attention`` lists it) and the provider is
looked up again on the parked schedule, never in a loop. Each test runs the real workflow
on the time-skipping server (a server of its own: they move its clock by hours).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from application.payout_resolution import NothingToResolve, resolve_payout
from gateways.payout import Transfer, TransferRequest, TransferState, payee_digest
from ledger.payout_resolution import ProviderAnswer
from ledger.payouts import prepare_transfer
from ledger.tables import HoldState, PayoutResolution
from ledger.withdrawals import recorded_request
from models.domain import Route, Status, WithdrawalStatusDoc
from models.limits import PAYOUT_RETRY_TOTAL_HOURS
from models.messages import PayoutOutcome, PayoutResolutionRequest, PayoutResolutionVerdict
from models.money import Money
from observability.attention import payouts_unknown
from standins.fakes import FakePayoutProvider
from standins.simulators.runner import RunningServer
from tests.security.test_people_not_ids import held_under_review, not_paid
from tests.support.driving import reviewed_bank_withdrawal
from tests.support.withdrawals import SIGNAL_PAYOUT_UPDATE, workflow_handle
from tests.workflows.edge_stack import audit_outcomes, edge_stack
from tests.workflows.harness import Stack, bank_payee, now
from tests.workflows.keys import review_verify_key
from tests.workflows.stacks import simulator_stack
from tests.workflows.test_money_edges import signed

OTHER_ACCOUNT = "6222020200117777123"  # someone else's card (no magic suffix)
AMOUNT = "120.00"
PARKED_HOURS = 10
MAX_EVENTS_AFTER_PARKED_HOURS = 200
# Ten hours on the parked schedule (10 minutes doubling to an hour): about a dozen.
MAX_LOOKUPS_PARKED = 20
# Real seconds the ten simulated hours may take; a workflow in a loop never gets there.
SLEEP_REAL_SECONDS = 120


def history_name(request: pytest.FixtureRequest) -> str:
    """The test's name, as its saved histories are named."""
    return request.node.name.replace("[", "-").replace("]", "")


def fake_payout(stack: Stack) -> FakePayoutProvider:
    assert isinstance(stack.payout, FakePayoutProvider)
    return stack.payout


def conflicting_request(withdrawal_id: str) -> TransferRequest:
    """Same key, same amount, another payee: a transfer that is not this withdrawal's."""
    return TransferRequest(
        idempotency_key=withdrawal_id,
        amount=Money.yuan(AMOUNT),
        route=Route.BANK,
        payee=bank_payee(OTHER_ACCOUNT),
    )


async def start_reviewed(stack: Stack, withdrawal_id: str) -> None:
    await reviewed_bank_withdrawal(stack, AMOUNT, withdrawal_id)


async def approved(stack: Stack, withdrawal_id: str) -> None:
    await start_reviewed(stack, withdrawal_id)
    await stack.approve(withdrawal_id, "rev-1")


async def approved_and_submitted(stack: Stack) -> str:
    """A reviewed bank withdrawal, approved, its transfer accepted by the provider."""
    wid = f"w-{uuid.uuid4().hex[:12]}"
    await approved(stack, wid)
    await stack.wait_until_doc(
        wid, lambda d: any("accepted by the provider" in e.note for e in d.timeline)
    )
    return wid


async def history_events(stack: Stack, withdrawal_id: str) -> int:
    handle = workflow_handle(stack.env.client, withdrawal_id)
    return len((await handle.fetch_history()).events)


async def wait_hours(stack: Stack, hours: int) -> None:
    """Simulated hours; a workflow spinning without a timer keeps the test server from
    skipping time, so this then fails instead of hanging."""
    await asyncio.wait_for(stack.env.sleep(timedelta(hours=hours)), SLEEP_REAL_SECONDS)


async def assert_parked_on_mismatch(stack: Stack, withdrawal_id: str) -> WithdrawalStatusDoc:
    """Parked, money held, the mismatch in timeline, ledger and audit trail, listed by
    ``attention``; nothing posted or voided."""
    doc = await stack.wait_until_doc(withdrawal_id, lambda d: d.payout_unknown)
    assert doc.status is Status.APPROVED_AWAITING_PAYOUT
    notes = [entry.note for entry in doc.timeline]
    assert any("pays someone else" in note for note in notes), notes
    assert OTHER_ACCOUNT not in doc.model_dump_json()  # the verdict names no payee detail
    hold = stack.hold(withdrawal_id)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert stack.debits(withdrawal_id) == []
    assert stack.record(withdrawal_id).payout_unknown is True
    audited = audit_outcomes(stack, withdrawal_id, "payout.record")
    audited += audit_outcomes(stack, withdrawal_id, "payout.callback")
    assert {"mismatch", "ignored"} & set(audited), audited
    with Session(stack.engine) as session:
        assert withdrawal_id in [item.withdrawal_id for item in payouts_unknown(session, now())]
    return doc


async def assert_stays_parked(stack: Stack, withdrawal_id: str) -> None:
    """Ten simulated hours later: still parked, money held, the history small, and the
    provider asked on the parked schedule rather than in a loop."""
    lookups = fake_payout(stack).lookup_calls
    await wait_hours(stack, PARKED_HOURS)
    doc = await stack.client.status(withdrawal_id)
    assert (doc.status, doc.payout_unknown) == (Status.APPROVED_AWAITING_PAYOUT, True)
    hold = stack.hold(withdrawal_id)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert await history_events(stack, withdrawal_id) < MAX_EVENTS_AFTER_PARKED_HOURS
    assert 0 < fake_payout(stack).lookup_calls - lookups <= MAX_LOOKUPS_PARKED


# ---- item 1: one check for every provider record ---------------------------------------
async def test_a_conflicting_transfer_found_before_the_submit_parks_the_payout(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The look-up before a submit finds a transfer under the withdrawal's key paying
    someone else (already succeeded). Today's main posted the hold on it; now it is parked,
    never submitted again, and two ops `--not-paid` release it (a mismatch does not block)."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        payout = fake_payout(stack)
        wid = f"w-{uuid.uuid4().hex[:12]}"
        seeded = await payout.submit(conflicting_request(wid))
        assert seeded.state is TransferState.SUCCEEDED
        await approved(stack, wid)

        await assert_parked_on_mismatch(stack, wid)
        assert payout.submit_calls == 1  # only the seeding: the workflow never submitted
        await assert_stays_parked(stack, wid)

        for reviewer in ("ops-1", "lead-1"):
            verdict = await stack.client.resolve_payout(_not_paid(stack, wid, reviewer))
            assert verdict.accepted, verdict.why
        doc = await stack.client.result(wid)
        assert doc.status is Status.FAILED
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.VOIDED.value


async def test_a_submit_answered_with_another_payees_transfer_parks_the_payout(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The look-up misses the transfer (a stale read) and the provider answers the submit
    with the transfer it already holds under the key, paying someone else."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        payout = fake_payout(stack)
        wid = f"w-{uuid.uuid4().hex[:12]}"
        await payout.submit(conflicting_request(wid))
        payout.answers_reused_keys_with_first = True
        await start_reviewed(stack, wid)
        payout.hide_from_next_lookups(1)
        await stack.approve(wid, "rev-1")

        await assert_parked_on_mismatch(stack, wid)
        assert payout.moved_count(wid) == 1  # the other payee's, never a second movement
        await assert_stays_parked(stack, wid)


async def test_a_key_conflict_never_voids_and_parks_the_payout(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A real 409 (key taken with other details) was `TransferRejected` on today's main:
    the withdrawal failed and its hold was voided while a transfer under its key exists."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        payout = fake_payout(stack)
        wid = f"w-{uuid.uuid4().hex[:12]}"
        await payout.submit(conflicting_request(wid))
        await start_reviewed(stack, wid)
        payout.hide_from_next_lookups(1)
        await stack.approve(wid, "rev-1")

        doc = await assert_parked_on_mismatch(stack, wid)
        assert doc.reason is None  # not failed, not released
        assert "mismatch" in audit_outcomes(stack, wid, "payout.record")
        await assert_stays_parked(stack, wid)


async def test_a_record_that_stops_matching_during_the_watch_parks_once(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The watch sees the record change to another payee: it reports it once, the
    workflow parks, and later polls are "not yet". Today's main restarted a watch that
    answered at once, in a loop with no timer (thousands of events a minute)."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        wid = await approved_and_submitted(stack)
        payout.rewrite(wid, payee_digest=_other_digest())

        await assert_parked_on_mismatch(stack, wid)
        assert audit_outcomes(stack, wid, "payout.record") == ["mismatch"]
        await assert_stays_parked(stack, wid)
        assert audit_outcomes(stack, wid, "payout.record") == ["mismatch"]  # reported once


async def test_a_callback_confirmed_against_a_mismatching_record_parks_the_payout(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A callback says succeeded; the provider's record behind it pays someone else: the
    callback is ignored (audited), the payout parked, nothing posted."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        wid = await approved_and_submitted(stack)
        claimed = payout.rewrite(wid, state=TransferState.SUCCEEDED, payee_digest=_other_digest())
        handle = workflow_handle(stack.env.client, wid)
        await handle.signal(SIGNAL_PAYOUT_UPDATE, claimed)

        await assert_parked_on_mismatch(stack, wid)
        assert audit_outcomes(stack, wid, "payout.callback") == ["ignored"]
        await assert_stays_parked(stack, wid)


# ---- item 3: resolve-payout ----------------------------------------------------------
async def test_not_paid_is_refused_while_the_provider_holds_a_matching_transfer(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Parked with no transfer known; then the provider shows this withdrawal's own
    transfer. Right before releasing, the provider is asked once more: refused (R19)."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        payout.fail_next_submits(100_000)
        wid = await stack.start(amount="60.00")
        await stack.verify(wid, "acct-auto")
        await stack.wait_status(wid, Status.APPROVED_AWAITING_PAYOUT)
        for _ in range(PAYOUT_RETRY_TOTAL_HOURS + 1):  # an hour at a time (see test_money_edges)
            await stack.env.sleep(timedelta(hours=1))
        await stack.wait_until_doc(wid, lambda d: d.payout_unknown)
        payout.recover()
        await payout.submit(_own_transfer(stack, wid))  # the provider's record appears

        verdict = await stack.client.resolve_payout(_not_paid(stack, wid, "ops-1"))
        assert verdict.accepted is False
        assert "now holds this withdrawal's transfer" in verdict.why
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.HELD.value
        assert audit_outcomes(stack, wid, "payout.resolve.not_paid") == ["refused"]


async def test_not_paid_is_refused_on_a_matching_record_that_names_no_payee(
    fake_stack: Stack,
) -> None:
    """Review finding 5: a record under this withdrawal's key, amount and route that
    moves or moved money but carries no payee digest (an adapter that omits it) may be
    this very payout: ``--not-paid`` must not release the money on it. Only a digest
    present and different (another payee's transfer), or a failed transfer, lets the
    release go on."""
    stack = fake_stack
    wid = await held_under_review(stack)
    at = datetime.now(UTC)

    def provider_says(state: TransferState, digest: str | None) -> ProviderAnswer:
        found = Transfer(
            idempotency_key=wid,
            state=state,
            amount=Money.yuan("40.00"),
            route=Route.BANK,
            payee_digest=digest,
        )
        return ProviderAnswer(transfer=found)

    for state in (TransferState.PROCESSING, TransferState.SUCCEEDED, TransferState.RETURNED):
        accepted, _, why = not_paid(stack, wid, "ops-1", at, provider_says(state, None))
        assert accepted is False, state
        assert why.startswith("R19: ") and "without saying whom it pays" in why
    assert audit_outcomes(stack, wid, "payout.resolve.not_paid") == ["refused"] * 3
    other = provider_says(TransferState.SUCCEEDED, _other_digest())
    assert not_paid(stack, wid, "ops-1", at, other)[:2] == (True, False)
    failed = provider_says(TransferState.FAILED, None)
    assert not_paid(stack, wid, "lead-1", at, failed)[:2] == (True, True)


async def test_a_closed_run_with_a_matching_transfer_is_not_released_in_the_ledger(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The ledger path asks the provider too: a terminated run whose transfer is still
    processing at the provider keeps its money held; a terminated run whose key holds
    another payee's transfer is released by two reviewers (a mismatch does not block)."""
    async with edge_stack(edge_env, tmp_path, history_name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout = fake_payout(stack)
        paid_wid = f"w-{uuid.uuid4().hex[:12]}"
        await approved(stack, paid_wid)
        await stack.wait_until(lambda: payout.request_for(paid_wid) is not None)
        await workflow_handle(stack.env.client, paid_wid).terminate("ops")
        refused = await _resolve_in_ledger(stack, paid_wid, "ops-1")
        assert refused.accepted is False and "now holds" in refused.why
        hold = stack.hold(paid_wid)
        assert hold is not None and hold.state == HoldState.HELD.value

        other_wid = f"w-{uuid.uuid4().hex[:12]}"
        await payout.submit(conflicting_request(other_wid))
        await start_reviewed(stack, other_wid)
        await workflow_handle(stack.env.client, other_wid).terminate("ops")
        await _resolve_in_ledger(stack, other_wid, "ops-1")
        final = await _resolve_in_ledger(stack, other_wid, "lead-1")
        assert final.final is True
        hold = stack.hold(other_wid)
        assert hold is not None and hold.state == HoldState.VOIDED.value


class _FailingRunClient:
    """A workflow whose task is failing: the update answers FAILED_PRECONDITION, as it
    does for a closed run, while ``describe`` says it is ``status``."""

    def __init__(self, status: WorkflowExecutionStatus | None) -> None:
        self.status = status

    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        raise RPCError("workflow task failing", RPCStatusCode.FAILED_PRECONDITION, b"")

    async def run_status(self, withdrawal_id: str) -> WorkflowExecutionStatus | None:
        return self.status


@pytest.mark.parametrize(
    "run",
    [WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.FAILED, None],
    ids=["running", "closed_failed", "not_found"],
)
async def test_resolve_payout_settles_in_the_ledger_only_for_a_closed_parked_run(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    run: WorkflowExecutionStatus | None,
) -> None:
    """FAILED_PRECONDITION from a running workflow whose task is failing led today's main
    to settle in the ledger beside the live run (two `--not-paid` released the money); a
    closed run that was neither parked nor terminated is not the ledger's to end either."""
    async with edge_stack(edge_env, tmp_path, history_name(request)) as (stack, _):
        wid = f"w-{uuid.uuid4().hex[:12]}"
        await start_reviewed(stack, wid)
        client = _FailingRunClient(run)
        for reviewer in ("ops-1", "lead-1"):
            with pytest.raises(NothingToResolve):
                await resolve_payout(
                    client,  # type: ignore[arg-type]
                    stack.engine,
                    _not_paid(stack, wid, reviewer),
                    now(),
                    stack.payout,
                    review_verify_key(),
                )
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.HELD.value
        with Session(stack.engine) as session:
            assert session.exec(select(PayoutResolution)).all() == []


# ---- helpers -------------------------------------------------------------------------
def _other_digest() -> str:
    return payee_digest(Route.BANK, bank_payee(OTHER_ACCOUNT), None)


def _not_paid(stack: Stack, wid: str, reviewer: str) -> PayoutResolutionRequest:
    return signed(
        stack,
        PayoutResolutionRequest(
            withdrawal_id=wid,
            reviewer_id=reviewer,
            outcome=PayoutOutcome.NOT_PAID,
            evidence="provider statement: nothing paid to the customer's payee",
        ),
    )


def _own_transfer(stack: Stack, wid: str) -> TransferRequest:
    """The transfer the withdrawal itself would submit."""
    with Session(stack.engine) as session:
        record = stack.record(wid)
        transfer, _ = prepare_transfer(session, recorded_request(record), None)
    return transfer


async def _resolve_in_ledger(stack: Stack, wid: str, reviewer: str) -> PayoutResolutionVerdict:
    resolution = await resolve_payout(
        stack.client,
        stack.engine,
        _not_paid(stack, wid, reviewer),
        now(),
        stack.payout,
        review_verify_key(),
    )
    assert resolution.via_workflow is False
    return resolution.verdict


async def test_end_to_end_a_conflicting_transfer_at_the_simulator_parks_without_a_loop(
    edge_env: WorkflowEnvironment,
    simulators: tuple[RunningServer, RunningServer],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The issue's reproduction, over HTTP: a transfer under the withdrawal's key paying
    someone else (same amount) is already at the payout simulator, then the approval.
    Ten simulated hours later the history is small and the money held (today's main grew
    6,814 events in 40 s and kept going)."""
    async with simulator_stack(
        edge_env, simulators, tmp_path, save_as=history_name(request)
    ) as stack:
        payout = stack.payout
        wid = f"w-{uuid.uuid4().hex[:12]}"
        seeded = await payout.submit(conflicting_request(wid))
        assert seeded.state is TransferState.SUCCEEDED  # settles at once (scale 0)
        await approved(stack, wid)
        await assert_parked_on_mismatch(stack, wid)
        await wait_hours(stack, PARKED_HOURS)

        doc = await stack.client.status(wid)
        assert (doc.status, doc.payout_unknown) == (Status.APPROVED_AWAITING_PAYOUT, True)
        assert await history_events(stack, wid) < MAX_EVENTS_AFTER_PARKED_HOURS
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.HELD.value
        assert stack.account("acct-auto").held_fen == Money.yuan(AMOUNT).fen
