"""Ending a withdrawal: resolve its hold and write its final status in one transaction.

The workflow's ``settle`` activity calls this, and so does ``resolve-payout`` for a
withdrawal whose workflow no longer runs (terminated by hand): either way the hold is
posted (paid) or voided (released, R19) exactly once, with the final status beside it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ledger import audit, holds, tables, withdrawals
from models.domain import Status


def settle(
    session: Session,
    *,
    withdrawal_id: str,
    status: Status,
    note: str,
    reason: str | None,
    provider_reference: str | None,
    actor: str | None,
    now: datetime,
) -> bool:
    """Post the hold on success, void it otherwise. Running it twice changes nothing;
    resolving a hold the other way raises ``HoldConflict``. True when this call wrote
    the final status, False when it was already written (a retry)."""
    hold = holds.get_hold(session, withdrawal_id)
    if hold is not None:
        if status is Status.SUCCEEDED:
            holds.post_hold(session, withdrawal_id, now)
        else:
            holds.void_hold(session, withdrawal_id, now)
    record = session.get(tables.Withdrawal, withdrawal_id)
    if record is not None and record.status == status.value:
        return False  # a retry after the commit: already written
    if record is not None:
        if provider_reference:
            record.provider_reference = provider_reference
        record.payout_unknown = False  # a final status is the answer
        session.add(record)
    withdrawals.set_withdrawal_status(session, withdrawal_id, status, now, note=note, reason=reason)
    resolved = "no hold" if hold is None else hold.state
    audit.append(
        session,
        actor=actor,
        action=f"status.{status.value}",
        subject=withdrawal_id,
        outcome=resolved,
        detail=f"{note} (reason: {reason})" if reason and reason != note else note,
        at=now,
    )
    return True
