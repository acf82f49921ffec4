"""``list [--account A] [--status S]``: withdrawal records, newest first (R18, R20).

A rejected, failed or cancelled withdrawal shows its reason next to its status (R18).
"""

from __future__ import annotations

import argparse

from application.records import status_with_reason, when
from cli.command import Command, Context, Result
from cli.output import table
from cli.records import list_row_document
from ledger.db import read_only_session
from ledger.tables import Withdrawal
from ledger.withdrawals import MAX_LIST_LIMIT, list_withdrawals
from models.domain import Status
from models.money import Money

DEFAULT_LIMIT = 100


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="A", help="only this account's withdrawals")
    parser.add_argument(
        "--status", choices=[s.value for s in Status], metavar="S", help="only this status"
    )
    parser.add_argument(
        "--payout-unknown",
        action="store_true",
        help="only withdrawals whose payout outcome is unknown (for resolve-payout)",
    )
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"at most this many (≤ {MAX_LIST_LIMIT})"
    )


def _text(rows: list[Withdrawal]) -> str:
    if not rows:
        return "no withdrawals"
    lines = [
        [
            when(row.created_at),
            row.id,
            row.account_id,
            str(Money(row.amount_fen)),
            row.route + (f" {row.payee_masked}" if row.payee_masked else ""),
            row.kind,
            status_with_reason(row.status, row.reason)
            + (" (payout outcome unknown)" if row.payout_unknown else ""),
        ]
        for row in rows
    ]
    header = ["created", "id", "account", "amount", "route", "kind", "status"]
    return table(lines, header=header)


def _run(args: argparse.Namespace, context: Context) -> Result:
    status = Status(args.status) if args.status else None
    with read_only_session(context.engine) as session:
        rows = list_withdrawals(
            session,
            args.account,
            status,
            limit=args.limit,
            payout_unknown=True if args.payout_unknown else None,
        )
    return Result(document=[list_row_document(row) for row in rows], text=_text(rows))


COMMAND = Command(
    name="list",
    help="withdrawal records, newest first",
    configure=_configure,
    run=_run,
)
