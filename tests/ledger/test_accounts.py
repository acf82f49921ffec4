"""The withdrawable breakdown from the database (R11–R13), per-order remainders (R5, R8)
and same-identity risk (R17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event

from ledger.accounts import balance_breakdown, orders_with_remaining, same_identity_overdue
from ledger.db import session_scope
from ledger.tables import PaygResource
from models.errors import NotFound
from models.money import Money
from tests.ledger.data import NOW, load


def test_r13_worked_example_holds_exactly_from_the_database(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        b = balance_breakdown(session, "acct-r13", NOW)
    assert b.payg_reserve == Money.yuan("100.00")
    assert b.debts == Money.yuan("700.00")
    assert b.uncovered_debts == Money.yuan("200.00")
    assert b.not_withdrawable == Money.yuan("800.00")
    assert b.withdrawable == Money.yuan("200.00")
    assert b.held == Money.zero()


def test_payg_reserve_lasts_24_hours_after_the_latest_release(engine: Engine) -> None:
    load(engine)
    released = NOW - timedelta(hours=23)
    with session_scope(engine) as session:
        resource = session.get(PaygResource, "ecs-1")
        assert resource is not None
        resource.released_at = released
    with session_scope(engine) as session:
        assert balance_breakdown(session, "acct-r13", NOW).payg_reserve == Money.yuan("100.00")
        later = released + timedelta(hours=24)
        assert balance_breakdown(session, "acct-r13", later).withdrawable == Money.yuan("300.00")


def test_orders_show_remaining_and_original_route_deadline(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        orders = orders_with_remaining(session, "acct-r13", NOW)
    [order] = orders
    assert (order.order_id, order.amount, order.remaining) == (
        "R-1",
        Money.yuan("800.00"),
        Money.yuan("800.00"),
    )
    # R8: ICBC personal online banking has 30 days from payment.
    assert order.original_route_until == datetime(2026, 10, 31, 2, 0, tzinfo=UTC)
    assert order.original_route_until.tzinfo is UTC


def test_same_identity_overdue_sees_siblings_and_itself(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        assert same_identity_overdue(session, "acct-plain")  # sibling owes 10.00 (R17)
        assert same_identity_overdue(session, "acct-r13")  # its own overdue counts
        assert not same_identity_overdue(session, "acct-frozen")


def test_unknown_account_names_the_field(engine: Engine) -> None:
    with (
        pytest.raises(NotFound, match="account: no account 'nope'"),
        session_scope(engine) as session,
    ):
        balance_breakdown(session, "nope", NOW)


def test_breakdown_never_reads_history(engine: Engine) -> None:
    """R12 must stay fast with a million ledger entries: it reads running totals only."""
    load(engine)
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(engine) as session:
            balance_breakdown(session, "acct-r13", NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements
    assert not any("ledger_entry" in s or "from hold" in s or "withdrawal" in s for s in statements)
