"""Issue 22 item 4: people, not ids. Four-eyes, no-self-approval and the two-person
``--not-paid`` rule compare people: two reviewer ids loaded with the same ``identity_id``
are one person; a reviewer without one (dev) is a person of its own. The decision list
and the audit trail name the person (R17, R19)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from application.reviews import authenticate, issue_decision_proof
from ledger import audit, tables
from ledger.payout_resolution import ProviderAnswer, proof_decision, record_resolution
from ledger.tables import HoldState
from models.authority import decision_problem, person_of
from models.domain import DesignatedReason, Route, Status
from models.messages import PayoutOutcome, PayoutResolutionRequest
from models.money import Money
from standins.fakes import FakePayoutProvider
from tests.security.test_review_authority import add_reviewer
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack, bank_payee, fen
from tests.workflows.keys import review_signing_key, review_verify_key
from tests.workflows.stacks import fake_provider_stack

# The issue's reproduction: FOUR_EYES_THRESHOLD=10.00 and a 120.00 withdrawal.
TEN_YUAN = Money.yuan("10.00")
ONE_PERSON = "id-reviewer-one-person"


class TenYuanFourEyes(WithdrawalActivities):
    """The worker as started with ``FOUR_EYES_THRESHOLD=10.00``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["four_eyes_threshold"] = TEN_YUAN
        super().__init__(*args, **kwargs)


@pytest_asyncio.fixture(loop_scope="session")
async def ten_yuan_stack(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    async with fake_provider_stack(
        time_skipping_env, tmp_path, TenYuanFourEyes, auto_settle=True, save_as=request.node.name
    ) as (stack, _):
        yield stack


def trail(stack: Stack, wid: str, action: str) -> list[tuple[str, str, str]]:
    with Session(stack.engine) as session:
        rows = audit.entries(session, subject=wid)
    return [(row.actor, row.outcome, row.detail) for row in rows if row.action == action]


async def test_one_person_with_two_reviewer_ids_is_one_pair_of_eyes(
    ten_yuan_stack: Stack,
) -> None:
    """The repro: two reviewers loaded with the same identity_id approve a 120.00
    withdrawal above a 10.00 threshold. On main it went to approved_awaiting_payout;
    the second approval must be refused and the money stay held until another person."""
    stack = ten_yuan_stack
    add_reviewer(stack, "rev-alice", "reviewer", ONE_PERSON)
    add_reviewer(stack, "rev-alice-2", "senior_reviewer", ONE_PERSON)
    wid = await held_under_review(stack, "120.00")
    assert (await stack.client.status(wid)).approvals_required == 2

    first = await stack.approve(wid, "rev-alice", "matches the proof")
    second = await stack.approve(wid, "rev-alice-2", "agreed")
    assert first is not None and first.accepted
    assert second is not None and not second.accepted
    assert "same person" in second.why and second.person == f"identity {ONE_PERSON}"
    doc = await stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == ["rev-alice"]
    hold = stack.hold(wid)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert isinstance(stack.payout, FakePayoutProvider)
    assert stack.payout.moved_count(wid) == 0

    # The decision list (the workflow's decisions query) and the audit trail name the person.
    decisions = await stack.client._decisions(workflow_handle(stack.client.temporal, wid))
    assert [(d.reviewer_id, d.person, d.accepted) for d in decisions] == [
        ("rev-alice", f"identity {ONE_PERSON}", True),
        ("rev-alice-2", f"identity {ONE_PERSON}", False),
    ]
    approvals = trail(stack, wid, "review.approve")
    assert [(actor, outcome) for actor, outcome, _ in approvals] == [
        ("rev-alice", "accepted"),
        ("rev-alice-2", "ignored"),
    ]
    assert all(f"identity {ONE_PERSON}" in detail for _, _, detail in approvals)

    # A second person (rev-1 has no identity_id: in dev, a person of its own) completes it.
    other = await stack.approve(wid, "rev-1", "agreed")
    assert other is not None and other.accepted and other.person == "reviewer rev-1"
    doc = await stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED and doc.approvals == ["rev-alice", "rev-1"]


async def test_no_reviewer_id_of_the_master_accounts_person_approves(
    ten_yuan_stack: Stack,
) -> None:
    """No self-approval, by person: a member's withdrawal is not approved by any reviewer
    id under its enterprise master account's real name (R2, R17)."""
    stack = ten_yuan_stack
    master_identity = stack.account("acct-ent").identity_id
    add_reviewer(stack, "rev-boss", "lead", master_identity)
    wid = await stack.start(
        account_id="acct-member",
        amount="5.00",  # below the threshold: one approval would do
        order_id="R-MEMBER",
        route=Route.BANK,
        reason=DesignatedReason.PAYER_ACCOUNT_CLOSED,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-member")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    decision = await stack.approve(wid, "rev-boss", "fine")
    assert decision is not None and not decision.accepted
    assert "same real name" in decision.why
    assert (await stack.client.status(wid)).status is Status.UNDER_REVIEW


async def test_not_paid_needs_two_people_not_two_ids(fake_stack: Stack) -> None:
    """R19: releasing money that was in fact paid pays it twice, so ``--not-paid`` needs
    a second *person*: the same person's second ops id confirms nothing."""
    stack = fake_stack
    add_reviewer(stack, "ops-carol", "ops", "id-carol")
    add_reviewer(stack, "ops-carol-2", "lead", "id-carol")
    wid = await held_under_review(stack)
    now = datetime.now(UTC)

    def resolve(reviewer_id: str) -> tuple[bool, bool, str]:
        return not_paid(stack, wid, reviewer_id, now)

    assert resolve("ops-carol")[:2] == (True, False)
    accepted, final, why = resolve("ops-carol-2")  # the same person under another id
    assert (accepted, final) == (True, False), why
    assert "second, different person" in why
    accepted, final, why = resolve("ops-1")  # another person (no identity_id: dev)
    assert (accepted, final) == (True, True)
    assert why == "not paid, resolved by ops-carol and confirmed by ops-1"
    assert stack.account("acct-auto").held_fen >= fen("40.00")  # nothing settled here


def not_paid(
    stack: Stack,
    wid: str,
    reviewer_id: str,
    now: datetime,
    provider: ProviderAnswer | None = None,
) -> tuple[bool, bool, str]:
    """A signed-in reviewer's ``--not-paid`` weighed in the ledger: (accepted, final, why).
    ``provider`` is the provider's answer right before a release (default: no transfer)."""
    reviewer = authenticate(stack.engine, reviewer_id, stack.passwords[reviewer_id])
    evidence = "bank statement line 7"
    request = PayoutResolutionRequest(
        withdrawal_id=wid,
        reviewer_id=reviewer_id,
        outcome=PayoutOutcome.NOT_PAID,
        evidence=evidence,
        proof=issue_decision_proof(
            reviewer,
            wid,
            proof_decision(PayoutOutcome.NOT_PAID),
            evidence,
            signing_key=review_signing_key(),
            now=now,
        ),
    )
    with Session(stack.engine) as session:
        verdict = record_resolution(
            session, request, now, [review_verify_key()], provider or ProviderAnswer()
        )
        session.commit()
    return verdict.accepted, verdict.final, verdict.why


async def held_under_review(stack: Stack, amount: str = "40.00") -> str:
    """A reviewed bank withdrawal under review: its money held (what ``--not-paid``
    guards), waiting for its approvals."""
    wid = await stack.start(
        amount=amount,
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    return wid


async def test_not_paid_by_a_reviewer_disabled_since_does_not_count(fake_stack: Stack) -> None:
    """Review finding 1 (issue 26): a ``--not-paid`` recorded by a reviewer who has been
    disabled since no longer counts towards the two people a release needs."""
    stack = fake_stack
    add_reviewer(stack, "ops-erin", "ops", "id-erin")
    add_reviewer(stack, "ops-finn", "ops", "id-finn")
    wid = await held_under_review(stack)
    now = datetime.now(UTC)
    assert not_paid(stack, wid, "ops-erin", now)[:2] == (True, False)
    with Session(stack.engine) as session:
        erin = session.get(tables.Reviewer, "ops-erin")
        assert erin is not None
        erin.enabled = False
        session.add(erin)
        session.commit()
    accepted, final, why = not_paid(stack, wid, "ops-finn", now)
    assert (accepted, final) == (True, False), why  # ops-erin's word no longer counts
    assert why.startswith("not paid according to ops-finn")
    accepted, final, why = not_paid(stack, wid, "ops-1", now)
    assert (accepted, final) == (True, True)
    assert why == "not paid, resolved by ops-finn and confirmed by ops-1"


async def test_the_timeline_never_names_a_reviewers_identity(ten_yuan_stack: Stack) -> None:
    """Review finding 6: a decision's words become a timeline note, which the status
    document, the API and the webhooks to the applicant's backend carry. Decisions by
    reviewers with an ``identity_id`` (an approval, a refused second id of the same person)
    leave no identity there; the decision list and the audit trail still name the person."""
    stack = ten_yuan_stack
    identity = "id-reviewer-dana"
    add_reviewer(stack, "rev-dana", "reviewer", identity)
    add_reviewer(stack, "rev-dana-2", "senior_reviewer", identity)
    wid = await held_under_review(stack, "120.00")
    first = await stack.approve(wid, "rev-dana", "matches the proof")
    second = await stack.approve(wid, "rev-dana-2", "agreed")
    assert first is not None and first.accepted and first.person == f"identity {identity}"
    assert second is not None and not second.accepted
    await stack.approve(wid, "rev-1", "agreed")
    doc = await stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    notes = [entry.note for entry in doc.timeline]
    assert any("by reviewer rev-dana" in note for note in notes), notes
    assert not [note for note in notes if identity in note or "identity" in note], notes
    with Session(stack.engine) as session:
        bodies = session.exec(
            select(tables.WebhookEvent.body).where(tables.WebhookEvent.withdrawal_id == wid)
        ).all()
    assert bodies and not [body for body in bodies if identity in body]
    danas = [d for actor, _, d in trail(stack, wid, "review.approve") if "dana" in actor]
    assert len(danas) == 2 and all(identity in detail for detail in danas)


def test_person_of_and_four_eyes_by_person() -> None:
    assert person_of("rev-1", None) == "reviewer rev-1"
    assert person_of("rev-1", "id-x") == person_of("rev-9", "id-x") == "identity id-x"
    problem = decision_problem(
        reviewer_id="rev-9",
        role="reviewer",
        conflicted={"acct-1"},
        approving=True,
        approved_by=["rev-1"],
        person="identity id-x",
        approved_people={"identity id-x"},
    )
    assert problem is not None and "same person" in problem
    rejecting = decision_problem(
        reviewer_id="rev-9",
        role="reviewer",
        conflicted={"acct-1"},
        approving=False,
        approved_by=["rev-1"],
        person="identity id-x",
        approved_people={"identity id-x"},
    )
    assert rejecting is None  # a rejection by an authorised reviewer always counts
