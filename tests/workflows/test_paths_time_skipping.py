"""Every path of the withdrawal workflow on the time-skipping server (R5–R19).

Each test asserts the final status, the ledger (hold posted or voided exactly once,
balances to the fen) and the timeline.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from ledger.tables import HoldState
from models.domain import DesignatedReason, Kind, Route, Status
from models.limits import (
    CODE_RESEND_COOLDOWN_SECONDS,
    CODE_TTL_SECONDS,
    MAX_CODE_ATTEMPTS,
    REVIEW_SLA_HOURS,
    SMS_SEND_TOTAL_SECONDS,
)
from models.messages import CodeVerdict
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.support.withdrawals import SIGNAL_PAYOUT_UPDATE, workflow_handle
from tests.workflows.harness import Stack, alipay_payee, bank_payee, fen
from workflows.search_attributes import REVIEW_OVERDUE

CANCEL_REQUESTED = EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED

Fakes = tuple[FakePayoutProvider, FakeSmsProvider]


def assert_released(stack: Stack, withdrawal_id: str, account_id: str, cash: str) -> None:
    """R19: the hold is voided, nothing was debited, the balance is whole again."""
    hold = stack.hold(withdrawal_id)
    assert hold is not None and hold.state == HoldState.VOIDED.value
    assert stack.debits(withdrawal_id) == []
    account = stack.account(account_id)
    assert account.cash_fen == fen(cash)
    assert account.held_fen == 0


def assert_paid(stack: Stack, withdrawal_id: str, account_id: str, cash_after: str) -> None:
    hold = stack.hold(withdrawal_id)
    assert hold is not None and hold.state == HoldState.POSTED.value
    debits = stack.debits(withdrawal_id)
    assert len(debits) == 1
    assert debits[0].amount_fen == hold.amount_fen
    account = stack.account(account_id)
    assert account.cash_fen == fen(cash_after)
    assert account.held_fen == 0


async def test_r16_original_route_without_risk_succeeds_without_review(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(amount="120.50")
    await fake_stack.verify(wid, "acct-auto")
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.SUCCEEDED
    assert doc.review_required is False
    assert payout.moved_count(wid) == 1
    assert_paid(fake_stack, wid, "acct-auto", "879.50")
    statuses = [entry.status for entry in doc.timeline]
    assert Status.UNDER_REVIEW not in statuses
    assert statuses[0] is Status.VERIFYING and statuses[-1] is Status.SUCCEEDED
    assert fake_stack.record(wid).status == Status.SUCCEEDED.value
    assert fake_stack.timeline_statuses(wid)[-1] == Status.SUCCEEDED.value


@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
async def test_r9_designated_account_is_paid_after_approval(
    fake_stack: Stack, fakes: Fakes, route: Route
) -> None:
    payout, _ = fakes
    payee = alipay_payee() if route is Route.ALIPAY else bank_payee()
    wid = await fake_stack.start(
        amount="200.00",
        route=route,
        order_id="R-ICBC-OLD",  # past its 30-day ICBC limit (R8)
        reason=DesignatedReason.LIMIT_PASSED,
        payee=payee,
    )
    await fake_stack.verify(wid, "acct-auto")
    doc = await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    assert doc.review_required is True
    assert payout.moved_count(wid) == 0  # nothing moves before review

    decision = await fake_stack.approve(wid, "rev-1", "proof matches")
    assert decision is not None and decision.accepted
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.SUCCEEDED
    assert doc.approvals == ["rev-1"]
    assert doc.payee == payee.masked and payee.account_number not in doc.model_dump_json()
    assert_paid(fake_stack, wid, "acct-auto", "800.00")
    assert Status.UNDER_REVIEW.value in fake_stack.timeline_statuses(wid)


async def test_r19_rejected_withdrawal_releases_frozen_funds(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        amount="150.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    assert fake_stack.account("acct-auto").held_fen == fen("150.00")

    await fake_stack.reject(wid, "rev-2", "proof material does not match the payer")
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.REJECTED
    assert doc.reason == "proof material does not match the payer"
    assert payout.moved_count(wid) == 0
    assert_released(fake_stack, wid, "acct-auto", "1000.00")
    assert fake_stack.record(wid).reason == "proof material does not match the payer"


async def test_r6_non_recharge_application_goes_through_review(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        account_id="acct-ent",
        amount="300.00",
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=bank_payee(),
    )
    await fake_stack.verify(wid, "acct-ent")
    doc = await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    assert any("non-recharge" in note.note for note in doc.timeline)
    await fake_stack.approve(wid, "rev-1")
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.SUCCEEDED and doc.kind is Kind.NON_RECHARGE
    assert payout.moved_count(wid) == 1
    assert_paid(fake_stack, wid, "acct-ent", "500.00")


async def test_r17_same_identity_overdue_debt_triggers_review(
    fake_stack: Stack, fakes: Fakes
) -> None:
    wid = await fake_stack.start(account_id="acct-risk", amount="100.00", order_id="R-RISK")
    await fake_stack.verify(wid, "acct-risk")
    doc = await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    assert doc.review_required is True
    assert any("same real name" in entry.note for entry in doc.timeline)
    await fake_stack.approve(wid, "rev-2")
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    assert_paid(fake_stack, wid, "acct-risk", "400.00")


async def test_r15_five_wrong_codes_cancel_and_release(fake_stack: Stack, fakes: Fakes) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(amount="50.00")
    await fake_stack.wait_status(wid, Status.AWAITING_CODE)
    right = await fake_stack.code_for("acct-auto")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in range(MAX_CODE_ATTEMPTS):
        result = await fake_stack.client.submit_code(wid, wrong)
        assert result.verdict is CodeVerdict.WRONG
        assert result.attempts_left == MAX_CODE_ATTEMPTS - attempt - 1
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.CANCELLED
    assert doc.reason is not None and "too many wrong" in doc.reason
    assert payout.moved_count(wid) == 0
    assert_released(fake_stack, wid, "acct-auto", "1000.00")
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # ended: no more codes
        await fake_stack.client.submit_code(wid, right)


async def test_r15_code_expiry_cancels_and_releases(fake_stack: Stack) -> None:
    wid = await fake_stack.start(amount="60.00")
    await fake_stack.wait_status(wid, Status.AWAITING_CODE)
    await fake_stack.env.sleep(CODE_TTL_SECONDS + 1)
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.CANCELLED
    assert doc.reason is not None and "expired" in doc.reason
    assert_released(fake_stack, wid, "acct-auto", "1000.00")


async def test_r15_resend_is_throttled_and_replaces_the_old_code(
    fake_stack: Stack, fakes: Fakes
) -> None:
    wid = await fake_stack.start(amount="70.00")
    await fake_stack.wait_status(wid, Status.AWAITING_CODE)
    first = await fake_stack.code_for("acct-auto")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await fake_stack.client.resend(wid)
    assert "R15: a new code can be sent in" in str(refused.value.cause)

    await fake_stack.env.sleep(CODE_RESEND_COOLDOWN_SECONDS + 1)
    await fake_stack.client.resend(wid)
    second = await fake_stack.code_for("acct-auto", after=first)

    stale = await fake_stack.client.submit_code(wid, first)
    assert stale.verdict is CodeVerdict.WRONG
    fresh = await fake_stack.client.submit_code(wid, second)
    assert fresh.verdict is CodeVerdict.VERIFIED
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED


async def test_cancel_before_payout_releases_funds(fake_stack: Stack, fakes: Fakes) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        amount="80.00",
        route=Route.ALIPAY,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=alipay_payee(),
    )
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    doc = await fake_stack.client.cancel(wid, by="acct-auto")

    assert doc.status is Status.CANCELLED
    assert payout.moved_count(wid) == 0
    assert_released(fake_stack, wid, "acct-auto", "1000.00")
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # ended: nothing to cancel
        await fake_stack.client.cancel(wid)


async def test_transient_payout_failures_retry_then_succeed_once(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    payout.fail_next_submits(2)
    payout.drop_next_responses(1)  # the nasty one: money moved, answer lost
    wid = await fake_stack.start(amount="90.00")
    await fake_stack.verify(wid, "acct-auto")
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.SUCCEEDED
    assert payout.moved_count(wid) == 1
    assert payout.submit_calls == 3  # the lost answer was found by look-up, not resent
    assert_paid(fake_stack, wid, "acct-auto", "910.00")


async def test_permanent_payout_refusal_fails_and_releases(fake_stack: Stack, fakes: Fakes) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        amount="110.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee("6222020200112230000"),  # the provider says: invalid account
    )
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    await fake_stack.approve(wid, "rev-1")
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.FAILED
    assert doc.reason == "account_invalid"  # the provider's words, as a word (issue 22)
    assert payout.moved_count(wid) == 0
    assert_released(fake_stack, wid, "acct-auto", "1000.00")


async def test_failure_reported_after_acceptance_fails_and_releases(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    payout.auto_settle = False
    wid = await fake_stack.start(
        amount="130.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    await fake_stack.approve(wid, "rev-1")
    await fake_stack.wait_until(lambda: payout.request_for(wid) is not None)
    payout.fail(wid, "account closed at the receiving bank")
    doc = await fake_stack.client.result(wid)  # the poll finds the failure

    assert doc.status is Status.FAILED
    assert doc.reason == "account_closed"  # the provider's words, as a word (issue 22)
    assert_released(fake_stack, wid, "acct-auto", "1000.00")


async def test_settlement_by_callback_signal(fake_stack: Stack, fakes: Fakes) -> None:
    payout, _ = fakes
    payout.auto_settle = False
    wid = await fake_stack.start(amount="40.00", order_id="R-CARD")
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_status(wid, Status.APPROVED_AWAITING_PAYOUT)
    await fake_stack.wait_until(lambda: payout.request_for(wid) is not None)
    settled = payout.settle(wid)
    handle = workflow_handle(fake_stack.env.client, wid)
    await handle.signal(SIGNAL_PAYOUT_UPDATE, settled)
    await handle.signal(SIGNAL_PAYOUT_UPDATE, settled)  # a duplicate callback changes nothing
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.SUCCEEDED
    assert payout.moved_count(wid) == 1
    assert_paid(fake_stack, wid, "acct-auto", "960.00")


async def test_a_callback_while_the_watch_polls_settles_without_cancelling_it(
    fake_stack: Stack, fakes: Fakes
) -> None:
    """Since the "payout-watch-not-cancelled" patch a callback that arrives while
    ``watch_payout`` polls is confirmed by its own look-up; the watch is left to end by
    itself (cancelling one the server had just closed stalled the run)."""
    payout, _ = fakes
    payout.auto_settle = False
    wid = await fake_stack.start(amount="45.00", order_id="R-CARD")
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_until_doc(
        wid, lambda d: any("accepted by the provider" in e.note for e in d.timeline)
    )
    settled = payout.settle(wid)
    handle = workflow_handle(fake_stack.env.client, wid)
    await handle.signal(SIGNAL_PAYOUT_UPDATE, settled)
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.SUCCEEDED
    assert payout.moved_count(wid) == 1
    assert_paid(fake_stack, wid, "acct-auto", "955.00")
    history = await handle.fetch_history()
    cancels = [e for e in history.events if e.event_type == CANCEL_REQUESTED]
    assert cancels == []


async def test_review_sla_marks_withdrawal_overdue_and_keeps_it_in_review(
    fake_stack: Stack,
) -> None:
    wid = await fake_stack.start(
        account_id="acct-ent",
        amount="20.00",
        kind=Kind.NON_RECHARGE,
        route=Route.ALIPAY,
        payee=alipay_payee(),
    )
    await fake_stack.verify(wid, "acct-ent")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    await fake_stack.env.sleep(REVIEW_SLA_HOURS * 3600 + 60)
    doc = await fake_stack.client.status(wid)

    assert doc.status is Status.UNDER_REVIEW
    assert doc.review_overdue is True
    assert fake_stack.record(wid).review_overdue is True
    description = await workflow_handle(fake_stack.env.client, wid).describe()
    assert description.typed_search_attributes.get(REVIEW_OVERDUE) is True
    await fake_stack.approve(wid, "rev-1")
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED


async def test_duplicate_start_attaches_to_the_first_withdrawal(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(amount="10.00", withdrawal_id="w-dup-1")
    again = await fake_stack.start(amount="10.00", withdrawal_id="w-dup-1")
    assert again == wid
    await fake_stack.verify(wid, "acct-auto")
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    assert payout.moved_count(wid) == 1
    assert_paid(fake_stack, wid, "acct-auto", "990.00")


async def test_unauthorised_reviewers_and_the_applicant_are_ignored(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        account_id="acct-member",
        amount="30.00",
        order_id="R-MEMBER",
        route=Route.ALIPAY,
        reason=DesignatedReason.PAYER_ACCOUNT_CLOSED,
        payee=alipay_payee(),
        requested_by="acct-ent",  # R2: the master account applies for its member
    )
    await fake_stack.verify(wid, "acct-member")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)

    stranger = await fake_stack.approve(wid, "mallory")
    applicant = await fake_stack.approve(wid, "acct-ent")
    assert stranger is not None and not stranger.accepted
    assert applicant is not None and not applicant.accepted
    doc = await fake_stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == []
    assert fake_stack.account("acct-member").held_fen == fen("30.00")

    await fake_stack.reject(wid, "rev-1", "material incomplete")
    try:  # a second decision after the first: ignored, or refused once the run ended
        late = await fake_stack.approve(wid, "rev-2")
        assert late is None or not late.accepted
    except RPCError:
        pass
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.REJECTED
    assert doc.approvals == []
    assert payout.moved_count(wid) == 0
    assert_released(fake_stack, wid, "acct-member", "300.00")


async def test_code_submitted_in_the_wrong_state_is_refused_without_history(
    fake_stack: Stack,
) -> None:
    wid = await fake_stack.start(
        amount="25.00",
        route=Route.ALIPAY,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=alipay_payee(),
    )
    await fake_stack.verify(wid, "acct-auto")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    handle = workflow_handle(fake_stack.env.client, wid)
    updates_before = await _update_events(handle)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await fake_stack.client.submit_code(wid, "123456")
    assert "no code is awaited" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as malformed:
        await handle.execute_update("submit_code", {"code": "12ab"})
    assert "6 digits" in str(malformed.value.cause)
    assert await _update_events(handle) == updates_before  # refused before history


async def _update_events(handle: WorkflowHandle[Any, Any]) -> int:
    return len(
        [
            e
            async for e in handle.fetch_history_events()
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
    )


async def test_four_eyes_above_threshold_needs_two_different_reviewers(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        account_id="acct-ent",
        amount="600.00",  # above the test stack's four-eyes threshold of 500.00
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=bank_payee(),
    )
    await fake_stack.verify(wid, "acct-ent")
    doc = await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    assert doc.approvals_required == 2

    first = await fake_stack.approve(wid, "rev-1", "proof matches")
    again = await fake_stack.approve(wid, "rev-1", "still fine")
    assert first is not None and first.accepted and "1 of 2" in first.why
    assert again is not None and not again.accepted  # the same eyes twice count once
    doc = await fake_stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == ["rev-1"]
    assert payout.moved_count(wid) == 0
    assert fake_stack.account("acct-ent").held_fen == fen("600.00")

    second = await fake_stack.approve(wid, "rev-2", "agreed")
    assert second is not None and second.accepted
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    assert doc.approvals == ["rev-1", "rev-2"]
    assert payout.moved_count(wid) == 1
    assert_paid(fake_stack, wid, "acct-ent", "200.00")


async def test_r19_sms_provider_down_fails_and_releases(fake_stack: Stack, fakes: Fakes) -> None:
    payout, sms = fakes
    sms.fail_next_sends(1_000)  # down for longer than the send may take
    wid = await fake_stack.start(amount="45.00")
    await fake_stack.env.sleep(SMS_SEND_TOTAL_SECONDS + 5)
    doc = await fake_stack.wait_status(wid, Status.FAILED)

    assert doc.status is Status.FAILED
    assert doc.reason is not None and "could not be sent" in doc.reason
    assert payout.moved_count(wid) == 0
    assert_released(fake_stack, wid, "acct-auto", "1000.00")
