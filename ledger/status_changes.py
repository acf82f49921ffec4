"""A status the workflow decided, written to the record, its flags and the audit trail.

Repeating a change (a retried ``record_status``) writes nothing twice: the timeline
skips a repeat (``set_withdrawal_status``) and so does the audit row here.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ledger import audit, withdrawals
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


def _note(note: str, reason: str | None) -> str:
    return f"{note} (reason: {reason})" if reason and reason != note else note
