"""A status the workflow decided, written to the record, its flags and the audit trail.

Repeating a change (a retried ``record_status``) writes nothing twice: the timeline
skips a repeat (``set_withdrawal_status``) and so does the audit row here.

``record_with_step`` writes the same change inside the transaction of the step that
caused it (the code check, the deciding approval; workflow patch
``status-written-with-its-step``), with the same rows as ``record_status`` would.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ledger import audit, events, withdrawals
from models.messages import StatusChange


def record_status(session: Session, change: StatusChange, now: datetime) -> tuple[str, str] | None:
    """The record's (route, kind) when this call wrote the change, None for a repeat."""
    repeat = withdrawals.is_repeat(session, change.withdrawal_id, change.status, change.note)
    withdrawals.set_withdrawal_status(
        session,
        change.withdrawal_id,
        change.status,
        now,
        note=change.note,
        reason=change.reason,
    )
    if change.review_overdue is not None:
        withdrawals.mark_review_overdue(session, change.withdrawal_id, change.review_overdue)
    if change.payout_unknown is not None:
        withdrawals.mark_payout_unknown(session, change.withdrawal_id, change.payout_unknown)
    if repeat:
        return None
    audit.append(
        session,
        actor=change.actor,
        action=f"status.{change.status.value}",
        subject=change.withdrawal_id,
        outcome="recorded",
        detail=_note(change.note, change.reason),
        at=now,
    )
    return withdrawals.route_and_kind(session, change.withdrawal_id)


def record_with_step(session: Session, change: StatusChange, now: datetime) -> bool:
    """``record_status`` inside the caller's transaction, after the step's own writes:
    the same status row, timeline line, audit row and webhook event (an event of its
    own: the step's changes get theirs first). True when written.

    A withdrawal already final is left as it is (False): ``settle`` wrote the end, which
    comes after every status the run passed through, so nothing carried may override it.
    The caller writes this only the first time its step runs (a retried step answers as
    the first and writes nothing), so the change is never written twice."""
    record = withdrawals.find(session, change.withdrawal_id)
    if record is None or record.status.is_final:
        return False
    events.write_pending(session)
    record_status(session, change, now)
    return True


def _note(note: str, reason: str | None) -> str:
    return f"{note} (reason: {reason})" if reason and reason != note else note
