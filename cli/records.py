"""Withdrawal records printed for people and scripts: ``status``, ``list`` and ``reviews``.

The record helpers every face shares live in ``application.records``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from application.records import status_label, status_with_reason, when
from cli.output import table
from models.domain import Status, WithdrawalStatusDoc

if TYPE_CHECKING:
    from ledger.tables import Withdrawal


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
        provisional = " (provisional: no holiday calendar for that year)"
        shown = when(doc.expected_arrival) + (
            provisional if doc.expected_arrival_provisional else ""
        )
        facts.append(["expected arrival by", shown])
    if doc.provider_reference:
        facts.append(["provider reference", doc.provider_reference])
    width = max(len(label) for label, _ in facts)
    lines = [f"{label.ljust(width)}  {value}" for label, value in facts]
    steps = [[when(e.at), status_label(e.status), e.note] for e in doc.timeline]
    return "\n".join(lines) + "\n\n" + table(steps, header=["at", "status", "note"])


def short_reference(reference: str) -> str:
    """``sha256:d95033cf218b…``: enough to tell proofs apart in a table."""
    return reference[: len("sha256:") + 12] + "…" if len(reference) > 24 else reference


def list_row_document(row: Withdrawal) -> dict[str, Any]:
    """One ``list --json`` entry: the record without personal data."""
    from ledger.documents import summary_fields

    return {
        **summary_fields(row),
        "payout_unknown": row.payout_unknown,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
