"""Resolve a payout whose outcome is unknown (``resolve-payout``), whatever face asks.

The caller has authenticated the reviewer (``application.reviews``) and put the proof in
the request (``resolution_request``); whoever records it checks that proof. A running
workflow takes the resolution as an update (its validator refuses when there is nothing
to resolve; its activity checks the proof and the role, records the evidence and counts
two different reviewers before money is released). A withdrawal whose workflow no longer
runs (terminated by hand, its hold stranded, which ``reconcile`` lists as
``held_without_workflow``) is resolved in the ledger directly, under the same rules, in
one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from application.reviews import AuthenticatedReviewer, issue_decision_proof
from client.withdrawals import WithdrawalClient
from config import settings
from ledger.db import run_in_transaction
from ledger.payout_resolution import proof_decision, record_resolution, resolve_without_workflow
from models.decision_proof import VerifyKeys
from models.messages import PayoutOutcome, PayoutResolutionRequest, PayoutResolutionVerdict

RULE = "R19"
# The workflow is gone or closed: the ledger is the only place left to resolve it.
_NO_RUNNING_WORKFLOW = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION})


@dataclass(frozen=True)
class Resolution:
    verdict: PayoutResolutionVerdict
    via_workflow: bool  # False: no workflow runs; the ledger resolved it directly


class NothingToResolve(Exception):
    """The workflow runs and says there is nothing to resolve (its validator's words)."""


def resolution_request(
    reviewer: AuthenticatedReviewer,
    withdrawal_id: str,
    outcome: PayoutOutcome,
    evidence: str,
    reference: str | None = None,
) -> PayoutResolutionRequest:
    """A signed-in reviewer's resolution, with the proof that they signed in."""
    return PayoutResolutionRequest(
        withdrawal_id=withdrawal_id,
        reviewer_id=reviewer.reviewer_id,
        outcome=outcome,
        evidence=evidence,
        reference=reference,
        proof=issue_decision_proof(reviewer, withdrawal_id, proof_decision(outcome), evidence),
    )


async def resolve_payout(
    client: WithdrawalClient,
    engine: Engine,
    request: PayoutResolutionRequest,
    now: datetime,
    verify_key: VerifyKeys | None = None,
) -> Resolution:
    problem = request.problem()
    if problem is not None:
        raise problem.error()
    try:
        verdict = await client.resolve_payout(request)
        return Resolution(verdict=verdict, via_workflow=True)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise NothingToResolve(message) from None
    except RPCError as error:
        if error.status not in _NO_RUNNING_WORKFLOW:
            raise

    def in_ledger(session: Session) -> PayoutResolutionVerdict:
        verdict = record_resolution(
            session, request, now, verify_key or settings.review_verify_keys()
        )
        if verdict.accepted:
            resolve_without_workflow(session, verdict, request.withdrawal_id, now)
        return verdict

    return Resolution(verdict=run_in_transaction(engine, in_ledger), via_workflow=False)
