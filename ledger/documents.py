"""The CONTRACT.md status document rebuilt from the database record and its timeline.

``status`` answers with it once the workflow is gone, and every webhook event carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlmodel import Session

from ledger.tables import Withdrawal, WithdrawalEvent
from models.domain import STATUS_LABELS_ZH, Status, TimelineEntry, WithdrawalStatusDoc
from models.money import Money

TIMELINE = cast(Table, WithdrawalEvent.__table__)  # type: ignore[attr-defined]
# Built once, and plain rows rather than ORM objects: every webhook event rebuilds a
# document in the transaction that changed the record.
_TIMELINE_OF = (
    select(TIMELINE.c.at, TIMELINE.c.status, TIMELINE.c.note)
    .where(TIMELINE.c.withdrawal_id == bindparam("withdrawal_id"))
    .order_by(TIMELINE.c.id)
)
RECORDS = cast(Table, Withdrawal.__table__)  # type: ignore[attr-defined]
_RECORD = select(RECORDS).where(RECORDS.c.id == bindparam("withdrawal_id"))


class TimelineRow(Protocol):
    """A timeline row as the document needs it: a ``WithdrawalEvent`` or a plain row."""

    @property
    def at(self) -> datetime: ...
    @property
    def status(self) -> Status: ...
    @property
    def note(self) -> str: ...


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


def document_from_record(row: Withdrawal, events: Sequence[TimelineRow]) -> WithdrawalStatusDoc:
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
    session.flush()  # a core select does not flush what this session's ORM objects changed
    row = session.execute(_RECORD, {"withdrawal_id": withdrawal_id}).first()
    if row is None:
        return None
    events = session.execute(_TIMELINE_OF, {"withdrawal_id": withdrawal_id}).all()
    # A plain row has the record's attributes by name, all the document reads.
    return document_from_record(cast(Withdrawal, row), cast(Sequence[TimelineRow], events))
