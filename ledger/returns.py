"""Returns after success (issue 25): money a provider sent back after paying it comes
back to the balance once, visibly.

One ``withdrawal_return`` row per withdrawal (its key) records the return; in the same
transaction a return of the whole amount is credited: cash up, the order's withdrawn
amount down (R5/R14: the user may apply again), one ``withdrawal_return`` ledger entry
(unique per withdrawal, so a second credit fails in the database if anywhere), the
status ``returned`` with its reason (a ``withdrawal.returned`` webhook event) and the
audit row. Only a posted hold is credited: a hold still held waits for the withdrawal to
post it, a voided one never left. A return of another amount is parked for two ops
reviewers (``approve_credit``), never credited by guess.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from ledger import audit, holds, withdrawals
from ledger.holds import lock_account, lock_order
from ledger.invariants import check, check_account, check_order
from ledger.review_decisions import applicant_problem, one_id_per_person, reviewer_person
from ledger.reviewers import disabled_problem
from ledger.tables import (
    Account,
    Direction,
    EntryType,
    HoldState,
    LedgerEntry,
    ReturnCreditApproval,
    ReturnState,
    Reviewer,
    Withdrawal,
    WithdrawalReturn,
)
from ledger.types import utc
from models.domain import Status
from models.errors import HoldConflict, NotFound, RuleRefusal
from models.money import Money
from models.returns import (
    RETURN_REASON_TEXT,
    ReturnCreditVerdict,
    ReturnOutcome,
    ReturnRecorded,
)
from models.transfers import ReturnReason, Transfer

CREDITOR_ROLES = frozenset({"ops", "lead"})
CREDIT_REVIEWERS_REQUIRED = 2
RETURN_ACTOR = "payout-provider-return"
CREDIT_ACTION = "payout.return.credit"  # an ops approval of a parked return's credit


class HoldNotPosted(RuleRefusal):
    """The withdrawal has not posted its hold yet: its workflow still runs and will, on
    seeing the return, post it first; the return waits (retried)."""


def record_return(
    session: Session, withdrawal_id: str, transfer: Transfer, now: datetime
) -> ReturnRecorded:
    """Record the provider's confirmed return and credit it, once.

    ``transfer`` is the provider's own record, already matched to the withdrawal. A
    second call finds the row and changes nothing (``first=False``)."""
    record = session.get(Withdrawal, withdrawal_id)
    if record is None:
        raise NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")
    hold = holds.get_hold(session, withdrawal_id)
    account = lock_account(session, record.account_id)  # the global lock order
    existing = session.get(WithdrawalReturn, withdrawal_id, with_for_update=True)
    if existing is not None:
        return _recorded(existing, first=False)
    if hold is None or hold.state == HoldState.VOIDED.value:
        raise HoldConflict("R19", f"withdrawal {withdrawal_id} paid nothing; nothing to return")
    if hold.state != HoldState.POSTED.value:
        raise HoldNotPosted("R19", f"withdrawal {withdrawal_id} has not posted its hold yet")
    reason = transfer.return_reason or ReturnReason.OTHER
    returned = transfer.amount_returned
    row = WithdrawalReturn(
        withdrawal_id=withdrawal_id,
        state=ReturnState.PARKED,
        returned_fen=returned.fen,
        reason=reason.value,
        returned_at=transfer.returned_at,
        provider_reference=transfer.provider_reference,
        recorded_at=utc(now),
    )
    if returned.fen != hold.amount_fen:
        row.problem = (
            f"the provider returned {returned}, the withdrawal paid {Money(hold.amount_fen)}"
        )
    session.add(row)
    session.flush()
    if row.problem is None:
        _credit(session, account, record, row, returned, RETURN_ACTOR, now)
    else:
        why = f"{reason.value}; {row.problem}; ops credit it (credit-return)"
        _audit(session, withdrawal_id, RETURN_ACTOR, "parked", why, now)
    return _recorded(row, first=True)


def record_unconfirmed(
    session: Session, withdrawal_id: str, source: str, problem: str, now: datetime
) -> None:
    """A return announced (by ``source``) that the provider's own record does not
    confirm: audited, nothing else changes."""
    _audit(
        session, withdrawal_id, RETURN_ACTOR, "ignored", f"announced by {source}; {problem}", now
    )


def _audit(
    session: Session,
    withdrawal_id: str,
    actor: str,
    outcome: str,
    detail: str,
    now: datetime,
    action: str = "payout.return",
) -> None:
    audit.append(
        session,
        actor=actor,
        action=action,
        subject=withdrawal_id,
        outcome=outcome,
        detail=detail,
        at=now,
    )


def _credit(
    session: Session,
    account: Account,
    record: Withdrawal,
    row: WithdrawalReturn,
    amount: Money,
    actor: str,
    now: datetime,
) -> None:
    """The credit itself, in the caller's transaction: balance, order, entry, status, audit."""
    at = utc(now)
    account.cash_fen += amount.fen
    check_account(account)
    if record.order_id is not None:
        order = lock_order(session, record.order_id)
        order.withdrawn_fen -= amount.fen  # R5/R14: the order's remaining comes back
        check(order.withdrawn_fen >= 0, f"order {order.id}: returned more than was withdrawn")
        check_order(order)
    session.add(
        LedgerEntry(
            account_id=account.id,
            withdrawal_id=record.id,
            type=EntryType.WITHDRAWAL_RETURN.value,
            direction=Direction.CREDIT.value,
            amount_fen=amount.fen,
            balance_after_fen=account.cash_fen,
            at=at,
            note=f"withdrawal {record.id} returned by the provider",
        )
    )
    row.state = ReturnState.CREDITED
    row.credited_fen = amount.fen
    row.credited_at = at
    session.add(row)
    reason = RETURN_REASON_TEXT[ReturnReason(row.reason)]
    withdrawals.set_withdrawal_status(
        session, record.id, Status.RETURNED, at, note=f"{amount} back in the balance", reason=reason
    )
    restored = f"order {record.order_id} restored" if record.order_id else "no order"
    _audit(
        session, record.id, actor, "credited", f"{row.reason}; {amount} credited; {restored}", at
    )
    session.flush()


def _recorded(row: WithdrawalReturn, *, first: bool) -> ReturnRecorded:
    return ReturnRecorded(
        outcome=ReturnOutcome.CREDITED
        if row.state is ReturnState.CREDITED
        else ReturnOutcome.PARKED,
        reason=ReturnReason(row.reason),
        returned=Money(row.returned_fen),
        credited=Money(row.credited_fen),
        first=first,
    )


def get_return(session: Session, withdrawal_id: str) -> WithdrawalReturn | None:
    return session.get(WithdrawalReturn, withdrawal_id)


def returns_of(session: Session, state: ReturnState | None = None) -> list[WithdrawalReturn]:
    query = select(WithdrawalReturn)
    if state is not None:
        query = query.where(WithdrawalReturn.state == state.value)
    return list(session.exec(query.order_by(col(WithdrawalReturn.recorded_at))).all())


def approve_credit(
    session: Session,
    *,
    withdrawal_id: str,
    reviewer_id: str,
    amount: Money,
    evidence: str,
    now: datetime,
) -> ReturnCreditVerdict:
    """An authenticated ops reviewer approves crediting a parked return with ``amount``;
    the second different *person* approving the same amount credits it (two-person rule:
    a parked return's figure is in doubt, so one person never decides it alone). Never
    more than the provider's record says came back (``returned_fen``)."""
    record = session.get(Withdrawal, withdrawal_id)
    if record is None:
        raise NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")
    account = lock_account(session, record.account_id)
    row = session.get(WithdrawalReturn, withdrawal_id, with_for_update=True)
    reviewer = session.get(Reviewer, reviewer_id)
    problem = _credit_problem(session, record, row, reviewer, amount, evidence)
    if problem is not None:
        _audit_credit(session, withdrawal_id, reviewer_id, "refused", problem, now)
        return ReturnCreditVerdict(accepted=False, credited=False, why=problem)
    assert row is not None and reviewer is not None
    if row.state is ReturnState.CREDITED:
        why = f"already credited {Money(row.credited_fen)}"
        return ReturnCreditVerdict(accepted=True, credited=True, why=why)
    approvals = session.exec(
        select(ReturnCreditApproval)
        .where(ReturnCreditApproval.withdrawal_id == withdrawal_id)
        .order_by(col(ReturnCreditApproval.id))
    ).all()
    mine = next((a for a in approvals if a.reviewer_id == reviewer_id), None)
    if mine is not None and mine.amount_fen != amount.fen:
        why = f"{reviewer_id} already approved {Money(mine.amount_fen)}"
        return ReturnCreditVerdict(accepted=False, credited=False, why=why)
    agreeing = [a.reviewer_id for a in approvals if a.amount_fen == amount.fen]
    if mine is None:
        person = reviewer_person(session, reviewer_id)
        counted = one_id_per_person(session, [a.reviewer_id for a in approvals])
        if any(reviewer_person(session, r) == person for r in counted):
            why = (
                f"{reviewer_id} is the same person ({person}) as a reviewer who approved "
                "already; a second, different person confirms"
            )
            _audit_credit(session, withdrawal_id, reviewer_id, "refused", why, now)
            return ReturnCreditVerdict(accepted=False, credited=False, why=why)
        session.add(
            ReturnCreditApproval(
                withdrawal_id=withdrawal_id,
                reviewer_id=reviewer_id,
                role=reviewer.role,
                amount_fen=amount.fen,
                evidence=evidence,
                at=utc(now),
            )
        )
        session.flush()
        agreeing.append(reviewer_id)
    # People, not ids (issue 22), and only reviewers still enabled (issue 26).
    reviewers = one_id_per_person(session, agreeing)
    if len(reviewers) < CREDIT_REVIEWERS_REQUIRED:
        why = f"{amount} approved by {reviewers[0]}; a second, different ops or lead confirms"
        _audit_credit(session, withdrawal_id, reviewer_id, "recorded", why, now)
        return ReturnCreditVerdict(accepted=True, credited=False, why=why, reviewers=reviewers)
    confirmed = reviewers[:CREDIT_REVIEWERS_REQUIRED]
    _credit(session, account, record, row, amount, ",".join(confirmed), now)
    why = f"{amount} credited, approved by {confirmed[0]} and confirmed by {confirmed[1]}"
    return ReturnCreditVerdict(accepted=True, credited=True, why=why, reviewers=confirmed)


def _credit_problem(
    session: Session,
    record: Withdrawal,
    row: WithdrawalReturn | None,
    reviewer: Reviewer | None,
    amount: Money,
    evidence: str,
) -> str | None:
    if row is None:
        return f"withdrawal {record.id} has no return recorded"
    if reviewer is None:
        return "not a registered reviewer"
    disabled = disabled_problem(reviewer)
    if disabled is not None:
        return disabled
    if reviewer.role not in CREDITOR_ROLES:
        return f"only ops or lead may credit a return; {reviewer.id} is {reviewer.role}"
    applicant = applicant_problem(session, record, reviewer)
    if applicant is not None:
        return applicant
    if not evidence.strip():
        return "evidence is required"
    if amount.fen <= 0:
        return "a return credits more than 0.00"
    returned = min(row.returned_fen, record.amount_fen)
    if amount.fen > returned:
        return (
            f"{amount} is more than the {Money(returned)} the provider's record says came "
            f"back (reference {row.provider_reference or 'none'}); a return credits at most that"
        )
    return None


def _audit_credit(
    session: Session, withdrawal_id: str, reviewer_id: str, outcome: str, why: str, now: datetime
) -> None:
    _audit(session, withdrawal_id, reviewer_id, outcome, why, now, action=CREDIT_ACTION)
