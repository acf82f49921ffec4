"""``reviews``: withdrawals waiting for a reviewer (R17), longest waiting first.

For each: how long it has waited, amount, route, why it needs review, the proof
references (R9), the masked payee, and whether the review SLA has passed (R17 *beyond*).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from ledger.db import read_only_session
from ledger.tables import Withdrawal, WithdrawalEvent
from ledger.withdrawals import MAX_LIST_LIMIT, list_withdrawals
from models.domain import Status
from models.limits import REVIEW_SLA_HOURS
from models.money import Money
from service.cli.command import Command, Context, Result
from service.cli.output import table
from service.cli.records import entered_review, proofs_of, short_reference, when

REASON_SEPARATOR = "; "  # how the workflow joins the R17 reasons in the timeline note


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", type=int, default=MAX_LIST_LIMIT, help="at most this many withdrawals"
    )


def _age(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours}h {rest // 60:02d}m"


def _review(row: Withdrawal, entered: WithdrawalEvent | None, now: datetime) -> dict[str, Any]:
    since = entered.at if entered is not None else row.created_at
    due = since + timedelta(hours=REVIEW_SLA_HOURS)
    reasons = entered.note.split(REASON_SEPARATOR) if entered is not None and entered.note else []
    return {
        "id": row.id,
        "account_id": row.account_id,
        "amount": Money(row.amount_fen),
        "route": row.route,
        "kind": row.kind,
        "order_id": row.order_id,
        "designated_reason": row.designated_reason,
        "review_reasons": reasons,
        "proofs": proofs_of(row),
        "payee": row.payee_masked,
        "requested_by": row.requested_by,
        "under_review_since": since,
        "age_seconds": int((now - since).total_seconds()),
        "sla_due_at": due,
        "overdue": row.review_overdue or now > due,
    }


def _text(reviews: list[dict[str, Any]]) -> str:
    if not reviews:
        return "no withdrawals are waiting for review"
    rows = [
        [
            r["id"],
            _age(r["age_seconds"]),
            "OVERDUE" if r["overdue"] else f"due {when(r['sla_due_at'])}",
            str(r["amount"]),
            r["route"] + (f" {r['payee']}" if r["payee"] else ""),
            r["designated_reason"] or "",
            ", ".join(short_reference(p) for p in r["proofs"]) or "-",
            REASON_SEPARATOR.join(r["review_reasons"]),
        ]
        for r in reviews
    ]
    header = ["id", "waiting", "SLA", "amount", "route", "R9 reason", "proofs", "why review"]
    return f"{len(reviews)} waiting for review (SLA {REVIEW_SLA_HOURS} h)\n" + table(
        rows, header=header
    )


def _run(args: argparse.Namespace, context: Context) -> Result:
    now = context.now()
    with read_only_session(context.engine) as session:
        rows = list_withdrawals(session, status=Status.UNDER_REVIEW, limit=args.limit)
        entered = entered_review(session, [row.id for row in rows])
    reviews = [_review(row, entered.get(row.id), now) for row in rows]
    reviews.sort(key=lambda r: r["under_review_since"])  # longest waiting first
    return Result(document=reviews, text=_text(reviews))


COMMAND = Command(
    name="reviews",
    help="withdrawals waiting for review, with their SLA state",
    configure=_configure,
    run=_run,
)
