"""The core queues review decisions as the workflow does (``ReviewRoom.receive`` appends
a signed decision to the inbox in any phase; ``await_review`` weighs the inbox once the
review begins): a decision that arrives early is held, not refused, and weighed in order
when the review begins; a cancel or the end drops the queue; ``MAX_DECISIONS_WAITING``
bounds it, so the simulator exercises the limit the room enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.limits import MAX_DECISIONS_WAITING
from workflows.core import decide
from workflows.core.state import (
    CancelArrived,
    CodeChecked,
    CodeSent,
    Core,
    DecisionArrived,
    Opened,
    Phase,
    Proof,
    StartTimer,
    SubmitPayout,
    WeighDecision,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def in_code_phase(approvals_required: int = 1) -> Core:
    core, _ = decide.step(
        Core("w-1"),
        Opened(True, approvals_required, frozenset({"applicant"})),
        NOW,
    )
    core, _ = decide.step(core, CodeSent(NOW + timedelta(minutes=10)), NOW)
    return core


def approval(who: str, nonce: str) -> DecisionArrived:
    return DecisionArrived(approve=True, identity=who, proof=Proof.VALID, nonce=nonce)


def test_an_early_approval_waits_and_is_weighed_when_the_review_begins() -> None:
    core = in_code_phase()
    core, commands = decide.step(core, approval("rev-a", "n1"), NOW)
    assert commands == [] and core.refused_inputs == 0
    assert core.decisions_waiting == (approval("rev-a", "n1"),)
    core, commands = decide.step(core, CodeChecked(right=True), NOW)
    # weighed at once: the review is decided, so no SLA timer starts
    assert WeighDecision("rev-a", True) in commands
    assert SubmitPayout("w-1") in commands
    assert not any(isinstance(c, StartTimer) and c.name == decide.REVIEW_SLA for c in commands)
    assert core.phase is Phase.PAYOUT and core.approvers == ("rev-a",)


def test_queued_decisions_are_weighed_in_order_until_one_decides() -> None:
    core = in_code_phase(approvals_required=2)
    reject = DecisionArrived(approve=False, identity="rev-b", proof=Proof.VALID, nonce="n2")
    for decision in (approval("rev-a", "n1"), reject, approval("ops-1", "n3")):
        core, _ = decide.step(core, decision, NOW)
    core, commands = decide.step(core, CodeChecked(right=True), NOW)
    weighed = [c for c in commands if isinstance(c, WeighDecision)]
    assert weighed == [WeighDecision("rev-a", True), WeighDecision("rev-b", False)]
    assert core.status == "rejected" and core.decisions_waiting == ()


def test_a_cancel_drops_the_queue() -> None:
    core = in_code_phase()
    core, _ = decide.step(core, approval("rev-a", "n1"), NOW)
    core, _ = decide.step(core, CancelArrived("applicant", authorised=True), NOW)
    assert core.status == "cancelled" and core.decisions_waiting == ()
    assert core.approvers == ()


def test_the_queue_is_bounded_by_max_decisions_waiting() -> None:
    core = in_code_phase()
    for n in range(MAX_DECISIONS_WAITING):
        core, _ = decide.step(core, approval("rev-a", f"n{n}"), NOW)
    assert len(core.decisions_waiting) == MAX_DECISIONS_WAITING
    full, commands = decide.step(core, approval("rev-b", "one-more"), NOW)
    assert commands == [] and full.refused_inputs == core.refused_inputs + 1
    assert len(full.decisions_waiting) == MAX_DECISIONS_WAITING
    assert "one-more" not in full.nonces_seen
