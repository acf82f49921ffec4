"""Fixture data for the ledger tests, in the docs/interface.md ``load`` format."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from ledger.db import session_scope
from ledger.holds import reserve
from ledger.loading import load_fixture
from ledger.settlement import settle
from ledger.withdrawals import create_withdrawal
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.fixtures import parse_fixture
from models.money import Money

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

R13_ACCOUNT: dict[str, Any] = {
    "id": "acct-r13",
    "owner_name": "Test R13",
    "type": "personal",
    "real_name_verified": True,
    "status": "normal",
    "identity_id": "id-r13",
    "security_phone": "+8613800000001",
    "master_account_id": None,
    "cash": "1000.00",
    "transfer_in": "500.00",
    "owed_invoice": "200.00",
    "overdue": "300.00",
    "unsettled": "200.00",
    "payg_resources": [{"id": "ecs-1", "released_at": None}],
}

PLAIN_ACCOUNT: dict[str, Any] = {
    "id": "acct-plain",
    "owner_name": "Test Plain",
    "type": "personal",
    "real_name_verified": True,
    "status": "normal",
    "identity_id": "id-plain",
    "security_phone": "+8613800000002",
    "cash": "1000.00",
}

FIXTURE: dict[str, Any] = {
    "accounts": [
        R13_ACCOUNT,
        PLAIN_ACCOUNT,
        {
            **PLAIN_ACCOUNT,
            "id": "acct-sibling",
            "identity_id": "id-plain",
            "cash": "0.00",
            "overdue": "10.00",
        },
        {**PLAIN_ACCOUNT, "id": "acct-frozen", "identity_id": "id-frozen", "status": "frozen"},
    ],
    "recharge_orders": [
        {
            "id": "R-1",
            "account_id": "acct-r13",
            "amount": "800.00",
            "channel": "online_banking_personal",
            "bank": "ICBC",
            "paid_at": "2026-10-01T10:00:00+08:00",
        },
        {
            "id": "P-ORDER",
            "account_id": "acct-plain",
            "amount": "600.00",
            "channel": "alipay",
            "bank": None,
            "paid_at": "2026-11-20T10:00:00+08:00",
        },
        {
            "id": "P-BIG",
            "account_id": "acct-plain",
            "amount": "1000.00",
            "channel": "bank_card",
            "bank": "CCB",
            "paid_at": "2026-11-01T10:00:00+08:00",
        },
    ],
    "reviewers": [{"id": "rev-1", "name": "Reviewer One"}],
}


def fixture_data() -> dict[str, Any]:
    """A deep copy, so a test can break it without touching the others."""
    return copy.deepcopy(FIXTURE)


def load(engine: Engine, data: dict[str, Any] | None = None) -> None:
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture(data or fixture_data()))


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every ledger table, to prove that a refused request changed nothing."""
    from sqlmodel import SQLModel

    import ledger.tables  # noqa: F401  (registers the tables)

    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            result = connection.execute(table.select().order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows


# ---- withdrawals on acct-plain's P-ORDER (returns, issue 25) --------------------------
PLAIN_ORDER = "P-ORDER"
_withdrawal_ids = itertools.count(1)


def open_withdrawal(session: Session, amount: str) -> str:
    """A recorded withdrawal of ``amount`` from acct-plain's P-ORDER, its money held."""
    withdrawal_id = f"wd-ledger-{next(_withdrawal_ids)}"
    request = WithdrawalRequest(
        withdrawal_id=withdrawal_id,
        account_id=PLAIN_ACCOUNT["id"],
        amount=Money.yuan(amount),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id=PLAIN_ORDER,
    )
    create_withdrawal(session, request, NOW)
    reserve(
        session,
        withdrawal_id=withdrawal_id,
        account_id=request.account_id,
        order_id=PLAIN_ORDER,
        amount=request.amount,
        now=NOW,
    )
    return withdrawal_id


def paid_withdrawal(engine: Engine, amount: str) -> str:
    """``open_withdrawal``, then paid: the hold posted, the status ``succeeded``."""
    with session_scope(engine) as session:
        withdrawal_id = open_withdrawal(session, amount)
        settle(
            session,
            withdrawal_id=withdrawal_id,
            status=Status.SUCCEEDED,
            note="paid",
            reason=None,
            provider_reference="sim-1",
            actor=None,
            now=NOW,
        )
    return withdrawal_id
