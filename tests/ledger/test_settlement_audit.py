"""``settle``'s audit row names how the hold was resolved, as it stands after the
resolution (R19, R20): ``posted`` for a paid withdrawal, ``voided`` for a released one.
(Issue 24: with the hold read as a transient copy, the row said ``held``.)"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ledger import audit
from ledger.db import session_scope
from ledger.holds import reserve
from ledger.settlement import settle
from ledger.withdrawals import create_withdrawal
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.money import Money
from tests.ledger.data import NOW, load


@pytest.mark.parametrize(("status", "resolved"), [("succeeded", "posted"), ("failed", "voided")])
def test_settle_audits_the_hold_as_resolved(engine: Engine, status: str, resolved: str) -> None:
    load(engine)
    request = WithdrawalRequest(
        withdrawal_id="w-settle",
        account_id="acct-plain",
        amount=Money.yuan("10.00"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id="P-ORDER",
    )
    with session_scope(engine) as session:
        create_withdrawal(session, request, NOW)
        reserve(
            session,
            withdrawal_id="w-settle",
            account_id="acct-plain",
            order_id="P-ORDER",
            amount=request.amount,
            now=NOW,
        )
    with session_scope(engine) as session:
        settle(
            session,
            withdrawal_id="w-settle",
            status=Status(status),
            note="done",
            reason=None,
            provider_reference=None,
            actor=None,
            now=NOW,
        )
    with session_scope(engine) as session:
        rows = [e for e in audit.entries(session, "w-settle") if e.action == f"status.{status}"]
    assert [row.outcome for row in rows] == [resolved]
