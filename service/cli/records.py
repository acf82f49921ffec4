"""Withdrawal records as people and backends see them (R18, R20): the database side.

``status`` falls back to these when the workflow has closed or is gone; ``list`` and
``reviews`` read nothing else. Account numbers are only ever shown masked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from models.domain import (
    STATUS_LABELS_ZH,
    Status,
    WithdrawalStatusDoc,
)
from service.cli.output import table

if TYPE_CHECKING:
    from sqlmodel import Session

    from ledger.tables import Withdrawal, WithdrawalEvent

# R18: the statuses whose reason the user must see next to them.
STATUSES_WITH_REASON = frozenset({Status.REJECTED, Status.FAILED, Status.CANCELLED})


def status_label(status: Status | str) -> str:
    """``under_review 审批中``: English for scripts and logs, Chinese as the product shows it."""
    status = Status(status)
    return f"{status.value} {STATUS_LABELS_ZH[status]}"


def when(at: datetime | None) -> str:
    """A time for people: UTC, to the second, with its offset."""
    return at.astimezone(UTC).isoformat(timespec="seconds") if at else ""


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


def status_text(doc: WithdrawalStatusDoc) -> str:
    """The ``status`` command for people: the facts, then the timeline."""
    facts = [
        ["withdrawal", doc.id],
        ["account", doc.account_id],
        ["status", status_with_reason(doc.status, doc.reason)],
        ["amount", str(doc.amount)],
        ["route", doc.route.value + (f" to {doc.payee}" if doc.payee else "")],
        ["kind", doc.kind.value + (f", order {doc.order_id}" if doc.order_id else "")],
    ]
    if doc.review_required:
        facts.append(["review", "overdue (past the SLA)" if doc.review_overdue else "required"])
    if doc.code_attempts_left is not None and doc.status is Status.AWAITING_CODE:
        facts.append(["code attempts left", str(doc.code_attempts_left)])
    if doc.expected_arrival is not None and not doc.status.is_final:
        facts.append(["expected arrival by", when(doc.expected_arrival)])
    if doc.provider_reference:
        facts.append(["provider reference", doc.provider_reference])
    width = max(len(label) for label, _ in facts)
    lines = [f"{label.ljust(width)}  {value}" for label, value in facts]
    steps = [[when(e.at), status_label(e.status), e.note] for e in doc.timeline]
    return "\n".join(lines) + "\n\n" + table(steps, header=["at", "status", "note"])


def short_reference(reference: str) -> str:
    """``sha256:d95033cf218b…``: enough to tell proofs apart in a table."""
    return reference[: len("sha256:") + 12] + "…" if len(reference) > 24 else reference


def proofs_of(row: Withdrawal) -> list[str]:
    references = json.loads(row.proofs_json or "[]")
    return [str(r) for r in references] if isinstance(references, list) else []


def list_row_document(row: Withdrawal) -> dict[str, Any]:
    """One ``list --json`` entry: the record without personal data."""
    from ledger.documents import summary_fields

    return {
        **summary_fields(row),
        "payout_unknown": row.payout_unknown,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


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
