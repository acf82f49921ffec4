"""Resolve a payout whose outcome is unknown (``resolve-payout``), whatever face asks.

The caller has authenticated the reviewer (``application.reviews``) and put the proof in
the request (``resolution_request``); whoever records it checks that proof. A running
workflow takes the resolution as an update (its validator refuses when there is nothing
to resolve; its activity checks the proof and the role, records the evidence, counts two
different reviewers and asks the provider once more before money is released).

The ledger is the way only for a run that is closed (issue 22): Temporal's ``describe``
says the run is not running (closed, or not found) *and* the record is parked
(``payout_unknown``) or its run was terminated (its hold stranded, which ``reconcile``
lists as ``held_without_workflow``). Then it is resolved in the ledger directly, under the
same rules (the provider asked once more for ``not_paid``), in one transaction. Any other
refusal of the update (a running workflow whose task is failing answers
FAILED_PRECONDITION too) is the answer: nothing is settled beside a live run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from application.reviews import AuthenticatedReviewer, issue_decision_proof
from client.withdrawals import WithdrawalClient
from config import settings
from gateways.payout import PayoutProvider
from ledger.db import run_in_transaction
from ledger.payout_resolution import (
    ask_provider_before_release,
    proof_decision,
    record_resolution,
    resolve_without_workflow,
)
from ledger.tables import Withdrawal
from models.decision_proof import VerifyKeys
from models.messages import PayoutOutcome, PayoutResolutionRequest, PayoutResolutionVerdict

RULE = "R19"
# What the update answers when the workflow may be gone or closed; ``describe`` decides.
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
    provider: PayoutProvider,
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
        refusal = error.message
    run = await client.run_status(request.withdrawal_id)
    if run is WorkflowExecutionStatus.RUNNING:
        raise NothingToResolve(f"the workflow still runs and refused: {refusal}")
    answer = await ask_provider_before_release(provider, request)

    def in_ledger(session: Session) -> PayoutResolutionVerdict:
        closed = ledger_path_problem(session, request.withdrawal_id, run)
        if closed is not None:
            raise NothingToResolve(closed)
        verdict = record_resolution(
            session, request, now, verify_key or settings.review_verify_keys(), answer
        )
        if verdict.accepted:
            resolve_without_workflow(session, verdict, request.withdrawal_id, now)
        return verdict

    return Resolution(verdict=run_in_transaction(engine, in_ledger), via_workflow=False)


def ledger_path_problem(
    session: Session, withdrawal_id: str, run: WorkflowExecutionStatus | None
) -> str | None:
    """Why a closed run's withdrawal may not be resolved in the ledger, or None: only a
    record parked as ``payout_unknown`` or one whose run was terminated (a run that
    ended any other way settled its own hold)."""
    record = session.get(Withdrawal, withdrawal_id)
    if record is None or record.payout_unknown or run is WorkflowExecutionStatus.TERMINATED:
        return None  # unknown ids are refused by ``record_resolution`` itself
    ended = "no run is known" if run is None else f"its run {run.name.lower()}"
    return (
        f"withdrawal {withdrawal_id}: {ended}, and its payout was neither parked nor its "
        "run terminated; nothing to resolve in the ledger"
    )
