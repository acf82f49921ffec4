"""R17 review decisions and R2/R18 cancels: weighed (``models.authority``) and recorded.

A reviewer's word counts only with a valid proof of sign-in, its nonce spent here
(``ledger.decision_nonces``). Each decision is recorded with its row, the timeline and
the audit trail in the caller's one transaction, refusals included; a decision is keyed
by ``(withdrawal, sequence)``, so a retry answers with the verdict recorded first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from ledger import audit, status_changes, tables, withdrawals
from ledger.decision_nonces import spend_decision_proof
from ledger.reviewers import disabled_problem
from models.authority import CANCELLING_ROLES, applicants, decision_problem, person_of
from models.decision_proof import VerifyKeys
from models.domain import Status
from models.errors import NotFound
from models.messages import (
    CancelCheck,
    CancelVerdict,
    ReviewDecisionKind,
    ReviewerCheck,
    ReviewerVerdict,
)


class UnknownWithdrawal(NotFound):
    """No record under the id; the message is the one the workflow has always been given."""

    def __init__(self, withdrawal_id: str) -> None:
        Exception.__init__(self, f"unknown withdrawal {withdrawal_id}")
        self.rule = "withdrawal"
        self.message = f"unknown withdrawal {withdrawal_id}"

    @property
    def error_type(self) -> str:
        return "NotFound"


@dataclass(frozen=True)
class Decided:
    verdict: ReviewerVerdict
    review_began: datetime | None  # set when this decision ended the review (for metrics)


def record_review_decision(
    session: Session,
    check: ReviewerCheck,
    verify_key: VerifyKeys | None,
    now: datetime,
) -> Decided:
    """Weigh one approve/reject and record it; raise ``UnknownWithdrawal``."""
    existing = session.exec(
        select(tables.ReviewDecisionRecord).where(
            tables.ReviewDecisionRecord.withdrawal_id == check.withdrawal_id,
            tables.ReviewDecisionRecord.sequence == check.sequence,
        )
    ).first()
    if existing is not None:  # a retry: answered as the first time, nothing counted again
        verdict = ReviewerVerdict(allowed=existing.accepted, why=existing.why, role=existing.role)
        # Nothing is written again (the ledger may have moved on since): the carried
        # status counts as written if the first attempt wrote it, which a worker deployed
        # before status-written-with-its-step did not (then ``run`` records it).
        written = _carries(check, verdict) and _has_status(session, check)
        return Decided(verdict.model_copy(update={"status_written": written}), review_began=None)
    record = _require(session, check.withdrawal_id)
    at = check.at or now
    if check.refused is not None:
        verdict = ReviewerVerdict(allowed=False, why=check.refused, refused=True)
    else:
        problem = spend_decision_proof(
            session,
            check.proof,
            verify_key,
            withdrawal_id=check.withdrawal_id,
            reviewer_id=check.reviewer_id,
            decision=check.decision.value,
            comment=check.comment,
            received_at=at,
            now=now,
        )
        if problem is None:
            verdict = _weigh(session, record, check)
        else:
            verdict = ReviewerVerdict(allowed=False, why=problem, refused=True)
    _record_decision(session, check, verdict, at)
    if _write_carried(session, check, verdict, now):
        verdict = verdict.model_copy(update={"status_written": True})
    began = None
    if _decides_review(check, verdict):
        began = withdrawals.entered_status_at(session, check.withdrawal_id, Status.UNDER_REVIEW)
    return Decided(verdict, review_began=began)


def authorize_cancel(
    session: Session,
    check: CancelCheck,
    verify_key: VerifyKeys | None,
    now: datetime,
) -> CancelVerdict:
    """Whether this cancel may go ahead, audited either way; raise ``UnknownWithdrawal``.

    ``by`` is asserted by the caller (the operator at the CLI, a backend's API key) and
    recorded as asserted: it counts only for the applicant or its master account (R2).
    A reviewer's cancel needs a proof of an authenticated ``ops`` or ``lead`` reviewer.
    """
    record = _require(session, check.withdrawal_id)
    request = check.request
    if request.reviewer_id is not None or request.proof is not None:
        verdict = _reviewer_cancel(session, check, verify_key, now)
    else:
        allowed = applicants_of(session, record)
        by = (request.by or record.requested_by or record.account_id)[:64]
        if by in allowed:
            verdict = CancelVerdict(
                allowed=True, why=f"cancel asserted by {by}, the applicant (R2)", actor=by
            )
        else:
            verdict = CancelVerdict(
                allowed=False,
                why=f"R2: {by} is neither the applicant nor its master account; "
                "only they, or an ops or lead reviewer, may cancel",
                actor=by,
            )
    audit.append(
        session,
        actor=verdict.actor,
        action="withdrawal.cancel",
        subject=check.withdrawal_id,
        outcome="authorised" if verdict.allowed else "refused",
        detail=verdict.why,
        at=now,
    )
    return verdict


def _require(session: Session, withdrawal_id: str) -> tables.Withdrawal:
    record = session.get(tables.Withdrawal, withdrawal_id)
    if record is None:
        raise UnknownWithdrawal(withdrawal_id)
    return record


def applicants_of(session: Session, record: tables.Withdrawal) -> frozenset[str]:
    """The account, the account that applied and its master account."""
    account = session.get(tables.Account, record.account_id)
    return applicants(
        record.account_id, record.requested_by, account.master_account_id if account else None
    )


def _reviewer_cancel(
    session: Session, check: CancelCheck, verify_key: VerifyKeys | None, now: datetime
) -> CancelVerdict:
    reviewer_id = (check.request.reviewer_id or "unknown")[:64]
    problem = spend_decision_proof(
        session,
        check.request.proof,
        verify_key,
        withdrawal_id=check.withdrawal_id,
        reviewer_id=reviewer_id,
        decision="cancel",
        comment="",
        received_at=check.at,
        now=now,
    )
    reviewer = session.get(tables.Reviewer, reviewer_id)
    role = reviewer.role if reviewer is not None else None
    if problem is None:
        problem = disabled_problem(reviewer)
    if problem is None and role not in CANCELLING_ROLES:
        problem = f"role {role!r} may not cancel; ops or lead may"
    person = reviewer_person(session, reviewer_id)
    if problem is not None:
        return CancelVerdict(
            allowed=False,
            why=f"R18: cancel by {reviewer_id} refused: {problem}",
            actor=reviewer_id,
            person=person,
        )
    return CancelVerdict(
        allowed=True,
        why=f"cancel by {role} {reviewer_id}, authenticated",
        actor=reviewer_id,
        person=person,
    )


def _write_carried(
    session: Session, check: ReviewerCheck, verdict: ReviewerVerdict, now: datetime
) -> bool:
    """ "approved, paying out", in this transaction (status-written-with-its-step), for
    the approval that completes the review; True when the ledger has it now."""
    if not _carries(check, verdict):
        return False
    assert check.then is not None
    return status_changes.record_with_step(session, check.then, now)


def _carries(check: ReviewerCheck, verdict: ReviewerVerdict) -> bool:
    """The approval completes the review and carries the status that follows."""
    approved = check.decision is ReviewDecisionKind.APPROVE and _decides_review(check, verdict)
    return approved and check.then is not None


def _has_status(session: Session, check: ReviewerCheck) -> bool:
    assert check.then is not None
    entered = withdrawals.entered_status_at(session, check.withdrawal_id, check.then.status)
    return entered is not None


def _decides_review(check: ReviewerCheck, verdict: ReviewerVerdict) -> bool:
    """This decision ends the review: an accepted rejection, or the last approval needed."""
    if not verdict.allowed:
        return False
    if check.decision is ReviewDecisionKind.REJECT:
        return True
    return len(set(check.approvals_so_far)) + 1 >= check.approvals_required


def _weigh(session: Session, record: tables.Withdrawal, check: ReviewerCheck) -> ReviewerVerdict:
    reviewer = session.get(tables.Reviewer, check.reviewer_id)
    disabled = disabled_problem(reviewer)  # disabled after signing: not weighed (issue 26)
    if disabled is not None:
        return ReviewerVerdict(allowed=False, why=disabled, role=None, refused=True)
    conflicted = applicants_of(session, record)
    approving = check.decision is ReviewDecisionKind.APPROVE
    role = reviewer.role if reviewer is not None else None
    person = reviewer_person(session, check.reviewer_id)
    problem = decision_problem(
        reviewer_id=check.reviewer_id,
        role=role,
        conflicted=conflicted,
        approving=approving,
        approved_by=check.approvals_so_far,
        same_person=same_person_as_applicant(session, reviewer, conflicted),
        person=person,
        approved_people={reviewer_person(session, r) for r in check.approvals_so_far},
    )
    if problem is not None:
        return ReviewerVerdict(allowed=False, why=problem, role=role, person=person)
    # ``why`` becomes a timeline note (status document, API, webhooks): the reviewer's
    # real-name identity stays out of it; ``person`` carries it to the decision list and
    # the audit trail (``_record_decision``).
    if not approving:
        why = f"rejected by {role} {check.reviewer_id}"
        return ReviewerVerdict(allowed=True, why=why, role=role, person=person)
    count = len(set(check.approvals_so_far)) + 1
    why = f"approval {count} of {check.approvals_required} by {role} {check.reviewer_id}"
    return ReviewerVerdict(allowed=True, why=why, role=role, person=person)


def reviewer_person(session: Session, reviewer_id: str) -> str:
    """``models.authority.person_of`` for a reviewer id, registered or not."""
    reviewer = session.get(tables.Reviewer, reviewer_id)
    return person_of(reviewer_id, reviewer.identity_id if reviewer is not None else None)


def one_id_per_person(session: Session, reviewer_ids: Iterable[str]) -> list[str]:
    """Of ids that approved, in order, those that count for a two-person rule
    (``resolve-payout --not-paid``, ``credit-return``): each person's first id, and none
    of a reviewer disabled since they approved (issue 26: their word no longer counts)."""
    counted: dict[str, str] = {}
    for reviewer_id in reviewer_ids:
        if disabled_problem(session.get(tables.Reviewer, reviewer_id)) is not None:
            continue
        counted.setdefault(reviewer_person(session, reviewer_id), reviewer_id)
    return list(counted.values())


def applicant_problem(
    session: Session, record: tables.Withdrawal, reviewer: tables.Reviewer
) -> str | None:
    """R2/R17 for ops' money decisions on a withdrawal (``resolve-payout``,
    ``credit-return``): not the applicant set, by id or under the same real name."""
    conflicted = applicants_of(session, record)
    if reviewer.id in conflicted:
        return "the applicant never decides on their own withdrawal"
    if same_person_as_applicant(session, reviewer, conflicted):
        return "the reviewer is the applicant under the same real name (R17)"
    return None


def same_person_as_applicant(
    session: Session, reviewer: tables.Reviewer | None, conflicted: frozenset[str]
) -> bool:
    """R17: the reviewer's real-name identity is one of the applicant accounts'."""
    if reviewer is None or reviewer.identity_id is None:
        return False
    for account_id in conflicted:
        account = session.get(tables.Account, account_id)
        if account is not None and account.identity_id == reviewer.identity_id:
            return True
    return False


def _record_decision(
    session: Session, check: ReviewerCheck, verdict: ReviewerVerdict, at: datetime
) -> None:
    kind = check.decision.value
    session.add(
        tables.ReviewDecisionRecord(
            withdrawal_id=check.withdrawal_id,
            sequence=check.sequence,
            reviewer_id=check.reviewer_id,
            role=verdict.role,
            decision=kind,
            accepted=verdict.allowed,
            why=verdict.why,
            comment=check.comment,
            at=at,
        )
    )
    # An accepted rejection reaches the timeline through ``settle``; the rest here.
    if verdict.allowed and check.decision is ReviewDecisionKind.REJECT:
        note = ""
    elif verdict.allowed:
        note = f"{verdict.why}"
    else:
        note = f"{kind} by {check.reviewer_id} ignored: {verdict.why}"
    if note:
        withdrawals.set_withdrawal_status(
            session, check.withdrawal_id, Status.UNDER_REVIEW, at, note
        )
    person = verdict.person
    detail = verdict.why + (f"; {person}" if person and person not in verdict.why else "")
    detail += f"; comment: {check.comment}" if check.comment else ""
    audit.append(
        session,
        actor=check.reviewer_id,
        action=f"review.{kind}",
        subject=check.withdrawal_id,
        outcome="accepted" if verdict.allowed else ("refused" if verdict.refused else "ignored"),
        detail=detail,
        at=at,
    )
