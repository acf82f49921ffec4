"""The withdrawal record and its timeline (R18, R20): what ``status`` and ``list`` show.

The workflow owns the process; these functions only record what it decided. Ids are
idempotency keys, and a final status (R18) never changes again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from ledger import events
from ledger.rows import flush_pending, read_row, sync_cached, table_of
from ledger.tables import EntryType, LedgerEntry, Withdrawal, WithdrawalEvent
from ledger.types import utc
from models.domain import FINAL_STATUS_CHANGES, Payee, Status, WithdrawalRequest
from models.errors import HoldConflict, NotFound
from models.money import Money
from models.sameness import first_difference

MAX_LIST_LIMIT = 1000  # a page of records; a bigger listing is an export, not a query
MAX_TRANSACTIONS = 10_000  # R20 details per query
# The R20 filter's type and the entry types it shows (a return credit is a withdrawal's).
ENTRY_TYPES_SHOWN_AS = {
    EntryType.WITHDRAWAL.value: (EntryType.WITHDRAWAL.value, EntryType.WITHDRAWAL_RETURN.value)
}


# Core statements for the hot path, built once (issue 24; ``ledger.rows``).
WITHDRAWALS = table_of(Withdrawal)
TIMELINE = table_of(WithdrawalEvent)
_LAST_NOTE = (
    core_select(TIMELINE.c.note)
    .where(TIMELINE.c.withdrawal_id == bindparam("key"))
    .order_by(TIMELINE.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_ROW = core_select(WITHDRAWALS).where(WITHDRAWALS.c.id == bindparam("key"))
_ROW_AND_LAST_NOTE = core_select(WITHDRAWALS, _LAST_NOTE.label("last_note")).where(
    WITHDRAWALS.c.id == bindparam("key")
)
_STATUS_AND_LAST_NOTE = core_select(WITHDRAWALS.c.status, _LAST_NOTE).where(
    WITHDRAWALS.c.id == bindparam("key")
)
_ROUTE_AND_KIND = core_select(WITHDRAWALS.c.route, WITHDRAWALS.c.kind).where(
    WITHDRAWALS.c.id == bindparam("key")
)
_UPDATE = update(WITHDRAWALS).where(WITHDRAWALS.c.id == bindparam("key"))  # SET: the parameters
_INSERT_WITHDRAWAL = insert(WITHDRAWALS)
_INSERT_EVENT = insert(TIMELINE)


def _update(session: Session, withdrawal_id: str, **values: Any) -> None:
    """Change these columns of the record, and the session's copy if it holds one."""
    session.execute(_UPDATE, {"key": withdrawal_id, **values})
    sync_cached(session, Withdrawal, withdrawal_id, **values)


def find(session: Session, withdrawal_id: str) -> Withdrawal | None:
    """The record as it stands, a transient copy (change it through this module only)."""
    flush_pending(session)
    return read_row(session, _ROW, Withdrawal, withdrawal_id)


def route_and_kind(session: Session, withdrawal_id: str) -> tuple[str, str] | None:
    """What the metrics label a withdrawal with (nothing personal), None if unknown."""
    found = session.execute(_ROUTE_AND_KIND, {"key": withdrawal_id}).first()
    return None if found is None else (found[0].value, found[1].value)


def get_withdrawal(session: Session, withdrawal_id: str) -> Withdrawal | None:
    return session.get(Withdrawal, withdrawal_id)


def _require(session: Session, withdrawal_id: str) -> Withdrawal:
    withdrawal = session.get(Withdrawal, withdrawal_id)
    if withdrawal is None:
        raise NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")
    return withdrawal


def _append_event(
    session: Session, withdrawal_id: str, at: datetime, status: Status, note: str
) -> None:
    session.execute(
        _INSERT_EVENT, {"withdrawal_id": withdrawal_id, "at": at, "status": status, "note": note}
    )


def recorded_request(row: Withdrawal) -> WithdrawalRequest:
    """The request a withdrawal record was made from (the payee in full: DB only)."""
    payee = Payee.model_validate_json(row.payee_json) if row.payee_json else None
    proofs = json.loads(row.proofs_json or "[]")
    return WithdrawalRequest(
        withdrawal_id=row.id,
        account_id=row.account_id,
        amount=Money(row.amount_fen),
        kind=row.kind,
        route=row.route,
        order_id=row.order_id,
        reason=row.designated_reason,
        payee=payee,
        proofs=[str(p) for p in proofs] if isinstance(proofs, list) else [],
        requested_by=row.requested_by,
    )


def request_difference(row: Withdrawal, request: WithdrawalRequest) -> str | None:
    """The first field where ``request`` differs from the recorded one (``models.sameness``)."""
    return first_difference(recorded_request(row), request)


def matches_request(row: Withdrawal, request: WithdrawalRequest) -> bool:
    """The recorded withdrawal is this request again (an idempotent retry of its id)."""
    return request_difference(row, request) is None


def create_withdrawal(
    session: Session,
    request: WithdrawalRequest,
    now: datetime,
    review_required: bool = False,
) -> Withdrawal:
    """Record a new withdrawal in ``verifying`` with its first timeline row.

    The same id again returns the existing record; a different request under that id
    raises ``HoldConflict``. The payee's details stay in this row only (masked elsewhere).
    """
    return create_or_find(session, request, now, review_required)[0]


def create_or_find(
    session: Session,
    request: WithdrawalRequest,
    now: datetime,
    review_required: bool = False,
) -> tuple[Withdrawal, bool]:
    """``create_withdrawal``, and whether this call created the record."""
    at = utc(now)
    existing = find(session, request.withdrawal_id)
    if existing is not None:
        if matches_request(existing, request):
            return existing, False
        raise HoldConflict(
            "idempotency",
            f"withdrawal {request.withdrawal_id} exists for a different request",
        )
    withdrawal = Withdrawal(
        id=request.withdrawal_id,
        account_id=request.account_id,
        kind=request.kind,
        route=request.route,
        order_id=request.order_id,
        amount_fen=request.amount.fen,
        status=Status.VERIFYING,
        designated_reason=request.reason,
        payee_json=request.payee.model_dump_json() if request.payee else None,
        payee_masked=request.payee.masked if request.payee else None,
        proofs_json=json.dumps(list(request.proofs)),
        requested_by=request.requested_by,
        review_required=review_required,
        created_at=at,
        updated_at=at,
    )
    session.execute(
        _INSERT_WITHDRAWAL, {c.name: getattr(withdrawal, c.name) for c in WITHDRAWALS.c}
    )
    _append_event(session, withdrawal.id, at, Status.VERIFYING, "created")
    events.touch(session, withdrawal.id, None)
    return withdrawal, True  # transient: never added to the session


def record_opening(
    session: Session, withdrawal_id: str, *, review_required: bool, opened_json: str
) -> None:
    """What opening decided: whether a reviewer must look, and the answer a retry repeats."""
    _update(session, withdrawal_id, review_required=review_required, opened_json=opened_json)


def record_final_answer(
    session: Session, withdrawal_id: str, provider_reference: str | None
) -> None:
    """A final status is the answer: the payout is no longer unknown; the provider's
    reference, when there is one, is kept."""
    change: dict[str, Any] = {"payout_unknown": False}
    if provider_reference:
        change["provider_reference"] = provider_reference
    _update(session, withdrawal_id, **change)


def set_withdrawal_status(
    session: Session,
    withdrawal_id: str,
    status: Status,
    now: datetime,
    note: str = "",
    reason: str | None = None,
) -> Withdrawal:
    """Move a withdrawal to ``status`` and append a timeline row (R18).

    Repeating the current status with the same note is a no-op, so a retried activity
    does not duplicate the timeline. Leaving a final status raises ``HoldConflict``.
    ``reason`` (why rejected, failed or refused) is kept once given.
    """
    at = utc(now)
    flush_pending(session)
    found = session.execute(_ROW_AND_LAST_NOTE, {"key": withdrawal_id}).first()
    if found is None:
        raise NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")
    values = dict(found._mapping)
    last_note = values.pop("last_note")
    current = values["status"]
    if current == status and last_note == note:
        return Withdrawal(**values)
    if current.is_final and status != current and (current, status) not in FINAL_STATUS_CHANGES:
        raise HoldConflict(
            "R18", f"withdrawal {withdrawal_id} is {current.value}; a final status never changes"
        )
    events.touch(session, withdrawal_id, current)
    change: dict[str, Any] = {"status": status, "updated_at": at}
    if reason is not None:
        change["reason"] = reason
    _update(session, withdrawal_id, **change)
    _append_event(session, withdrawal_id, at, status, note)
    return Withdrawal(**{**values, **change})  # transient: never added to the session


def is_repeat(session: Session, withdrawal_id: str, status: Status, note: str) -> bool:
    """True when ``set_withdrawal_status`` would change nothing (a retried activity)."""
    flush_pending(session)
    found = session.execute(_STATUS_AND_LAST_NOTE, {"key": withdrawal_id}).first()
    return found is not None and found[0] == status.value and found[1] == note


def entered_status_at(session: Session, withdrawal_id: str, status: Status) -> datetime | None:
    """When the timeline first reached ``status`` (e.g. the start of a review)."""
    at = session.exec(
        select(WithdrawalEvent.at)
        .where(
            WithdrawalEvent.withdrawal_id == withdrawal_id, WithdrawalEvent.status == status.value
        )
        .order_by(col(WithdrawalEvent.id))
        .limit(1)
    ).first()
    return utc(at) if at is not None else None


def mark_review_overdue(session: Session, withdrawal_id: str, overdue: bool) -> Withdrawal:
    """Flag a review past its SLA for ops (R17 *beyond*); the status does not change."""
    return _set_flag(session, withdrawal_id, "review_overdue", overdue)


def set_provider_reference(session: Session, withdrawal_id: str, reference: str) -> Withdrawal:
    """Remember the payout provider's reference (shown by ``status``)."""
    return _set_flag(session, withdrawal_id, "provider_reference", reference)


def timeline(session: Session, withdrawal_id: str) -> list[WithdrawalEvent]:
    """The withdrawal's steps in the order they happened."""
    _require(session, withdrawal_id)
    return list(
        session.exec(
            select(WithdrawalEvent)
            .where(WithdrawalEvent.withdrawal_id == withdrawal_id)
            .order_by(col(WithdrawalEvent.id))
        ).all()
    )


def list_withdrawals(
    session: Session,
    account_id: str | None = None,
    status: Status | None = None,
    limit: int = 100,
    payout_unknown: bool | None = None,
    before: tuple[datetime, str] | None = None,
) -> list[Withdrawal]:
    """Withdrawal records, newest first (R20), at most ``MAX_LIST_LIMIT``; ``before``
    (created_at, id) starts after that record (keyset pagination: stable under inserts)."""
    query = select(Withdrawal)
    if payout_unknown is not None:
        query = query.where(Withdrawal.payout_unknown == payout_unknown)
    if before is not None:
        at, last_id = utc(before[0]), before[1]
        query = query.where(
            or_(
                col(Withdrawal.created_at) < at,
                and_(col(Withdrawal.created_at) == at, col(Withdrawal.id) < last_id),
            )
        )
    if account_id is not None:
        query = query.where(Withdrawal.account_id == account_id)
    if status is not None:
        query = query.where(Withdrawal.status == status.value)
    query = query.order_by(col(Withdrawal.created_at).desc(), col(Withdrawal.id).desc())
    return list(session.exec(query.limit(max(1, min(limit, MAX_LIST_LIMIT)))).all())


def transactions(
    session: Session,
    account_id: str,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[LedgerEntry]:
    """R20 transaction details, oldest first; ``since`` inclusive, ``until`` exclusive."""
    query = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if type is not None:
        # A return's credit shows under type ``withdrawal`` too, on its own line (R20).
        query = query.where(col(LedgerEntry.type).in_(ENTRY_TYPES_SHOWN_AS.get(type, (type,))))
    if since is not None:
        query = query.where(col(LedgerEntry.at) >= utc(since))
    if until is not None:
        query = query.where(col(LedgerEntry.at) < utc(until))
    query = query.order_by(col(LedgerEntry.at), col(LedgerEntry.id)).limit(MAX_TRANSACTIONS)
    return list(session.exec(query).all())


def mark_payout_unknown(session: Session, withdrawal_id: str, unknown: bool) -> Withdrawal:
    """Flag a payout whose outcome is unknown for ops (``list --payout-unknown``); a
    change is a ``withdrawal.updated`` webhook event."""
    return _set_flag(session, withdrawal_id, "payout_unknown", unknown)


def _set_flag(session: Session, withdrawal_id: str, column: str, value: Any) -> Withdrawal:
    """One column of the record that is not its status; a change is a webhook event."""
    withdrawal = find(session, withdrawal_id)
    if withdrawal is None:
        raise NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")
    if getattr(withdrawal, column) != value:
        events.touch(session, withdrawal_id, withdrawal.status)
        _update(session, withdrawal_id, **{column: value})
        setattr(withdrawal, column, value)
    return withdrawal
