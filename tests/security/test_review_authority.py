"""R17 reviewer authority: only reviewers decide, never the applicant or its master
account, and above the four-eyes threshold two different reviewers must approve.
Money moves only then; every decision is recorded with who, when and why."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from config import settings
from ledger import audit, tables
from ledger.tables import HoldState
from models.authority import approvals_required, decision_problem
from models.domain import DesignatedReason, Kind, Route, Status
from models.money import Money
from models.passwords import hash_password
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.workflows.harness import Stack, alipay_payee, bank_payee, fen

Fakes = tuple[FakePayoutProvider, FakeSmsProvider]


def add_reviewer(stack: Stack, reviewer_id: str, role: str, identity_id: str | None = None) -> None:
    """A reviewer who can sign in (``stack.passwords``), so what is refused is the role or
    the conflict, not the missing authentication (this test's stack only)."""
    password = stack.passwords.setdefault(reviewer_id, f"{reviewer_id} passphrase")
    with Session(stack.engine) as session:
        session.add(
            tables.Reviewer(
                id=reviewer_id,
                name=f"Test {role}",
                role=role,
                password_hash=hash_password(password),
                identity_id=identity_id,
            )
        )
        session.commit()


def decisions(stack: Stack, withdrawal_id: str) -> list[tables.ReviewDecisionRecord]:
    with Session(stack.engine) as session:
        return list(
            session.exec(
                select(tables.ReviewDecisionRecord)
                .where(tables.ReviewDecisionRecord.withdrawal_id == withdrawal_id)
                .order_by(col(tables.ReviewDecisionRecord.sequence))
            )
        )


def assert_still_held(stack: Stack, payout: FakePayoutProvider, wid: str, amount: str) -> None:
    hold = stack.hold(wid)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert hold.amount_fen == fen(amount)
    assert payout.moved_count(wid) == 0 and payout.request_for(wid) is None


async def test_only_two_different_authorised_reviewers_release_a_large_withdrawal(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    add_reviewer(fake_stack, "aud-1", "auditor")  # registered, but may not decide
    add_reviewer(fake_stack, "acct-ent", "reviewer")  # the applicant, signed in as a reviewer
    wid = await fake_stack.start(
        account_id="acct-ent",
        amount="700.00",  # above the test threshold (500.00): four-eyes
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=bank_payee(),
    )
    await fake_stack.verify(wid, "acct-ent")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)

    # applicant, stranger (cannot sign in: a raw signal, no proof), wrong role
    for reviewer in ("acct-ent", "mallory", "aud-1"):
        ignored = await fake_stack.approve(wid, reviewer, "looks fine to me")
        assert ignored is not None and not ignored.accepted, reviewer
    first = await fake_stack.approve(wid, "rev-1", "proof matches")
    assert first is not None and first.accepted
    doc = await fake_stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW
    assert doc.approvals == ["rev-1"] and doc.approvals_required == 2
    assert_still_held(fake_stack, payout, wid, "700.00")

    second = await fake_stack.approve(wid, "rev-2", "agreed")
    assert second is not None and second.accepted
    doc = await fake_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED and doc.approvals == ["rev-1", "rev-2"]
    assert payout.moved_count(wid) == 1

    recorded = decisions(fake_stack, wid)
    assert [(d.reviewer_id, d.accepted) for d in recorded] == [
        ("acct-ent", False),
        ("mallory", False),
        ("aud-1", False),
        ("rev-1", True),
        ("rev-2", True),
    ]
    assert "applicant" in recorded[0].why and "no proof" in recorded[1].why
    assert "auditor" in recorded[2].why and "1 of 2" in recorded[3].why
    assert all(d.at is not None and d.comment for d in recorded)
    notes = [entry.note for entry in doc.timeline]
    assert any("refused" in note and "mallory" in note for note in notes)
    with Session(fake_stack.engine) as session:
        trail = audit.entries(session, subject=wid)
    reviews = [(row.actor, row.outcome) for row in trail if row.action == "review.approve"]
    assert reviews == [
        ("acct-ent", "ignored"),
        ("mallory", "refused"),  # R17: no authenticated reviewer behind it
        ("aud-1", "ignored"),
        ("rev-1", "accepted"),
        ("rev-2", "accepted"),
    ]


async def test_a_rejection_after_one_approval_ends_it_and_releases_the_money(
    fake_stack: Stack, fakes: Fakes
) -> None:
    payout, _ = fakes
    wid = await fake_stack.start(
        account_id="acct-ent",
        amount="650.00",
        kind=Kind.NON_RECHARGE,
        route=Route.ALIPAY,
        payee=alipay_payee(),
    )
    await fake_stack.verify(wid, "acct-ent")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    await fake_stack.approve(wid, "rev-1", "fine")
    await fake_stack.reject(wid, "rev-2", "payer does not match the proof")
    doc = await fake_stack.client.result(wid)

    assert doc.status is Status.REJECTED and doc.reason == "payer does not match the proof"
    assert payout.moved_count(wid) == 0
    hold = fake_stack.hold(wid)
    assert hold is not None and hold.state == HoldState.VOIDED.value
    assert fake_stack.account("acct-ent").held_fen == 0
    with Session(fake_stack.engine) as session:
        trail = audit.entries(session, subject=wid)
    final = [row for row in trail if row.action.startswith("status.")]
    assert final[-1].action == "status.rejected" and final[-1].actor == "rev-2"


async def test_the_master_account_cannot_approve_its_members_withdrawal(
    fake_stack: Stack, fakes: Fakes
) -> None:
    """The member applied itself; its master account is still not an impartial reviewer."""
    payout, _ = fakes
    add_reviewer(fake_stack, "acct-ent", "reviewer")  # even registered as a reviewer
    wid = await fake_stack.start(
        account_id="acct-member",
        amount="30.00",
        order_id="R-MEMBER",
        route=Route.ALIPAY,
        reason=DesignatedReason.PAYER_ACCOUNT_CLOSED,
        payee=alipay_payee(),
    )
    await fake_stack.verify(wid, "acct-member")
    await fake_stack.wait_status(wid, Status.UNDER_REVIEW)
    for conflicted in ("acct-member", "acct-ent"):
        decision = await fake_stack.approve(wid, conflicted)
        assert decision is not None and not decision.accepted
    assert_still_held(fake_stack, payout, wid, "30.00")
    doc = await fake_stack.client.status(wid)
    assert doc.approvals_required == 1 and doc.approvals == []


@pytest.mark.parametrize(
    "amount, needs_review, expected",
    [("10000.00", True, 1), ("10000.01", True, 2), ("50000.00", False, 1)],
)
def test_four_eyes_applies_above_the_threshold_to_reviewed_withdrawals(
    amount: str, needs_review: bool, expected: int
) -> None:
    threshold = Money.yuan("10000.00")
    assert approvals_required(Money.yuan(amount), needs_review, threshold) == expected


def test_four_eyes_threshold_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.four_eyes_threshold() == Money.yuan("10000.00")
    monkeypatch.setenv("FOUR_EYES_THRESHOLD", "2500.00")
    assert settings.four_eyes_threshold() == Money.yuan("2500.00")


def test_the_same_reviewer_approving_twice_counts_once() -> None:
    problem = decision_problem(
        reviewer_id="rev-1",
        role="reviewer",
        conflicted={"acct-1"},
        approving=True,
        approved_by=["rev-1"],
    )
    assert problem is not None and "different reviewer" in problem
