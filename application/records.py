"""Withdrawal records as people and backends see them (R18, R20): the database side.

Every face reads these: ``status`` falls back to them when the workflow has closed or is
gone, ``list``, ``reviews``, the review queue and the console read nothing else. Account
numbers are only ever shown masked. The database is imported on use, so the quick CLI
commands that only format a status do not load it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from models.domain import (
    STATUS_LABELS_ZH,
    Status,
    WithdrawalStatusDoc,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from ledger.tables import Withdrawal, WithdrawalEvent

# R18: the statuses whose reason the user must see next to them (and a return's, issue 25).
STATUSES_WITH_REASON = frozenset(
    {Status.REJECTED, Status.FAILED, Status.CANCELLED, Status.RETURNED}
)


def status_label(status: Status | str) -> str:
    """``under_review 审批中``: English for scripts and logs, Chinese as the product shows it."""
    status = Status(status)
    return f"{status.value} {STATUS_LABELS_ZH[status]}"


def when(at: datetime | None) -> str:
    """A time for people: UTC, to the second, with its offset."""
    return at.astimezone(UTC).isoformat(timespec="seconds") if at else ""


def with_calendar_check(doc: WithdrawalStatusDoc) -> WithdrawalStatusDoc:
    """The document as read now: an arrival estimate ending in a year no calendar covers is
    marked provisional. A ``HOLIDAYS_FILE`` that cannot be read counts as absent here (so
    more estimates say provisional, never fewer); ``attention`` names the file's mistake."""
    if doc.expected_arrival is None:
        return doc
    from config.holidays import calendar_for_estimates

    provisional = calendar_for_estimates().is_provisional(doc.expected_arrival)
    return doc.model_copy(update={"expected_arrival_provisional": provisional})


def document_from_record(row: Withdrawal, events: Sequence[WithdrawalEvent]) -> WithdrawalStatusDoc:
    """The ``status`` document rebuilt from the record (``ledger.documents``, which webhook
    events use too); imported on use, like the database itself (a quick CLI)."""
    from ledger import documents

    return documents.document_from_record(row, events)


def record_document(session: Session, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    from ledger import documents

    return documents.record_document(session, withdrawal_id)


def status_with_reason(status: Status | str, reason: str | None) -> str:
    """R18: a rejected or failed withdrawal shows why, next to its status."""
    label = status_label(status)
    if reason and Status(status) in STATUSES_WITH_REASON:
        return f"{label}: {reason}"
    return label


def proofs_of(row: Withdrawal) -> list[str]:
    references = json.loads(row.proofs_json or "[]")
    return [str(r) for r in references] if isinstance(references, list) else []


def entered_review(session: Session, withdrawal_ids: Sequence[str]) -> dict[str, WithdrawalEvent]:
    """Each withdrawal's first ``under_review`` step: when review began, and why (its note
    lists the R17 reasons). One query for the whole page, not one per withdrawal."""
    if not withdrawal_ids:
        return {}
    from sqlmodel import col, select  # the database loads only when read (see above)

    from ledger.tables import WithdrawalEvent

    events = session.exec(
        select(WithdrawalEvent)
        .where(
            col(WithdrawalEvent.withdrawal_id).in_(list(withdrawal_ids)),
            WithdrawalEvent.status == Status.UNDER_REVIEW.value,
        )
        .order_by(col(WithdrawalEvent.id))
    ).all()
    first: dict[str, WithdrawalEvent] = {}
    for event in events:
        first.setdefault(event.withdrawal_id, event)
    return first
