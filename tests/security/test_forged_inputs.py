"""Issue 12: nothing moves money or a review on someone's word alone.

Every forged input here (a raw approve signal, a proof signed with another key, one for
another withdrawal, reviewer or comment, a stale or replayed one, a cancel by a
stranger, a flood of 2,000 forged approvals) leaves the money held and the withdrawal
where it was, and the audit trail says who tried what (R2, R17, R19).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment

from activities.withdrawal import WithdrawalActivities
from application import withdrawals
from application.reviews import (
    AuthenticatedReviewer,
    authenticate,
    cancel_as_reviewer,
    issue_decision_proof,
)
from ledger import audit, tables
from ledger.tables import HoldState
from models.domain import Status
from models.errors import RuleRefusal
from models.limits import MAX_REFUSED_DECISIONS_RECORDED
from models.messages import ReviewDecision, ReviewDecisionKind, ReviewerCheck
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.support.driving import reviewed_bank_withdrawal
from tests.support.withdrawals import workflow_handle
from tests.workflows import data
from tests.workflows.harness import Stack, fen
from tests.workflows.keys import review_signing_key, review_verify_key
from workflows.withdrawal import WithdrawalWorkflow

Fakes = tuple[FakePayoutProvider, FakeSmsProvider]
APPROVE = ReviewDecisionKind.APPROVE
FORGED_SIGNALS = 2000


def signed_in(stack: Stack, reviewer_id: str) -> AuthenticatedReviewer:
    return authenticate(stack.engine, reviewer_id, data.PASSWORDS[reviewer_id])


def assert_held(stack: Stack, payout: FakePayoutProvider, wid: str, amount: str) -> None:
    hold = stack.hold(wid)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert hold.amount_fen == fen(amount)
    assert payout.moved_count(wid) == 0 and payout.request_for(wid) is None


def trail(stack: Stack, wid: str, action: str) -> list[tuple[str, str, str]]:
    with Session(stack.engine) as session:
        rows = audit.entries(session, subject=wid)
    return [(row.actor, row.outcome, row.detail) for row in rows if row.action == action]


async def send(stack: Stack, wid: str, decision: ReviewDecision) -> None:
    handle = workflow_handle(stack.client.temporal, wid)
    await handle.signal(WithdrawalWorkflow.approve, decision)


async def test_a_raw_approve_signal_is_refused_recorded_and_the_money_stays(
    fake_stack: Stack, fakes: Fakes
) -> None:
    """R17: an approve signal sent to Temporal by any other means than an authenticated
    reviewer (Temporal CLI, Web UI, a script) names a real reviewer and still counts for
    nothing."""
    payout, _ = fakes
    wid = await reviewed_bank_withdrawal(fake_stack)
    decision = await fake_stack.client.decide(wid, APPROVE, "rev-1", "trust me")
    assert decision is not None and not decision.accepted
    assert "no proof of an authenticated reviewer" in decision.why
    doc = await fake_stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == []
    assert_held(fake_stack, payout, wid, "200.00")
    assert trail(fake_stack, wid, "review.approve") == [
        ("rev-1", "refused", "no proof of an authenticated reviewer; comment: trust me")
    ]
    with Session(fake_stack.engine) as session:
        rows = session.exec(
            select(tables.ReviewDecisionRecord).where(
                tables.ReviewDecisionRecord.withdrawal_id == wid
            )
        ).all()
    assert [(r.reviewer_id, r.accepted) for r in rows] == [("rev-1", False)]
    # The real reviewer, signed in, still decides it.
    approved = await fake_stack.approve(wid, "rev-1", "proof matches")
    assert approved is not None and approved.accepted
    assert (await fake_stack.client.result(wid)).status is Status.SUCCEEDED


async def test_forged_stale_and_misdirected_proofs_count_for_nothing(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await reviewed_bank_withdrawal(fake_stack)
    other = await reviewed_bank_withdrawal(fake_stack, amount="30.00")
    now = await fake_stack.workflow_now()
    rev_1 = signed_in(fake_stack, "rev-1")
    key = review_signing_key()
    attacker_key = Ed25519PrivateKey.generate()  # a stolen worker has no signing key

    def proof(**overrides: object) -> str:
        values: dict[str, object] = {
            "withdrawal_id": wid,
            "decision": APPROVE,
            "comment": "ok",
            "signing_key": key,
            "now": now,
        }
        values.update(overrides)
        reviewer = values.pop("reviewer", rev_1)
        return issue_decision_proof(reviewer, **values)  # type: ignore[arg-type]

    forged = [
        # it names the attacker's key (``kid``), which no worker lists (issue 26)
        ("rev-1", "ok", proof(signing_key=attacker_key), "names a key this service does not"),
        ("rev-1", "ok", proof(withdrawal_id=other), "another withdrawal"),
        ("rev-2", "ok", proof(), "another reviewer"),
        ("rev-1", "changed", proof(), "another comment"),
        ("rev-1", "ok", proof(decision=ReviewDecisionKind.REJECT), "not approve"),
        ("rev-1", "ok", proof(now=now - timedelta(minutes=10)), "older than 300 seconds"),
        ("rev-1", "ok", "not.a.proof", "proof"),
    ]
    for reviewer_id, comment, token, _ in forged:
        await send(
            fake_stack, wid, ReviewDecision(reviewer_id=reviewer_id, comment=comment, proof=token)
        )
    await fake_stack.wait_until(
        lambda: len(trail(fake_stack, wid, "review.approve")) == len(forged)
    )
    # In any order: a proof naming an unknown key waits for a key load (an activity since
    # "review-keys-loaded-by-activity") while the others are refused at once.
    # (the last, "proof", is the least specific: the rows the others name go first)
    unmatched = list(trail(fake_stack, wid, "review.approve"))
    for reviewer_id, _, _, why in forged:
        row = next((row for row in unmatched if why in row[2]), None)
        assert row is not None, (why, unmatched)
        unmatched.remove(row)
        assert row[:2] == (reviewer_id, "refused"), row
    assert unmatched == []
    assert (await fake_stack.client.status(wid)).status is Status.UNDER_REVIEW
    assert_held(fake_stack, payout, wid, "200.00")
    assert_held(fake_stack, payout, other, "30.00")  # W1's token did nothing to W2


async def test_a_proof_counts_once_even_for_the_same_withdrawal(fake_stack: Stack) -> None:
    """The nonce is spent in the database: replaying a proof is refused by the activity
    too, not only by the workflow that saw it first."""
    wid = await reviewed_bank_withdrawal(fake_stack)
    now = await fake_stack.workflow_now()
    token = issue_decision_proof(
        signed_in(fake_stack, "rev-1"),
        wid,
        APPROVE,
        "ok",
        signing_key=review_signing_key(),
        now=now,
    )
    activities = WithdrawalActivities(
        fake_stack.engine,
        FakePayoutProvider(),
        FakeSmsProvider(),
        b"k" * 32,
        review_verify_key=review_verify_key(),
    )

    def check(sequence: int) -> ReviewerCheck:
        return ReviewerCheck(
            withdrawal_id=wid,
            reviewer_id="rev-1",
            decision=APPROVE,
            comment="ok",
            at=now,
            sequence=1000 + sequence,
            proof=token,
        )

    env = ActivityEnvironment()
    first = await env.run(activities.review_decision, check(1))
    replay = await env.run(activities.review_decision, check(2))
    assert first.allowed and not replay.allowed and replay.why == "proof already used"
    # A verifier without the public key accepts nothing.
    keyless = WithdrawalActivities(
        fake_stack.engine, FakePayoutProvider(), FakeSmsProvider(), b"k" * 32
    )
    assert not (await env.run(keyless.review_decision, check(3))).allowed


async def test_a_reviewer_under_the_applicants_real_name_cannot_decide(
    fake_stack: Stack, fakes: Fakes
) -> None:
    """R17 judged by people, not id strings: rev-kin shares acct-risk's identity_id."""
    payout, _ = fakes
    wid = await fake_stack.start(account_id="acct-risk", amount="50.00", order_id="R-RISK")
    await fake_stack.verify(wid, "acct-risk")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    decision = await fake_stack.approve(wid, "rev-kin", "looks fine")
    assert decision is not None and not decision.accepted
    assert "same real name" in decision.why
    assert_held(fake_stack, payout, wid, "50.00")
    approved = await fake_stack.approve(wid, "rev-1", "ok")
    assert approved is not None and approved.accepted


async def test_only_the_applicant_or_its_master_account_or_ops_may_cancel(
    fake_stack: Stack, fakes: Fakes
) -> None:
    """R2: ``cancel --by`` is the caller's assertion, recorded as asserted; a stranger's
    is refused in the core (the workflow's activity), so every face inherits it."""
    payout, _ = fakes
    wid = await fake_stack.start(account_id="acct-member", amount="30.00", order_id="R-MEMBER")
    await fake_stack.wait_status(wid, Status.AWAITING_CODE)
    # Refused by the update's validator (no history); the application layer audits it.
    with pytest.raises(RuleRefusal) as refused:
        await withdrawals.cancel(fake_stack.engine, fake_stack.client, wid, by="acct-auto")
    assert "R2: acct-auto is neither the applicant nor its master account" in str(refused.value)
    rev_1 = signed_in(fake_stack, "rev-1")  # a reviewer, but not ops or lead
    with pytest.raises(WorkflowUpdateFailedError) as not_ops:
        await cancel_as_reviewer(
            fake_stack.client,
            rev_1,
            wid,
            signing_key=review_signing_key(),
            now=await fake_stack.workflow_now(),
            engine=fake_stack.engine,
        )
    assert "may not cancel" in str(not_ops.value.cause)
    assert (await fake_stack.client.status(wid)).status is Status.AWAITING_CODE
    assert_held(fake_stack, payout, wid, "30.00")

    doc = await fake_stack.client.cancel(wid, by="acct-ent")  # the master account (R2)
    assert doc.status is Status.CANCELLED
    assert [
        (actor, outcome) for actor, outcome, _ in trail(fake_stack, wid, "withdrawal.cancel")
    ] == [
        ("acct-auto", "refused"),
        ("rev-1", "refused"),
        ("acct-ent", "authorised"),
    ]
    assert fake_stack.hold(wid).state == HoldState.VOIDED.value  # type: ignore[union-attr]

    other = await fake_stack.start(amount="20.00")
    await fake_stack.wait_status(other, Status.AWAITING_CODE)
    ops = signed_in(fake_stack, "rev-ops")
    cancelled = await cancel_as_reviewer(
        fake_stack.client,
        ops,
        other,
        signing_key=review_signing_key(),
        now=await fake_stack.workflow_now(),
    )
    assert cancelled.status is Status.CANCELLED


async def test_2000_forged_approvals_then_the_real_one_pays(
    fake_stack: Stack, fakes: Fakes, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bounded outside input: forged signals cost no activity past the first few recorded
    and no growing state; the real, authenticated approval still gets through."""
    payout, _ = fakes
    wid = await reviewed_bank_withdrawal(fake_stack)
    handle = workflow_handle(fake_stack.client.temporal, wid)
    other = issue_decision_proof(
        signed_in(fake_stack, "rev-2"), "w-elsewhere", APPROVE, signing_key=review_signing_key()
    )
    forgeries = [
        ReviewDecision(reviewer_id="rev-1", comment="approve me"),  # no proof
        ReviewDecision(reviewer_id="rev-2", proof=other),  # a real proof, another withdrawal
        ReviewDecision(reviewer_id="rev-1", proof="a.b.c"),  # junk
        ReviewDecision(reviewer_id="r" * 5000, comment="y" * 100_000),  # oversized
    ]
    for start in range(0, FORGED_SIGNALS, 200):
        await asyncio.gather(
            *(
                handle.signal(WithdrawalWorkflow.approve, forgeries[i % len(forgeries)])
                for i in range(start, start + 200)
            )
        )
    approved = await fake_stack.approve(wid, "rev-1", "the real one")
    assert approved is not None and approved.accepted
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED and payout.moved_count(wid) == 1

    history = await handle.fetch_history()
    events = history.events
    signals = sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in events)
    weighed = sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == "review_decision"
        for e in events
    )
    with capsys.disabled():
        print(f"\n{signals} signals, {len(events)} history events, {weighed} review activities")
    assert signals == FORGED_SIGNALS + 1
    assert weighed == MAX_REFUSED_DECISIONS_RECORDED + 1  # the recorded few, and the real one
    assert len(events) < FORGED_SIGNALS + 400  # the signals themselves, and little more
    notes = [entry.note for entry in doc.timeline]
    assert any(
        f"{FORGED_SIGNALS - MAX_REFUSED_DECISIONS_RECORDED} more decisions" in n for n in notes
    )
    with Session(fake_stack.engine) as session:
        refused = session.exec(
            select(tables.ReviewDecisionRecord).where(
                tables.ReviewDecisionRecord.withdrawal_id == wid,
                col(tables.ReviewDecisionRecord.accepted).is_(False),
            )
        ).all()
    assert len(refused) == MAX_REFUSED_DECISIONS_RECORDED
    assert all(len(r.reviewer_id) <= 64 and len(r.comment) <= 200 for r in refused)


async def test_freshness_is_judged_when_the_workflow_received_the_decision(
    fake_stack: Stack,
) -> None:
    """A worker outage between receipt and verification must not refuse a valid approval:
    the activity runs two hours later and still accepts a proof that was fresh on arrival."""
    wid = await reviewed_bank_withdrawal(fake_stack)
    received = await fake_stack.workflow_now()
    token = issue_decision_proof(
        signed_in(fake_stack, "rev-1"),
        wid,
        APPROVE,
        "ok",
        signing_key=review_signing_key(),
        now=received - timedelta(minutes=1),
    )
    two_hours_later = received + timedelta(hours=2)
    activities = WithdrawalActivities(
        fake_stack.engine,
        FakePayoutProvider(),
        FakeSmsProvider(),
        b"k" * 32,
        clock=lambda: two_hours_later,
        review_verify_key=review_verify_key(),
    )
    check = ReviewerCheck(
        withdrawal_id=wid,
        reviewer_id="rev-1",
        decision=APPROVE,
        comment="ok",
        at=received,
        sequence=500,
        proof=token,
    )
    verdict = await ActivityEnvironment().run(activities.review_decision, check)
    assert verdict.allowed, verdict.why
