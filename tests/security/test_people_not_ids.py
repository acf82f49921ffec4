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
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from application.reviews import authenticate, issue_decision_proof
from gateways.fakes import FakePayoutProvider
from ledger import audit
from ledger.payout_resolution import ProviderAnswer, proof_decision, record_resolution
from ledger.tables import HoldState
from models.authority import decision_problem, person_of
from models.domain import DesignatedReason, Route, Status
from models.messages import PayoutOutcome, PayoutResolutionRequest
from models.money import Money
from tests.security.test_review_authority import add_reviewer
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
    wid = await stack.start(
        amount="120.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-auto")
    doc = await stack.wait_status(wid, Status.UNDER_REVIEW)
    assert doc.approvals_required == 2

    first = await stack.approve(wid, "rev-alice", "matches the proof")
    second = await stack.approve(wid, "rev-alice-2", "agreed")
    assert first is not None and first.accepted
    assert second is not None and not second.accepted
    assert "same person" in second.why and f"identity {ONE_PERSON}" in second.why
    doc = await stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == ["rev-alice"]
    hold = stack.hold(wid)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert isinstance(stack.payout, FakePayoutProvider)
    assert stack.payout.moved_count(wid) == 0

    # The decision list (the workflow's decisions query) and the audit trail name the person.
    decisions = await stack.client._decisions(
        stack.client.temporal.get_workflow_handle(f"withdrawal-{wid}")
    )
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
    wid = await stack.start(
        amount="40.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)  # money held: what the rule guards
    now = datetime.now(UTC)

    def resolve(reviewer_id: str) -> tuple[bool, bool, str]:
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
            # the provider, asked right before a release, knows no transfer
            verdict = record_resolution(
                session, request, now, [review_verify_key()], ProviderAnswer()
            )
            session.commit()
        return verdict.accepted, verdict.final, verdict.why

    assert resolve("ops-carol")[:2] == (True, False)
    accepted, final, why = resolve("ops-carol-2")  # the same person under another id
    assert (accepted, final) == (True, False), why
    assert "second, different person" in why
    accepted, final, why = resolve("ops-1")  # another person (no identity_id: dev)
    assert (accepted, final) == (True, True)
    assert why == "not paid, resolved by ops-carol and confirmed by ops-1"
    assert stack.account("acct-auto").held_fen >= fen("40.00")  # nothing settled here


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
