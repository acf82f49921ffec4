"""``transactions ACCOUNT [--type withdrawal] [--since DATE] [--until DATE] [--csv]`` (R20).

The account's transaction details, oldest first: a table for people, one JSON document
under ``--json``, or CSV on stdout under ``--csv`` (the proof of withdrawal R20 speaks of).
A DATE is a calendar day in China time (Asia/Shanghai, where the users are) or an ISO 8601
time with its offset. ``--since`` includes its moment; ``--until`` excludes its moment but
includes the whole of a day given without a time, so ``--until 2026-11-30`` covers the 30th.
"""

from __future__ import annotations

import argparse
import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from ledger.db import read_only_session
from ledger.tables import Account, EntryType, LedgerEntry
from ledger.withdrawals import MAX_TRANSACTIONS, transactions
from models.business_days import CHINA_TZ
from models.errors import InputError, NotFound
from models.money import Money
from service.cli.command import Command, Context, Result
from service.cli.output import jsonable, table

CSV_COLUMNS = (
    "at",
    "type",
    "direction",
    "amount",
    "balance_after",
    "withdrawal_id",
    "note",
)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="account id")
    parser.add_argument(
        "--type", choices=[t.value for t in EntryType], help="only details of this type"
    )
    parser.add_argument("--since", metavar="DATE", help="from this day or time (inclusive)")
    parser.add_argument("--until", metavar="DATE", help="up to this day (inclusive) or time")
    parser.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")


def parse_bound(text: str, field: str, *, end_of_day: bool) -> datetime:
    """A day (China time) or an aware ISO 8601 time; a naive time is ambiguous, so refused."""
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and len(value) == len("2026-11-30"):
        start = datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            field, f"{text!r} is not a date like 2026-11-30 or a time like 2026-11-30T09:00+08:00"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, f"{text!r} needs its timezone offset, e.g. +08:00")
    return moment


def _entry(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "type": entry.type,
        "direction": entry.direction,
        "amount": Money(entry.amount_fen),
        "balance_after": Money(entry.balance_after_fen),
        "withdrawal_id": entry.withdrawal_id,
        "note": entry.note,
    }


def _csv(entries: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        values = jsonable(entry)
        writer.writerow([values[c] if values[c] is not None else "" for c in CSV_COLUMNS])
    return buffer.getvalue().rstrip("\n")


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
    since = parse_bound(args.since, "--since", end_of_day=False) if args.since else None
    until = parse_bound(args.until, "--until", end_of_day=True) if args.until else None
    if since is not None and until is not None and since >= until:
        raise InputError("--until", "must be after --since")
    with read_only_session(context.engine) as session:
        if session.get(Account, args.account) is None:
            raise NotFound("account", f"unknown account {args.account!r}")
        rows = transactions(session, args.account, type=args.type, since=since, until=until)
        entries = [_entry(row) for row in rows]
    document = {
        "account_id": args.account,
        "type": args.type,
        "since": since,
        "until": until,
        "count": len(entries),
        "truncated": len(entries) >= MAX_TRANSACTIONS,
        "transactions": entries,
    }
    text = _csv(entries) if args.csv else _text(args.account, entries)
    return Result(document=document, text=text)


COMMAND = Command(
    name="transactions",
    help="an account's transaction details, filtered by type and time (R20)",
    configure=_configure,
    run=_run,
)
