"""An account's money as every face shows it: withdrawable (R11–R14) and transactions (R20)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from ledger.accounts import OrderRemaining, balance_breakdown, orders_with_remaining
from ledger.db import read_only_session
from ledger.tables import Account, EntryType, LedgerEntry
from ledger.withdrawals import MAX_TRANSACTIONS, transactions
from models.business_days import CHINA_TZ
from models.errors import InputError, NotFound
from models.money import Money
from models.rules import Breakdown

# The CONTRACT.md fields, in the order the R12 formula reads.
BREAKDOWN_FIELDS = (
    "cash",
    "transfer_in",
    "owed_invoice",
    "overdue",
    "unsettled",
    "payg_reserve",
    "debts",
    "uncovered_debts",
    "held",
    "not_withdrawable",
    "withdrawable",
)
CSV_COLUMNS = ("at", "type", "direction", "amount", "balance_after", "withdrawal_id", "note")
# R20's types as users see them: a return's credit is a withdrawal line of its own
# (direction credit), under the type they filter withdrawals by (issue 25).
SHOWN_TYPE = {EntryType.WITHDRAWAL_RETURN.value: EntryType.WITHDRAWAL.value}
ENTRY_TYPES = tuple(t.value for t in EntryType if t.value not in SHOWN_TYPE)


@dataclass(frozen=True)
class Withdrawable:
    account_id: str
    breakdown: Breakdown
    orders: list[OrderRemaining]

    def document(self) -> dict[str, Any]:
        """The ``withdrawable --json`` document (CONTRACT.md)."""
        document: dict[str, Any] = {"account_id": self.account_id}
        document.update({name: getattr(self.breakdown, name) for name in BREAKDOWN_FIELDS})
        document["orders"] = self.orders
        return document


def withdrawable(engine: Engine, account_id: str, now: datetime) -> Withdrawable:
    """R11–R12 breakdown and each recharge order's remainder (R5); ``NotFound`` if unknown."""
    with read_only_session(engine) as session:
        breakdown = balance_breakdown(session, account_id, now)
        orders = orders_with_remaining(session, account_id, now)
    return Withdrawable(account_id=account_id, breakdown=breakdown, orders=orders)


def parse_bound(text: str, field: str, *, end_of_day: bool) -> datetime:
    """A day (China time) or an aware ISO 8601 time; a naive time is ambiguous, so refused.

    ``until`` given as a day includes the whole day.
    """
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and len(value) == len("2026-11-30"):
        start = datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)
        return _within_reach(start, timedelta(days=1) if end_of_day else timedelta(0))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            field, f"{text!r} is not a date like 2026-11-30 or a time like 2026-11-30T09:00+08:00"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, f"{text!r} needs its timezone offset, e.g. +08:00")
    return _within_reach(moment, timedelta(0))


def _within_reach(moment: datetime, later: timedelta) -> datetime:
    """``moment + later`` in UTC; a bound beyond what a datetime holds (year 1 or 9999 and
    an offset) is the farthest one there is: a valid date is never an error."""
    try:
        bound = moment + later
        bound.astimezone(UTC)  # the database compares in UTC
        return bound
    except OverflowError:
        return (datetime.min if moment.year == datetime.min.year else datetime.max).replace(
            tzinfo=UTC
        )


@dataclass(frozen=True)
class Transactions:
    account_id: str
    type: str | None
    since: datetime | None
    until: datetime | None
    entries: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "type": self.type,
            "since": self.since,
            "until": self.until,
            "count": len(self.entries),
            "truncated": len(self.entries) >= MAX_TRANSACTIONS,
            "transactions": self.entries,
        }

    def csv(self) -> str:
        from models.jsonable import jsonable

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for entry in self.entries:
            values = jsonable(entry)
            writer.writerow([values[c] if values[c] is not None else "" for c in CSV_COLUMNS])
        return buffer.getvalue().rstrip("\n")


def _entry(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "type": SHOWN_TYPE.get(entry.type, entry.type),
        "direction": entry.direction,
        "amount": Money(entry.amount_fen),
        "balance_after": Money(entry.balance_after_fen),
        "withdrawal_id": entry.withdrawal_id,
        "note": entry.note,
    }


def account_transactions(
    engine: Engine,
    account_id: str,
    *,
    type: str | None = None,
    since: str | None = None,
    until: str | None = None,
    since_field: str = "since",
    until_field: str = "until",
    reversed_range_is_empty: bool = False,
) -> Transactions:
    """R20 details, oldest first, filtered by type and a time range (days or times).

    ``until`` not after ``since`` is a typing slip at the command line (refused, naming the
    flag); the HTTP API answers it as the empty range it is (``reversed_range_is_empty``),
    since its OpenAPI document cannot say that one parameter must follow the other."""
    if type is not None and type not in ENTRY_TYPES:
        raise InputError("type", f"one of {', '.join(ENTRY_TYPES)}")
    start = parse_bound(since, since_field, end_of_day=False) if since is not None else None
    end = parse_bound(until, until_field, end_of_day=True) if until is not None else None
    if start is not None and end is not None and start >= end and not reversed_range_is_empty:
        raise InputError(until_field, f"must be after {since_field}")
    with read_only_session(engine) as session:
        if session.get(Account, account_id) is None:
            raise NotFound("account", f"unknown account {account_id!r}")
        rows = transactions(session, account_id, type=type, since=start, until=end)
        entries = [_entry(row) for row in rows]
    return Transactions(account_id, type, start, end, entries)
