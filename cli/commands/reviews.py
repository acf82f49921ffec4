"""``reviews``: withdrawals waiting for a reviewer (R17), longest waiting first.

For each: how long it has waited, amount, route, why it needs review, the proof
references (R9), the masked payee, and whether the review SLA has passed (R17 *beyond*).
"""

from __future__ import annotations

import argparse
from typing import Any

from application.records import when
from application.review_queue import REASON_SEPARATOR, waiting_for_review
from cli.command import Command, Context, Result
from cli.output import table
from cli.records import short_reference
from ledger.withdrawals import MAX_LIST_LIMIT
from models.limits import REVIEW_SLA_HOURS


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", type=int, default=MAX_LIST_LIMIT, help="at most this many withdrawals"
    )


def _age(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours}h {rest // 60:02d}m"


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
    reviews = [
        item.document() for item in waiting_for_review(context.engine, context.now(), args.limit)
    ]
    return Result(document=reviews, text=_text(reviews))


COMMAND = Command(
    name="reviews",
    help="withdrawals waiting for review, with their SLA state",
    configure=_configure,
    run=_run,
)
