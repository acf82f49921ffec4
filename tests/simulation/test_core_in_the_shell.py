"""The workflow runs the core's rules, not a copy (issue 23 item 1): one rule of
``workflows.core.review`` swapped for a mutant changes what the simulator sees and what
the real workflow does. ``accepts_replayed_proofs`` never spends a proof: the simulator
names the broken invariant (``test_simulator.test_a_replayed_proof_taken_is_caught``),
and here the review room, on the time-skipping server, takes a replayed approval to the
``review_decision`` activity instead of refusing it in the signal handler. The ledger,
which spends nonces too, still refuses it: the money stays held either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from application.reviews import authenticate, issue_decision_proof
from ledger.tables import HoldState
from models.domain import DesignatedReason, Route, Status
from models.messages import ReviewDecision, ReviewDecisionKind
from models.money import Money
from tests.simulation.test_simulator import accepts_replayed_proofs
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack, bank_payee
from tests.workflows.keys import review_signing_key
from tests.workflows.stacks import fake_provider_stack
from workflows.contract import SIGNAL_APPROVE
from workflows.core import review as core_review

REFUSED_BY_THE_ROOM = "approve by rev-1 refused: proof already used"
IGNORED_AFTER_THE_ACTIVITY = "approve by rev-1 ignored: proof already used"


class TwoApprovals(WithdrawalActivities):
    """Four eyes from 10.00: a 40.00 withdrawal waits for two approvals, so a second
    approval (the replay) arrives while the review still weighs decisions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["four_eyes_threshold"] = Money.yuan("10.00")
        super().__init__(*args, **kwargs)


@pytest_asyncio.fixture(loop_scope="session")
async def stack(edge_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with fake_provider_stack(edge_env, tmp_path, TwoApprovals) as (stack, _):
        yield stack


@pytest.mark.parametrize(
    ("mutant", "line"),
    [(False, REFUSED_BY_THE_ROOM), (True, IGNORED_AFTER_THE_ACTIVITY)],
    ids=["core-rule", "mutant-accepts-replayed-proofs"],
)
async def test_the_review_room_runs_the_cores_proof_rule(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, mutant: bool, line: str
) -> None:
    if mutant:
        monkeypatch.setattr(core_review, "spent_problem", accepts_replayed_proofs)
    wid = await stack.start(
        amount="40.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    reviewer = authenticate(stack.engine, "rev-1", stack.passwords["rev-1"])
    proof = issue_decision_proof(
        reviewer,
        wid,
        ReviewDecisionKind.APPROVE,
        "matches",
        signing_key=review_signing_key(),
        now=await stack.workflow_now(),
    )
    kind = ReviewDecisionKind.APPROVE
    first = await stack.client.decide(wid, kind, "rev-1", "matches", proof=proof)
    assert first is not None and first.accepted

    # the same signed approval once more, as anyone who saw it could send it
    handle = workflow_handle(stack.client.temporal, wid)
    await handle.signal(
        SIGNAL_APPROVE, ReviewDecision(reviewer_id="rev-1", comment="matches", proof=proof)
    )
    doc = await stack.wait_until_doc(
        wid, lambda doc: any("approve by rev-1 " in entry.note for entry in doc.timeline)
    )
    notes = [entry.note for entry in doc.timeline if "approve by rev-1 " in entry.note]
    assert notes == [line]
    # either way one approval of two, the money held (R17, R19)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == ["rev-1"]
    hold = stack.hold(wid)
    assert hold is not None and hold.state == HoldState.HELD.value
