"""Opening a withdrawal: record it, check it (R1 R2 R5 R8 R9 R10) and freeze the money (R14).

``open_withdrawal`` does all three in one transaction under the account lock, so a
check that passes is still true when the money is frozen. A refusal rolls that
transaction back; ``record_refusal`` then writes the record and the refusal on their
own, so the user sees why. Both write their own audit rows and both are safe to run
again: the record, the hold and the stored answer are keyed by the withdrawal id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from ledger import audit, holds, tables, withdrawals
from ledger.eligibility import check_eligibility
from models.authority import applicants, approvals_required
from models.domain import Channel, WithdrawalRequest
from models.masks import mask_account_number
from models.messages import Opened
from models.money import Money


@dataclass(frozen=True)
class OpenResult:
    opened: Opened
    newly_held: bool  # False for a retry that found the money frozen: count nothing again


def open_withdrawal(
    session: Session, request: WithdrawalRequest, now: datetime, four_eyes_threshold: Money
) -> OpenResult:
    """Record, check and freeze; raise the check's ``RuleRefusal``/``InputError``."""
    record = _record_request(session, request, now)
    if record.opened_json and holds.get_hold(session, request.withdrawal_id):
        # A retry after the first open committed (its answer was lost): the money is
        # frozen, so answer as the first time. Checking again could refuse (account
        # frozen, R8 deadline passed meanwhile) and strand the hold.
        return OpenResult(Opened.model_validate_json(record.opened_json), newly_held=False)
    eligibility = check_eligibility(session, request, now)
    already_held = holds.get_hold(session, request.withdrawal_id) is not None
    hold = holds.reserve(
        session,
        withdrawal_id=request.withdrawal_id,
        account_id=request.account_id,
        order_id=request.order_id,
        amount=request.amount,
        now=now,
    )
    required = approvals_required(
        request.amount, bool(eligibility.review_reasons), four_eyes_threshold
    )
    if not already_held:
        review = "; ".join(eligibility.review_reasons) or "none (R16)"
        audit.append(
            session,
            actor=request.actor,
            action="hold.reserve",
            subject=request.withdrawal_id,
            outcome="held",
            detail=f"{request.amount} frozen; review: {review}; approvals required: {required}",
            at=now,
        )
    opened = Opened(
        review_reasons=eligibility.review_reasons,
        channel=eligibility.channel,
        destination_masked=destination(request, eligibility.channel),
        hold_amount=Money(hold.amount_fen),
        arrival_text=eligibility.arrival.text,
        arrival_latest=eligibility.arrival.latest,
        approvals_required=required,
        applicants=sorted(
            applicants(request.account_id, request.actor, eligibility.account.master_account_id)
        ),
    )
    withdrawals.record_opening(  # a retry answers with this
        session,
        request.withdrawal_id,
        review_required=record.review_required or bool(eligibility.review_reasons),
        opened_json=opened.model_dump_json(),
    )
    return OpenResult(opened, newly_held=not already_held)


def record_refusal(session: Session, request: WithdrawalRequest, why: str, now: datetime) -> None:
    """The record and its refusal, after ``open_withdrawal``'s transaction rolled back."""
    _record_request(session, request, now)
    _release_stranded_hold(session, request.withdrawal_id, why, now)
    audit.append(
        session,
        actor=request.actor,
        action="withdrawal.open",
        subject=request.withdrawal_id,
        outcome="refused",
        detail=why,
        at=now,
    )


def destination(request: WithdrawalRequest, channel: Channel | None) -> str:
    """What the user sees of where the money goes: never a full account number."""
    if request.payee is not None:
        return f"{request.route.value} {mask_account_number(request.payee.account_number)}"
    return f"original route ({channel.value if channel else 'recharge channel'})"


def _record_request(
    session: Session, request: WithdrawalRequest, now: datetime
) -> tables.Withdrawal:
    """The withdrawal record (``create_withdrawal``), audited the first time only."""
    record, new = withdrawals.create_or_find(session, request, now)
    if new:
        audit.append(
            session,
            actor=request.actor,
            action="withdrawal.request",
            subject=request.withdrawal_id,
            outcome="recorded",
            detail=_describe(request),
            at=now,
        )
    return record


def _release_stranded_hold(session: Session, withdrawal_id: str, why: str, now: datetime) -> None:
    """A refusal after the money was frozen (a retried open whose first attempt committed)
    must not strand the hold: release it with the refusal (R19)."""
    hold = holds.get_hold(session, withdrawal_id)
    if hold is None or hold.state != tables.HoldState.HELD.value:
        return
    holds.void_hold(session, withdrawal_id, now)
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="hold.void",
        subject=withdrawal_id,
        outcome="voided",
        detail=f"refused after the money was frozen: {why} (R19)",
        at=now,
    )


def _describe(request: WithdrawalRequest) -> str:
    """A request for the audit trail: amount, kind, route, order, masked payee."""
    text = f"{request.amount} {request.kind.value} via {request.route.value}"
    if request.order_id:
        text += f" from order {request.order_id}"
    if request.payee is not None:
        text += f" to {request.payee.masked}"
    return text
