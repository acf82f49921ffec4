"""``transactions ACCOUNT [--type withdrawal] [--since DATE] [--until DATE] [--csv]`` (R20).

The account's transaction details, oldest first: a table for people, one JSON document
under ``--json``, or CSV on stdout under ``--csv`` (the proof of withdrawal R20 speaks of).
A DATE is a calendar day in China time (Asia/Shanghai, where the users are) or an ISO 8601
time with its offset. ``--since`` includes its moment; ``--until`` excludes its moment but
includes the whole of a day given without a time, so ``--until 2026-11-30`` covers the 30th.
"""

from __future__ import annotations

import argparse
from typing import Any

from application.accounts import ENTRY_TYPES, account_transactions
from cli.command import Command, Context, Result
from cli.output import jsonable, table
from models.errors import InputError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="account id")
    parser.add_argument("--type", choices=ENTRY_TYPES, help="only details of this type")
    parser.add_argument("--since", metavar="DATE", help="from this day or time (inclusive)")
    parser.add_argument("--until", metavar="DATE", help="up to this day (inclusive) or time")
    parser.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")


def _text(account_id: str, entries: list[dict[str, Any]]) -> str:
    if not entries:
        return f"account {account_id}: no transaction details in this range"
    rows = [
        [
            jsonable(e["at"]),
            e["type"],
            e["direction"],
            str(e["amount"]),
            str(e["balance_after"]),
            e["withdrawal_id"] or "",
        ]
        for e in entries
    ]
    header = ["at", "type", "direction", "amount", "balance after", "withdrawal"]
    return f"account {account_id}\n" + table(rows, header=header)


def _run(args: argparse.Namespace, context: Context) -> Result:
    if args.csv and args.json:
        raise InputError("--csv", "choose --csv or --json, not both")
    found = account_transactions(
        context.engine,
        args.account,
        type=args.type,
        since=args.since,
        until=args.until,
        since_field="--since",
        until_field="--until",
    )
    text = found.csv() if args.csv else _text(args.account, found.entries)
    return Result(document=found.document(), text=text)


COMMAND = Command(
    name="transactions",
    help="an account's transaction details, filtered by type and time (R20)",
    configure=_configure,
    run=_run,
)
