"""A reviewer disabled after signing in (``starter.py reviewers disable``, issue 26 item 2):
their decision not yet weighed is refused by the workflow's review activity, their cancel
by the cancel's authorisation and their payout resolution by the ledger, and the money
stays held; enabled again, they count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowUpdateFailedError

from application.reviews import authenticate, cancel_as_reviewer, send_decision
from ledger import reviewers
from ledger.db import run_in_transaction
from ledger.payout_resolution import record_resolution
from models.domain import DesignatedReason, Route, Status
from models.messages import PayoutOutcome, PayoutResolutionRequest, ReviewDecisionKind
from tests.workflows import data
from tests.workflows.harness import Stack, alipay_payee, fen
from tests.workflows.keys import review_signing_key, review_verify_key

ADMIN = "lead-1"


def _set_enabled(stack: Stack, reviewer_id: str, enabled: bool) -> None:
    done = run_in_transaction(
        stack.engine,
        reviewers.set_enabled,
        reviewer_id,
        enabled,
        by=ADMIN,
        at=datetime.now(UTC),
    )
    assert done.refused is None and done.changed


async def test_a_decision_and_a_cancel_signed_before_a_disable_are_refused(
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
    # Both signed in while enabled; then ops disable them.
    approver = authenticate(fake_stack.engine, "rev-1", data.PASSWORDS["rev-1"])
    canceller = authenticate(fake_stack.engine, "ops-1", data.PASSWORDS["ops-1"])
    _set_enabled(fake_stack, "rev-1", False)
    _set_enabled(fake_stack, "ops-1", False)
    now = await fake_stack.workflow_now()

    recorded = await send_decision(
        fake_stack.client,
        approver,
        wid,
        ReviewDecisionKind.APPROVE,
        signing_key=review_signing_key(),
        now=now,
    )
    assert recorded is not None and not recorded.accepted
    assert recorded.why == "reviewer rev-1 is disabled"
    with pytest.raises(WorkflowUpdateFailedError):
        await cancel_as_reviewer(
            fake_stack.client, canceller, wid, signing_key=review_signing_key(), now=now
        )
    resolution = PayoutResolutionRequest(
        withdrawal_id=wid, reviewer_id="ops-1", outcome=PayoutOutcome.NOT_PAID, evidence="x"
    )
    verdict = run_in_transaction(
        fake_stack.engine, record_resolution, resolution, datetime.now(UTC), review_verify_key()
    )
    assert (verdict.accepted, verdict.why) == (False, "reviewer ops-1 is disabled")
    doc = await fake_stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.approvals == []
    assert fake_stack.account("acct-auto").held_fen == fen("25.00")

    _set_enabled(fake_stack, "rev-1", True)  # enabled again: a fresh decision counts
    accepted = await fake_stack.approve(wid, "rev-1")
    assert accepted is not None and accepted.accepted
