"""Ending a withdrawal: resolve its hold and write its final status in one transaction.

The workflow's ``settle`` activity calls this, and so does ``resolve-payout`` for a
withdrawal whose workflow no longer runs (terminated by hand): either way the hold is
posted (paid) or voided (released, R19) exactly once, with the final status beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ledger import audit, holds, withdrawals
from ledger.types import utc
from models.domain import Status
from models.messages import Settlement


@dataclass(frozen=True)
class Finished:
    """What the metrics need of a withdrawal ``finish`` just ended (no ids, nothing personal)."""

    route: str
    kind: str
    payout_submitted_at: datetime | None


def finish(session: Session, settlement: Settlement, now: datetime) -> Finished | None:
    """``settle`` as the workflow asks it; what ended, or None for a retry after the
    commit (counted the first time). A hold resolved the other way raises ``HoldConflict``."""
    wrote = settle(
        session,
        withdrawal_id=settlement.withdrawal_id,
        status=settlement.status,
        note=settlement.note,
        reason=settlement.reason,
        provider_reference=settlement.provider_reference,
        actor=settlement.actor,
        now=now,
    )
    labels = withdrawals.route_and_kind(session, settlement.withdrawal_id) if wrote else None
    if labels is None:
        return None
    submitted_at = _payout_submitted_at(session, settlement.withdrawal_id)
    return Finished(*labels, submitted_at)


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
    if hold is not None:  # the hold as resolved: its state is what the audit row names
        resolve = holds.post_hold if status is Status.SUCCEEDED else holds.void_hold
        hold = resolve(session, withdrawal_id, now)
    record = withdrawals.find(session, withdrawal_id)
    if record is not None and record.status == status.value:
        return False  # a retry after the commit: already written
    if record is not None:
        withdrawals.record_final_answer(session, withdrawal_id, provider_reference)
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


_SUBMITTED_AT = (
    select(audit.LOG.c.at)
    .where(
        audit.LOG.c.subject == bindparam("subject"),
        audit.LOG.c.action == "payout.submit",
        audit.LOG.c.outcome.in_(("submitted", "found")),
    )
    .order_by(audit.LOG.c.seq)
    .limit(1)
)


def _payout_submitted_at(session: Session, withdrawal_id: str) -> datetime | None:
    """When the provider first took the transfer (the audit trail's payout row)."""
    at = session.execute(_SUBMITTED_AT, {"subject": withdrawal_id}).scalar()
    return utc(at) if at is not None else None
