"""The CONTRACT.md status document rebuilt from the database record and its timeline.

``status`` answers with it once the workflow is gone, and every webhook event carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from ledger.tables import Withdrawal, WithdrawalEvent
from models.domain import STATUS_LABELS_ZH, TimelineEntry, WithdrawalStatusDoc
from models.money import Money


def summary_fields(row: Withdrawal) -> dict[str, Any]:
    """What every view of a record shows, converted once: the status document's head and a
    list's row (``api.schemas.WithdrawalSummary``). The payee only masked."""
    status = row.status
    return {
        "id": row.id,
        "account_id": row.account_id,
        "status": status,
        "status_zh": STATUS_LABELS_ZH[status],
        "amount": Money(row.amount_fen),
        "route": row.route,
        "kind": row.kind,
        "order_id": row.order_id,
        "reason": row.reason,
        "payee": row.payee_masked,
        "review_required": row.review_required,
    }


def document_from_record(row: Withdrawal, events: Sequence[WithdrawalEvent]) -> WithdrawalStatusDoc:
    return WithdrawalStatusDoc(
        **summary_fields(row),
        review_overdue=row.review_overdue,
        provider_reference=row.provider_reference,
        payout_unknown=row.payout_unknown,
        timeline=[
            TimelineEntry(at=event.at, status=event.status, note=event.note) for event in events
        ],
    )


def record_document(session: Session, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    row = session.get(Withdrawal, withdrawal_id)
    if row is None:
        return None
    events = session.exec(
        select(WithdrawalEvent)
        .where(WithdrawalEvent.withdrawal_id == withdrawal_id)
        .order_by(col(WithdrawalEvent.id))
    ).all()
    return document_from_record(row, events)
