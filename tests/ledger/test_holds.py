"""Two-phase holds: reserve within R12/R14, then post or void exactly once (R19, R20)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ledger.accounts import balance_breakdown, orders_with_remaining
from ledger.db import session_scope
from ledger.holds import get_hold, post_hold, reserve, void_hold
from ledger.tables import Account, Hold, HoldState, RechargeOrder
from ledger.withdrawals import transactions
from models.errors import AccountNotEligible, HoldConflict, InsufficientWithdrawable, NotFound
from models.money import Money
from tests.ledger.data import NOW, load


def _reserve(
    engine: Engine,
    withdrawal_id: str,
    amount: str,
    order_id: str | None = "P-ORDER",
    account_id: str = "acct-plain",
) -> Hold:
    with session_scope(engine) as session:
        return reserve(
            session,
            withdrawal_id=withdrawal_id,
            account_id=account_id,
            order_id=order_id,
            amount=Money.yuan(amount),
            now=NOW,
        )


def _post(engine: Engine, withdrawal_id: str) -> Hold:
    with session_scope(engine) as session:
        return post_hold(session, withdrawal_id, NOW)


def _void(engine: Engine, withdrawal_id: str) -> Hold:
    with session_scope(engine) as session:
        return void_hold(session, withdrawal_id, NOW)


def _balances(engine: Engine, order_id: str = "P-ORDER") -> tuple[int, int, int, int]:
    """(account cash, account held, order withdrawn, order held) in fen."""
    with session_scope(engine) as session:
        account = session.get(Account, "acct-plain")
        order = session.get(RechargeOrder, order_id)
        assert account is not None and order is not None
        return account.cash_fen, account.held_fen, order.withdrawn_fen, order.held_fen


def test_reserve_freezes_money_out_of_withdrawable(engine: Engine) -> None:
    load(engine)
    hold = _reserve(engine, "w-1", "100.00")
    assert (hold.state, hold.amount_fen) == (HoldState.HELD.value, 10000)
    assert _balances(engine) == (100000, 10000, 0, 10000)
    with session_scope(engine) as session:
        b = balance_breakdown(session, "acct-plain", NOW)
        orders = {o.order_id: o for o in orders_with_remaining(session, "acct-plain", NOW)}
    assert (b.held, b.withdrawable) == (Money.yuan("100.00"), Money.yuan("900.00"))
    assert orders["P-ORDER"].remaining == Money.yuan("500.00")


def test_post_moves_money_once_with_one_ledger_entry(engine: Engine) -> None:
    load(engine)
    _reserve(engine, "w-1", "100.00")
    posted = _post(engine, "w-1")
    assert posted.state == HoldState.POSTED.value and posted.resolved_at == NOW
    assert _balances(engine) == (90000, 0, 10000, 0)
    again = _post(engine, "w-1")  # a retried activity: no second movement
    assert again.state == HoldState.POSTED.value
    assert _balances(engine) == (90000, 0, 10000, 0)
    with session_scope(engine) as session:
        [entry] = transactions(session, "acct-plain", type="withdrawal")
    assert (entry.direction, entry.amount_fen, entry.balance_after_fen) == ("debit", 10000, 90000)
    assert entry.withdrawal_id == "w-1" and entry.at == NOW


def test_void_returns_frozen_money_once(engine: Engine) -> None:
    """R19: a rejected or failed withdrawal's money comes back to withdrawable."""
    load(engine)
    _reserve(engine, "w-1", "100.00")
    assert _void(engine, "w-1").state == HoldState.VOIDED.value
    assert _void(engine, "w-1").state == HoldState.VOIDED.value
    assert _balances(engine) == (100000, 0, 0, 0)
    with session_scope(engine) as session:
        assert balance_breakdown(session, "acct-plain", NOW).withdrawable == Money.yuan("1000.00")
        assert transactions(session, "acct-plain", type="withdrawal") == []


def test_void_after_post_is_refused(engine: Engine) -> None:
    load(engine)
    _reserve(engine, "w-1", "100.00")
    _post(engine, "w-1")
    with pytest.raises(HoldConflict, match="R19"):
        _void(engine, "w-1")
    assert _balances(engine) == (90000, 0, 10000, 0)


def test_post_after_void_is_refused(engine: Engine) -> None:
    load(engine)
    _reserve(engine, "w-1", "100.00")
    _void(engine, "w-1")
    with pytest.raises(HoldConflict, match="R19"):
        _post(engine, "w-1")
    assert _balances(engine) == (100000, 0, 0, 0)


def test_reserve_beyond_withdrawable_is_refused(engine: Engine) -> None:
    """R14 on the R13 account: withdrawable is 200.00."""
    load(engine)
    with pytest.raises(InsufficientWithdrawable, match=r"^R14: withdrawable is 200\.00$"):
        _reserve(engine, "w-1", "200.01", order_id="R-1", account_id="acct-r13")
    hold = _reserve(engine, "w-2", "200.00", order_id="R-1", account_id="acct-r13")
    assert hold.amount_fen == 20000
    with pytest.raises(InsufficientWithdrawable, match=r"withdrawable is 0\.00"):
        _reserve(engine, "w-3", "0.01", order_id="R-1", account_id="acct-r13")


def test_reserve_beyond_order_remaining_is_refused(engine: Engine) -> None:
    """R5/R14: an order gives at most what it still has, even if the account has more."""
    load(engine)
    _reserve(engine, "w-1", "450.00")
    with pytest.raises(
        InsufficientWithdrawable, match=r"^R14: order P-ORDER has 150\.00 remaining$"
    ):
        _reserve(engine, "w-2", "150.01")
    _reserve(engine, "w-3", "150.00")
    assert _balances(engine) == (100000, 60000, 0, 60000)


def test_reserve_is_idempotent_by_withdrawal_id(engine: Engine) -> None:
    load(engine)
    first = _reserve(engine, "w-1", "100.00")
    again = _reserve(engine, "w-1", "100.00")
    assert (again.withdrawal_id, again.created_at) == (first.withdrawal_id, first.created_at)
    assert _balances(engine) == (100000, 10000, 0, 10000)
    for amount, order in (("100.01", "P-ORDER"), ("100.00", "P-BIG"), ("100.00", None)):
        with pytest.raises(HoldConflict, match="idempotency"):
            _reserve(engine, "w-1", amount, order_id=order)
    assert _balances(engine) == (100000, 10000, 0, 10000)


def test_reserve_refuses_frozen_account_and_foreign_order(engine: Engine) -> None:
    load(engine)
    with pytest.raises(AccountNotEligible, match="R1"):
        _reserve(engine, "w-1", "1.00", order_id=None, account_id="acct-frozen")
    with pytest.raises(NotFound, match="order"):
        _reserve(engine, "w-2", "1.00", order_id="R-1")  # acct-r13's order
    with pytest.raises(NotFound, match="account"):
        _reserve(engine, "w-3", "1.00", order_id=None, account_id="nobody")
    with session_scope(engine) as session:
        assert get_hold(session, "w-1") is None


def test_resolving_an_unknown_hold_is_not_found(engine: Engine) -> None:
    load(engine)
    with pytest.raises(NotFound, match="withdrawal"):
        _post(engine, "never")
