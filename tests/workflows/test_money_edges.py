"""Money at the edges (issue 13): nothing stranded, nothing released while its fate is
unknown. Each test runs the real workflow on the time-skipping server with the real
ledger and in-process fake providers, and asserts where the money ended (R19)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from application.payout_resolution import resolve_payout
from application.reviews import authenticate, issue_decision_proof
from gateways.payout import TransferState
from ledger.payout_resolution import proof_decision
from ledger.tables import HoldState
from models.domain import Status
from models.limits import CODE_RESEND_COOLDOWN_SECONDS, MAX_CODE_SENDS, PAYOUT_RETRY_TOTAL_HOURS
from models.messages import CodeVerdict, PayoutOutcome, PayoutResolutionRequest
from reconcile.compare import MismatchKind, compare
from reconcile.sources import read_ledger
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.security.test_review_authority import add_reviewer
from tests.support.driving import reviewed_bank_withdrawal
from tests.support.withdrawals import SIGNAL_PAYOUT_UPDATE, workflow_handle
from tests.workflows import data
from tests.workflows.edge_stack import (
    audit_outcomes,
    deployed_before_patches_worker,
    edge_stack,
    set_account_status,
)
from tests.workflows.harness import Stack, fen, now, start_with_a_typed_branch
from tests.workflows.keys import review_signing_key, review_verify_key
from worker import build_worker
from workflows.search_attributes import PAYOUT_UNKNOWN

SETTLED_60_DAYS_MAX_EVENTS = 500


def _name(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("[", "-").replace("]", "")


def _fakes(stack: Stack) -> tuple[FakePayoutProvider, FakeSmsProvider]:
    assert isinstance(stack.payout, FakePayoutProvider)
    assert isinstance(stack.sms, FakeSmsProvider)
    return stack.payout, stack.sms


def assert_released(stack: Stack, withdrawal_id: str, account_id: str, cash: str) -> None:
    hold = stack.hold(withdrawal_id)
    assert hold is not None and hold.state == HoldState.VOIDED.value
    assert stack.debits(withdrawal_id) == []
    account = stack.account(account_id)
    assert (account.cash_fen, account.held_fen) == (fen(cash), 0)


# ---- item 1: every exit after a hold may exist resolves it (R19) ------------------------
async def test_retried_open_after_a_freeze_never_strands_the_hold(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The first open froze the money and its answer was lost; meanwhile the account was
    frozen (R1). The retry answers as the first did, and R1 before payout releases it."""
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, activities):
        payout, _ = _fakes(stack)
        activities.freeze_account_after_first_open = "acct-auto"
        wid = await stack.start(amount="100.00")
        await stack.verify(wid, "acct-auto")
        doc = await stack.client.result(wid)

        assert activities.opens == 2
        assert doc.status is Status.FAILED
        assert doc.reason is not None and doc.reason.startswith("R1:")
        assert payout.moved_count(wid) == 0
        assert_released(stack, wid, "acct-auto", "1000.00")


async def test_account_frozen_during_review_fails_r1_and_releases(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """R1 is re-checked right before payout (issue 13 item 7)."""
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, _):
        payout, _ = _fakes(stack)
        wid = await reviewed_bank_withdrawal(stack, "120.00")
        set_account_status(stack, "acct-auto", "frozen")
        await stack.approve(wid, "rev-1")
        doc = await stack.client.result(wid)

        assert doc.status is Status.FAILED
        assert doc.reason == "R1: the account is frozen; the money is released"
        assert payout.submit_calls == 0
        assert_released(stack, wid, "acct-auto", "1000.00")


async def test_a_broken_review_invariant_releases_the_hold_then_fails_the_run(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A review activity that (wrongly) lets the applicant approve: the workflow's own
    check stops the payout loudly, and the money comes back instead of staying held.
    Renamed when its patch was removed (issue 23): the history saved under the old name
    holds the patch's marker and is retired (histories/retired/README.md)."""
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, activities):
        payout, _ = _fakes(stack)
        activities.approve_anyone = True
        # The applicant holds a reviewer login under its own id: it signs its decision,
        # and the broken activity lets it count.
        add_reviewer(stack, "acct-auto", "reviewer")
        wid = await reviewed_bank_withdrawal(stack, "130.00")
        await stack.approve(wid, "acct-auto")
        with pytest.raises(WorkflowFailureError) as failure:
            await stack.client.result(wid)

        assert "ReviewInvariantBroken" in repr(failure.value.cause)
        assert payout.submit_calls == 0
        assert stack.record(wid).status == Status.FAILED.value
        assert_released(stack, wid, "acct-auto", "1000.00")


# ---- R10 in the shared eligibility check (item 7) ---------------------------------------
async def test_r10_a_typed_branch_from_a_backend_is_refused(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, _):
        wid = await start_with_a_typed_branch(stack)
        doc = await stack.client.result(wid)

        assert doc.status is Status.FAILED
        assert doc.reason is not None and "payee.city" in doc.reason and "R10" in doc.reason
        assert stack.hold(wid) is None
        assert stack.account("acct-auto").held_fen == 0


# ---- item 2: an unknown payout outcome is parked, never released on a guess -------------
async def test_unknown_payout_is_parked_then_resolved_by_ops(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, _):
        payout, _ = _fakes(stack)
        payout.fail_next_submits(100_000)  # the provider never answers a submit
        started = []
        for amount, order in (("60.00", "R-ALIPAY"), ("70.00", "R-CARD")):
            wid = await stack.start(amount=amount, order_id=order)  # one phone: one by one
            await stack.verify(wid, "acct-auto")
            await stack.wait_status(wid, Status.APPROVED_AWAITING_PAYOUT)
            started.append(wid)
        paid, not_paid = started
        for _ in range(PAYOUT_RETRY_TOTAL_HOURS + 1):  # an hour at a time: one long
            await stack.env.sleep(timedelta(hours=1))  # sleep stalls the test server

        for wid in (paid, not_paid):
            doc = await stack.client.status(wid)
            assert doc.payout_unknown is True and doc.status is Status.APPROVED_AWAITING_PAYOUT
            assert stack.record(wid).payout_unknown is True
            hold = stack.hold(wid)
            assert hold is not None and hold.state == HoldState.HELD.value  # not released
            described = await workflow_handle(stack.env.client, wid).describe()
            assert described.typed_search_attributes.get(PAYOUT_UNKNOWN) is True

        def resolution(
            wid: str, reviewer: str, outcome: PayoutOutcome, **more: str
        ) -> PayoutResolutionRequest:
            return signed(
                stack,
                PayoutResolutionRequest(
                    withdrawal_id=wid,
                    reviewer_id=reviewer,
                    outcome=outcome,
                    evidence=more.pop("evidence", "bank statement 2026-11-29 line 14"),
                    **more,
                ),
            )

        # Anyone with namespace access can send the update; without a proof of sign-in
        # (issue 12) it is recorded as refused and releases nothing.
        unsigned = await stack.client.resolve_payout(
            resolution(not_paid, "ops-1", PayoutOutcome.NOT_PAID).model_copy(update={"proof": None})
        )
        assert unsigned.accepted is False and "no proof" in unsigned.why

        with pytest.raises(WorkflowUpdateFailedError):  # no evidence: refused before history
            await stack.client.resolve_payout(
                resolution(not_paid, "ops-1", PayoutOutcome.NOT_PAID, evidence=" ")
            )
        refused = await stack.client.resolve_payout(
            resolution(not_paid, "rev-1", PayoutOutcome.NOT_PAID)
        )
        assert refused.accepted is False and "ops or lead" in refused.why
        first = await stack.client.resolve_payout(
            resolution(not_paid, "ops-1", PayoutOutcome.NOT_PAID)
        )
        again = await stack.client.resolve_payout(
            resolution(not_paid, "ops-1", PayoutOutcome.NOT_PAID)
        )
        assert (first.accepted, first.final, again.final) == (True, False, False)
        hold = stack.hold(not_paid)
        assert hold is not None and hold.state == HoldState.HELD.value  # one reviewer: held
        confirmed = await stack.client.resolve_payout(
            resolution(not_paid, "lead-1", PayoutOutcome.NOT_PAID)
        )
        assert confirmed.final is True and confirmed.reviewers == ["ops-1", "lead-1"]
        doc = await stack.client.result(not_paid)
        assert doc.status is Status.FAILED and doc.payout_unknown is False
        hold = stack.hold(not_paid)
        assert hold is not None and hold.state == HoldState.VOIDED.value  # R19
        assert stack.debits(not_paid) == []
        assert stack.account("acct-auto").held_fen == fen("60.00")  # the other one, still held
        assert stack.record(not_paid).payout_unknown is False
        # The unsigned and the role refusals are audited; the one without evidence never
        # reached history.
        assert audit_outcomes(stack, not_paid, "payout.resolve.not_paid") == [
            "refused",
            "refused",
            "recorded",
            "final",
        ]

        verdict = await stack.client.resolve_payout(
            resolution(paid, "ops-1", PayoutOutcome.PAID, reference="BANK-REF-0001")
        )
        assert verdict.final is True
        doc = await stack.client.result(paid)
        assert doc.status is Status.SUCCEEDED and doc.provider_reference == "BANK-REF-0001"
        hold = stack.hold(paid)
        assert hold is not None and hold.state == HoldState.POSTED.value
        assert [d.amount_fen for d in stack.debits(paid)] == [fen("60.00")]
        assert stack.record(paid).provider_reference == "BANK-REF-0001"
        assert payout.total_moved() == 0


# ---- item 3 and issue 12 item 1: bounded settlement, callbacks confirmed ----------------
async def test_sixty_days_processing_then_a_callback_settles_at_once(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with edge_stack(edge_env, tmp_path, _name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout, _ = _fakes(stack)
        wid = await stack.start(amount="80.00")
        await stack.verify(wid, "acct-auto")
        await stack.wait_until(lambda: payout.request_for(wid) is not None)
        await stack.env.sleep(timedelta(days=60))
        doc = await stack.client.status(wid)
        assert doc.status is Status.APPROVED_AWAITING_PAYOUT  # still processing, still held
        lookups_in_60_days = payout.lookup_calls

        settled = payout.settle(wid)
        handle = workflow_handle(stack.env.client, wid)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await handle.signal(SIGNAL_PAYOUT_UPDATE, settled)
        doc = await asyncio.wait_for(stack.client.result(wid), timeout=10)
        seconds = loop.time() - started
        events = len((await handle.fetch_history()).events)

        assert doc.status is Status.SUCCEEDED
        assert payout.moved_count(wid) == 1
        assert events < SETTLED_60_DAYS_MAX_EVENTS
        with capsys.disabled():
            print(
                f"\n60 days processing: {events} history events, {lookups_in_60_days} "
                f"look-ups, settled {seconds:.2f} s after the callback"
            )


async def test_callbacks_before_submit_or_against_the_provider_are_ignored(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with edge_stack(edge_env, tmp_path, _name(request), auto_settle=False) as (
        stack,
        _,
    ):
        payout, _ = _fakes(stack)
        wid = await reviewed_bank_withdrawal(stack, "90.00")
        handle = workflow_handle(stack.env.client, wid)
        forged = {
            "idempotency_key": wid,
            "state": "succeeded",
            "amount": "90.00",
            "provider_reference": "forged",
        }
        await handle.signal(SIGNAL_PAYOUT_UPDATE, forged)  # before any payout was submitted
        await stack.approve(wid, "rev-1")
        await stack.wait_until(lambda: payout.request_for(wid) is not None)
        await stack.wait_status(wid, Status.APPROVED_AWAITING_PAYOUT)
        await stack.wait_until_doc(
            wid, lambda d: any("accepted by the provider" in e.note for e in d.timeline)
        )
        await handle.signal(SIGNAL_PAYOUT_UPDATE, {**forged, "state": "failed", "reason": "forged"})
        await stack.wait_until(lambda: audit_outcomes(stack, wid, "payout.callback") != [])

        doc = await stack.client.status(wid)
        assert doc.status is Status.APPROVED_AWAITING_PAYOUT
        assert doc.payout_callbacks_ignored == 2
        notes = [entry.note for entry in doc.timeline]
        assert any("ignored: before the payout was submitted" in n for n in notes)
        assert any("ignored: the provider says processing" in n for n in notes)
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.HELD.value

        settled = payout.settle(wid)
        await handle.signal(SIGNAL_PAYOUT_UPDATE, settled)
        doc = await stack.client.result(wid)
        assert doc.status is Status.SUCCEEDED
        assert doc.provider_reference == settled.provider_reference != "forged"
        assert audit_outcomes(stack, wid, "payout.callback") == ["ignored", "confirmed"]
        assert settled.state is TransferState.SUCCEEDED


# ---- item 4: a failed resend keeps the old code; every SMS counts -----------------------
async def test_flaky_sms_gateway_keeps_the_old_code_and_never_exceeds_the_limit(
    edge_env: WorkflowEnvironment,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """R15: the gateway delivers every resend and then answers with an error."""
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, _):
        _, sms = _fakes(stack)
        phone = data.PHONES["acct-auto"]
        wid = await stack.start(amount="50.00")
        await stack.wait_status(wid, Status.AWAITING_CODE)
        first_code = await stack.code_for("acct-auto")
        sms.deliver_then_fail_next_sends(100)
        await stack.env.sleep(timedelta(seconds=CODE_RESEND_COOLDOWN_SECONDS + 1))
        for _ in range(2):
            with pytest.raises(WorkflowUpdateFailedError):
                await stack.client.resend(wid)
        received = len(sms.sent(phone))
        result = await stack.client.submit_code(wid, first_code)
        doc = await stack.client.result(wid)

        assert received == MAX_CODE_SENDS  # the first code and four flaky resends
        assert sms.send_calls == MAX_CODE_SENDS  # the limit refused the rest unsent
        assert result.verdict is CodeVerdict.VERIFIED
        assert doc.status is Status.SUCCEEDED
        with capsys.disabled():
            print(
                f"\nflaky SMS gateway: {received} SMS received (limit {MAX_CODE_SENDS}), "
                f"{sms.send_calls} send calls; the first code still verified"
            )


async def test_terminated_run_is_listed_by_reconcile_and_ended_by_ops(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A workflow terminated by hand leaves its hold: ``reconcile`` lists it, and
    ``resolve-payout`` (two different reviewers for not paid) releases it (R19)."""
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, _):
        wid = await reviewed_bank_withdrawal(stack, "140.00")
        handle = workflow_handle(stack.env.client, wid)
        await handle.terminate("operator error")
        report = compare([], read_ledger(stack.engine), set(), as_of=now())
        assert [(m.kind, m.withdrawal_id) for m in report.mismatches] == [
            (MismatchKind.HELD_WITHOUT_WORKFLOW, wid)
        ]

        def not_paid(reviewer: str) -> PayoutResolutionRequest:
            return signed(
                stack,
                PayoutResolutionRequest(
                    withdrawal_id=wid,
                    reviewer_id=reviewer,
                    outcome=PayoutOutcome.NOT_PAID,
                    evidence="provider statement: no transfer under this key",
                ),
            )

        key = review_verify_key()
        first = await resolve_payout(
            stack.client, stack.engine, not_paid("ops-1"), now(), stack.payout, key
        )
        assert (first.via_workflow, first.verdict.final) == (False, False)
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.HELD.value
        second = await resolve_payout(
            stack.client, stack.engine, not_paid("lead-1"), now(), stack.payout, key
        )
        assert second.verdict.final is True

        assert_released(stack, wid, "acct-auto", "1000.00")
        assert stack.record(wid).status == Status.FAILED.value
        assert compare([], read_ledger(stack.engine), set(), as_of=now()).clean


# ---- item 8: a deploy meets withdrawals in flight ---------------------------------------
async def test_a_run_started_before_the_deploy_parks_an_unknown_payout_after_it(
    edge_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Started by the previous worker, retrying its submit; today's worker takes over,
    replays the old branch, and when the retries run out parks the payout (it no longer
    releases money on one empty look-up)."""
    async with edge_stack(edge_env, tmp_path, _name(request)) as (stack, activities):
        payout, _ = _fakes(stack)
        payout.fail_next_submits(100_000)
        old_worker, old_stack = deployed_before_patches_worker(stack, activities)
        client, task_queue = old_stack.client, old_stack.client.task_queue
        async with old_worker:
            wid = await old_stack.start(amount="75.00")
            await old_stack.verify(wid, "acct-auto")
            await old_stack.wait_status(wid, Status.APPROVED_AWAITING_PAYOUT)
        async with build_worker(stack.env.client, activities, task_queue):  # the deploy
            for _ in range(PAYOUT_RETRY_TOTAL_HOURS + 1):
                await stack.env.sleep(timedelta(hours=1))
            doc = await client.status(wid)
            assert doc.payout_unknown is True
            assert doc.status is Status.APPROVED_AWAITING_PAYOUT
            hold = stack.hold(wid)
            assert hold is not None and hold.state == HoldState.HELD.value
            verdict = await client.resolve_payout(
                signed(
                    stack,
                    PayoutResolutionRequest(
                        withdrawal_id=wid,
                        reviewer_id="lead-1",
                        outcome=PayoutOutcome.PAID,
                        evidence="bank statement line 7",
                        reference="BANK-REF-0002",
                    ),
                )
            )
            assert verdict.final is True
            doc = await client.result(wid)
        assert doc.status is Status.SUCCEEDED
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.POSTED.value


def signed(stack: Stack, request: PayoutResolutionRequest) -> PayoutResolutionRequest:
    """The request as ``resolve-payout`` sends it: the reviewer signed in, proof attached."""
    reviewer = authenticate(stack.engine, request.reviewer_id, stack.passwords[request.reviewer_id])
    proof = issue_decision_proof(
        reviewer,
        request.withdrawal_id,
        proof_decision(request.outcome),
        request.evidence,
        signing_key=review_signing_key(),
    )
    return request.model_copy(update={"proof": proof})
