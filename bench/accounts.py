"""The benchmark's accounts: one account and one recharge order per withdrawal.

One account each keeps the measure on the workflow path, not on a single account row's
lock (R14 serialises withdrawals of one account, by design). An account meant for the
review path owes 0.01 overdue: R17 then sends it to a reviewer, on the same original route.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.db import dispose_engine, get_engine, session_scope
from ledger.loading import load_fixture
from models.domain import Kind, Route, WithdrawalRequest
from models.fixtures import parse_fixture
from models.money import Money

ACCOUNT_CASH = "500.00"
REVIEW_OVERDUE = "0.01"  # any overdue debt under the same real name means review (R17)
REVIEWERS = ("bench-reviewer-1", "bench-reviewer-2")  # two, should four-eyes apply
# The parked-review run signs each reviewer in once (bench/parked.py), as the console does.
REVIEWER_PASSWORD = "bench reviewer passphrase"
ORDER_PAID_DAYS_AGO = 2  # well inside every channel's original-route window (R8)


def account_id(tag: str, index: int) -> str:
    return f"acct-{tag}-{index}"


def phone(tag_number: int, index: int) -> str:
    """Unique per run and account: the SMS inbox is per phone."""
    return f"+86{tag_number % 1000:03d}{index:08d}"


def fixture(tag: str, tag_number: int, count: int, *, review: bool) -> dict[str, Any]:
    paid = (datetime.now(UTC) - timedelta(days=ORDER_PAID_DAYS_AGO)).isoformat()
    return {
        "accounts": [
            {
                "id": account_id(tag, i),
                "owner_name": f"Bench Owner {i}",
                "type": "personal",
                "real_name_verified": True,
                "status": "normal",
                "identity_id": f"id-{tag}-{i}",
                "security_phone": phone(tag_number, i),
                "cash": ACCOUNT_CASH,
                "overdue": REVIEW_OVERDUE if review else "0.00",
            }
            for i in range(count)
        ],
        "recharge_orders": [
            {
                "id": f"R-{tag}-{i}",
                "account_id": account_id(tag, i),
                "amount": ACCOUNT_CASH,
                "channel": "alipay",
                "bank": None,
                "paid_at": paid,
            }
            for i in range(count)
        ],
        "reviewers": [
            {"id": reviewer, "name": reviewer, "password": REVIEWER_PASSWORD}
            for reviewer in REVIEWERS
        ],
    }


def load_accounts(
    database_url: str, tag: str, tag_number: int, count: int, *, review: bool
) -> None:
    """Load before the worker starts; the driver keeps no connection open afterwards."""
    with session_scope(get_engine(database_url)) as session:
        load_fixture(session, parse_fixture(fixture(tag, tag_number, count, review=review)))
    dispose_engine(database_url)


def request(tag: str, index: int) -> WithdrawalRequest:
    return WithdrawalRequest(
        withdrawal_id=f"w-{tag}-{index}",
        account_id=account_id(tag, index),
        amount=Money(10_000 + index % 1000),  # 100.00 and up: under any four-eyes threshold
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id=f"R-{tag}-{index}",
    )
