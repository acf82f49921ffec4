"""``resolve-payout``: ops end a payout whose outcome is unknown, on evidence (issue 13).

Only an ``ops`` or ``lead`` reviewer may resolve, and only with a proof that they signed
in (``application.reviews.issue_decision_proof``, checked here with the public key).
``paid`` ends it at once: the hold is posted with the provider's reference. ``not_paid``
releases money only once a second, different reviewer has recorded ``not_paid`` too,
because releasing money that was in fact paid pays it twice; and right before, the
provider is asked once more (``ProviderAnswer``): a *matching* transfer that moves or moved
the money refuses it, and so does one that matches key, amount and route but names no
payee (it may be this payout); another payee's transfer does not, or a parked mismatch
could never be released. Two ids of one person, or a reviewer disabled since, count once
or not at all. Every attempt is audited, refusals included; the same reviewer resolving
the same way again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateways.payout import PayoutProvider, ProviderError
from ledger import audit, holds
from ledger.decision_nonces import spend_decision_proof
from ledger.review_decisions import applicant_problem, one_id_per_person
from ledger.reviewers import disabled_problem
from ledger.settlement import settle
from ledger.tables import HoldState, PayoutResolution, Reviewer, Withdrawal
from ledger.withdrawals import recorded_request
from models.decision_proof import VerifyKeys
from models.domain import Status
from models.errors import NotFound
from models.messages import PayoutOutcome, PayoutResolutionRequest, PayoutResolutionVerdict
from models.provider_record import ExpectedTransfer, RecordField, check_record
from models.transfers import Transfer, TransferState

RESOLVER_ROLES = frozenset({"ops", "lead"})
NOT_PAID_REVIEWERS_REQUIRED = 2


@dataclass(frozen=True)
class ProviderAnswer:
    """The provider asked once more right before a ``not_paid`` resolution: its record
    under the withdrawal's key (None: it knows none), or that it could not be asked."""

    transfer: Transfer | None = None
    unreachable: bool = False


async def ask_provider_before_release(
    provider: PayoutProvider, request: PayoutResolutionRequest
) -> ProviderAnswer | None:
    """Right before a ``not_paid`` resolution may release money: the provider's record under
    the key now (``paid`` is ops' assertion and asks nothing)."""
    if request.outcome is not PayoutOutcome.NOT_PAID:
        return None
    try:
        return ProviderAnswer(transfer=await provider.lookup(request.withdrawal_id))
    except ProviderError:
        return ProviderAnswer(unreachable=True)


def proof_decision(outcome: PayoutOutcome) -> str:
    """The decision a resolution's proof is signed for (``models.decision_proof``)."""
    return "resolve_paid" if outcome is PayoutOutcome.PAID else "resolve_not_paid"


def record_resolution(
    session: Session,
    request: PayoutResolutionRequest,
    now: datetime,
    verify_key: VerifyKeys | None,
    provider: ProviderAnswer | None = None,
) -> PayoutResolutionVerdict:
    """Weigh and record one reviewer's resolution; say whether it ends the payout.

    The reviewer's word counts only with a valid proof of sign-in (its nonce spent here);
    a retry of an answer already recorded (its proof spent by the first try) is answered
    as the first was."""
    record = session.get(Withdrawal, request.withdrawal_id)
    if record is None:
        raise NotFound("withdrawal", f"no withdrawal {request.withdrawal_id!r}")
    reviewer = session.get(Reviewer, request.reviewer_id)
    problem = _problem(session, record, reviewer, request) or _provider_problem(
        record, request, provider
    )
    if problem is None and _recorded(session, request) is None:
        problem = spend_decision_proof(
            session,
            request.proof,
            verify_key,
            withdrawal_id=request.withdrawal_id,
            reviewer_id=request.reviewer_id,
            decision=proof_decision(request.outcome),
            comment=request.evidence,
            received_at=now,
            now=now,
        )
    if problem is not None:
        _audit(session, request, "refused", problem, now)
        return PayoutResolutionVerdict(
            accepted=False, final=False, outcome=request.outcome, why=problem
        )
    assert reviewer is not None
    existing = _recorded(session, request)
    if existing is None:
        session.add(
            PayoutResolution(
                withdrawal_id=request.withdrawal_id,
                reviewer_id=request.reviewer_id,
                role=reviewer.role,
                outcome=request.outcome.value,
                reference=request.reference,
                evidence=request.evidence,
                at=now,
            )
        )
        session.flush()
    verdict = _verdict(session, request)
    if existing is None:
        _audit(session, request, "final" if verdict.final else "recorded", verdict.why, now)
    return verdict


def _recorded(session: Session, request: PayoutResolutionRequest) -> PayoutResolution | None:
    return session.exec(
        select(PayoutResolution).where(
            PayoutResolution.withdrawal_id == request.withdrawal_id,
            PayoutResolution.reviewer_id == request.reviewer_id,
            PayoutResolution.outcome == request.outcome.value,
        )
    ).first()


def resolve_without_workflow(
    session: Session, verdict: PayoutResolutionVerdict, withdrawal_id: str, now: datetime
) -> None:
    """End a withdrawal whose workflow is gone (terminated by hand) the way ops decided."""
    if not verdict.final:
        return
    paid = verdict.outcome is PayoutOutcome.PAID
    settle(
        session,
        withdrawal_id=withdrawal_id,
        status=Status.SUCCEEDED if paid else Status.FAILED,
        note=verdict.why,
        reason=None if paid else "payout not made, as confirmed by ops (R19: money released)",
        provider_reference=verdict.reference,
        actor=",".join(verdict.reviewers),
        now=now,
    )


def _problem(
    session: Session,
    record: Withdrawal,
    reviewer: Reviewer | None,
    request: PayoutResolutionRequest,
) -> str | None:
    problem = request.problem()
    if problem is not None:
        return str(problem)
    if reviewer is None:
        return f"{request.reviewer_id} is not a registered reviewer"
    if not reviewer.enabled:
        return disabled_problem(reviewer)
    if reviewer.role not in RESOLVER_ROLES:
        return f"only ops or lead may resolve a payout; {reviewer.id} is {reviewer.role}"
    applicant = applicant_problem(session, record, reviewer)
    if applicant is not None:
        return applicant
    hold = holds.get_hold(session, record.id)
    if hold is None or hold.state != HoldState.HELD.value:
        ended = record.status
        if ended.is_final and _matches(ended, request.outcome):
            return None  # already ended this way: the repeat is answered idempotently
        return f"withdrawal {record.id} has no money held (it is {record.status})"
    return None


def _provider_problem(
    record: Withdrawal, request: PayoutResolutionRequest, provider: ProviderAnswer | None
) -> str | None:
    """``not_paid`` only while the provider holds no matching transfer that moves or moved
    the money. ``paid`` is ops' assertion with its evidence: not asked."""
    if request.outcome is not PayoutOutcome.NOT_PAID or record.status.is_final:
        return None
    if provider is None or provider.unreachable:
        return "R19: the provider could not be asked right before releasing; try again"
    found = provider.transfer
    if found is None or found.state is TransferState.FAILED:
        return None
    verdict = check_record(found, ExpectedTransfer.of(recorded_request(record)))
    if verdict.matches:
        return (
            f"R19: the provider now holds this withdrawal's transfer ({found.state.value}); "
            "not released"
        )
    # Key, amount and route match (the payee is checked last) but the record carries no
    # payee digest: it cannot be shown to pay someone else, so it may be this payout.
    # Only a digest present and different is another transfer (issue 22 review, item 5).
    if verdict.mismatch is RecordField.PAYEE and found.payee_digest is None:
        return (
            f"R19: the provider holds a transfer under this withdrawal's key, amount and "
            f"route ({found.state.value}) without saying whom it pays; not released"
        )
    return None


def _matches(status: Status, outcome: PayoutOutcome) -> bool:
    return (status is Status.SUCCEEDED) == (outcome is PayoutOutcome.PAID)


def _verdict(session: Session, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
    rows = session.exec(
        select(PayoutResolution)
        .where(
            PayoutResolution.withdrawal_id == request.withdrawal_id,
            PayoutResolution.outcome == request.outcome.value,
        )
        .order_by(col(PayoutResolution.id))
    ).all()
    # People, not ids (issue 22), and only reviewers still enabled: a second id of the
    # same person, or a reviewer disabled since, never confirms a --not-paid.
    reviewers = one_id_per_person(session, (row.reviewer_id for row in rows))
    if request.outcome is PayoutOutcome.PAID:
        reference = rows[0].reference if rows else request.reference
        return PayoutResolutionVerdict(
            accepted=True,
            final=True,
            outcome=request.outcome,
            why=f"paid (reference {reference}), resolved by {reviewers[0]}",
            reference=reference,
            reviewers=reviewers[:1],
        )
    if len(reviewers) >= NOT_PAID_REVIEWERS_REQUIRED:
        confirmed = reviewers[:NOT_PAID_REVIEWERS_REQUIRED]
        return PayoutResolutionVerdict(
            accepted=True,
            final=True,
            outcome=request.outcome,
            why=f"not paid, resolved by {confirmed[0]} and confirmed by {confirmed[1]}",
            reviewers=confirmed,
        )
    return PayoutResolutionVerdict(
        accepted=True,
        final=False,
        outcome=request.outcome,
        why=f"not paid according to {reviewers[0]}; money stays held until a second, "
        "different person (ops or lead) confirms",
        reviewers=reviewers,
    )


def _audit(
    session: Session, request: PayoutResolutionRequest, outcome: str, why: str, now: datetime
) -> None:
    reference = f"; reference {request.reference}" if request.reference else ""
    audit.append(
        session,
        actor=request.reviewer_id,
        action=f"payout.resolve.{request.outcome.value}",
        subject=request.withdrawal_id,
        outcome=outcome,
        detail=f"{why}{reference}; evidence: {request.evidence}",
        at=now,
    )
