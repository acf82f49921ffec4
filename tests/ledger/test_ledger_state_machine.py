"""The ledger alone under random sequences of its operations: the money always adds up
(issue 24, item 1; R5 R12 R14 R19 R20).

A Hypothesis state machine opens withdrawals (record, check, freeze), freezes with
``reserve`` directly, posts, voids, reloads and adjusts the opening balance, and opens
several withdrawals at once on one account, from threads. After every step it checks
that the account's cash and held, each order's held and withdrawn, and each hold's state
are what the model of the same steps says; that ``ledger verify`` recomputes the same
balances from the entries and the holds; and that every audit chain verifies.

Small by default (``make test``); ``LEDGER_MACHINE_EXAMPLES`` / ``LEDGER_MACHINE_STEPS``
raise it for a soak, e.g. ``LEDGER_MACHINE_EXAMPLES=300 LEDGER_MACHINE_STEPS=40``.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from ledger import audit
from ledger.db import run_in_transaction, session_scope
from ledger.holds import post_hold, reserve, void_hold
from ledger.loading import load_fixture
from ledger.opening import open_withdrawal
from ledger.tables import Account, Hold, RechargeOrder
from ledger.verify import verify_ledger
from models.domain import Kind, Route, WithdrawalRequest
from models.errors import HoldConflict, InsufficientWithdrawable
from models.fixtures import parse_fixture
from models.money import Money
from tests.ledger.data import NOW

EXAMPLES = int(os.environ.get("LEDGER_MACHINE_EXAMPLES", "6"))
STEPS = int(os.environ.get("LEDGER_MACHINE_STEPS", "12"))
ORDER_FEN = 60_000
_runs = itertools.count()
amounts = st.integers(min_value=1, max_value=40_000)  # fen: up to 400.00


@dataclass
class Model:
    """What the steps should have done to the money, kept apart from the ledger."""

    cash: int
    holds: dict[str, tuple[int, bool, str]] = field(default_factory=dict)  # id: fen, order?, state

    def held(self, on_order: bool = False) -> int:
        return sum(
            fen
            for fen, order, state in self.holds.values()
            if state == "held" and (order or not on_order)
        )

    def withdrawn_from_order(self) -> int:
        return sum(fen for fen, order, state in self.holds.values() if order and state == "posted")


class LedgerMachine(RuleBasedStateMachine):
    engine: Engine  # set by the test before the machine runs

    held = Bundle("held")

    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.account = f"sm-{run}"
        self.order = f"sm-{run}-order"
        self.ids = (f"sm-{run}-w{i}" for i in itertools.count())
        self.opening_fen = 100_000
        self.model = Model(cash=self.opening_fen)
        self._load(self.opening_fen, adjust=False)

    # ---- steps ----------------------------------------------------------------------

    def _load(self, cash_fen: int, adjust: bool) -> None:
        fixture = {
            "accounts": [
                {
                    "id": self.account,
                    "owner_name": "State Machine",
                    "type": "personal",
                    "real_name_verified": True,
                    "status": "normal",
                    "identity_id": f"id-{self.account}",
                    "security_phone": "+8613800000009",
                    "cash": str(Money(cash_fen)),
                }
            ],
            "recharge_orders": [
                {
                    "id": self.order,
                    "account_id": self.account,
                    "amount": str(Money(ORDER_FEN)),
                    "channel": "alipay",
                    "bank": None,
                    "paid_at": "2026-11-20T10:00:00+08:00",
                }
            ],
        }
        with session_scope(self.engine) as session:
            load_fixture(session, parse_fixture(fixture), adjust=adjust, now=NOW)

    def _request(self, withdrawal_id: str, fen: int) -> WithdrawalRequest:
        return WithdrawalRequest(
            withdrawal_id=withdrawal_id,
            account_id=self.account,
            amount=Money(fen),
            kind=Kind.RECHARGE,
            route=Route.ORIGINAL,
            order_id=self.order,
        )

    def _open(self, withdrawal_id: str, fen: int) -> bool:
        try:
            run_in_transaction(
                self.engine,
                open_withdrawal,
                self._request(withdrawal_id, fen),
                NOW,
                Money.yuan("1000000.00"),
            )
        except InsufficientWithdrawable:
            return False
        return True

    def _fits(self, fen: int, on_order: bool) -> bool:
        free = self.model.cash - self.model.held()
        order_free = ORDER_FEN - self.model.withdrawn_from_order() - self.model.held(True)
        return fen <= free and (not on_order or fen <= order_free)

    @rule(target=held, fen=amounts)
    def open(self, fen: int) -> Any:
        """Record, check and freeze on the order (R5, R14)."""
        withdrawal_id = next(self.ids)
        opened = self._open(withdrawal_id, fen)
        assert opened == self._fits(fen, on_order=True)
        if not opened:
            return multiple()  # nothing frozen: nothing to post or void
        self.model.holds[withdrawal_id] = (fen, True, "held")
        # Opening again (a retry) answers as the first time and freezes nothing more.
        assert self._open(withdrawal_id, fen)
        return withdrawal_id

    @rule(target=held, fen=amounts)
    def freeze(self, fen: int) -> Any:
        """``reserve`` alone, on no order (R14)."""
        withdrawal_id = next(self.ids)
        try:
            run_in_transaction(
                self.engine,
                reserve,
                withdrawal_id=withdrawal_id,
                account_id=self.account,
                order_id=None,
                amount=Money(fen),
                now=NOW,
            )
        except InsufficientWithdrawable:
            assert not self._fits(fen, on_order=False)
            return multiple()  # nothing frozen: nothing to post or void
        assert self._fits(fen, on_order=False)
        self.model.holds[withdrawal_id] = (fen, False, "held")
        return withdrawal_id

    @rule(withdrawal_id=consumes(held), twice=st.booleans())
    def post(self, withdrawal_id: str, twice: bool) -> None:
        for _ in range(2 if twice else 1):  # a retried post moves nothing again
            run_in_transaction(self.engine, post_hold, withdrawal_id, NOW + timedelta(seconds=1))
        fen, order, _ = self.model.holds[withdrawal_id]
        self.model.holds[withdrawal_id] = (fen, order, "posted")
        self.model.cash -= fen
        with pytest.raises(HoldConflict):  # R19: resolved once, one way
            run_in_transaction(self.engine, void_hold, withdrawal_id, NOW)

    @rule(withdrawal_id=consumes(held), twice=st.booleans())
    def void(self, withdrawal_id: str, twice: bool) -> None:
        for _ in range(2 if twice else 1):
            run_in_transaction(self.engine, void_hold, withdrawal_id, NOW + timedelta(seconds=1))
        fen, order, _ = self.model.holds[withdrawal_id]
        self.model.holds[withdrawal_id] = (fen, order, "voided")
        with pytest.raises(HoldConflict):
            run_in_transaction(self.engine, post_hold, withdrawal_id, NOW)

    @rule()
    def load_again(self) -> None:
        """Loading the same file again changes no money."""
        self._load(self.opening_fen, adjust=False)

    @precondition(lambda self: self.model.cash - self.model.held() > 0)
    @rule(change=st.integers(min_value=-50_000, max_value=50_000))
    def adjust(self, change: int) -> None:
        """``load --adjust``: an audited entry for the difference, never below what is held."""
        cash = self.model.cash + change
        if cash < self.model.held() or self.opening_fen + change < 0 or change == 0:
            return
        self.opening_fen += change
        self._load(self.opening_fen, adjust=True)
        self.model.cash = cash

    @rule(fens=st.lists(amounts, min_size=2, max_size=4))
    def concurrent_opens(self, fens: list[int]) -> None:
        """Several opens on one account at once: together they never freeze more than
        the account and the order have (R14, R5); which ones win is the lock's choice."""
        ids = [next(self.ids) for _ in fens]
        with ThreadPoolExecutor(max_workers=len(fens)) as pool:
            opened = list(pool.map(self._open, ids, fens))
        for withdrawal_id, fen, won in zip(ids, fens, opened, strict=True):
            if won:
                assert self._fits(fen, on_order=True)
                self.model.holds[withdrawal_id] = (fen, True, "held")
        # The losers lost for want of money, judged after the winners took theirs.
        for fen, won in zip(fens, opened, strict=True):
            assert won or not self._fits(fen, on_order=True)

    # ---- after every step -------------------------------------------------------------

    @invariant()
    def money_adds_up(self) -> None:
        with session_scope(self.engine) as session:
            account = session.get(Account, self.account)
            order = session.get(RechargeOrder, self.order)
            assert account is not None and order is not None
            assert (account.cash_fen, account.held_fen) == (self.model.cash, self.model.held())
            assert order.held_fen == self.model.held(on_order=True)
            assert order.withdrawn_fen == self.model.withdrawn_from_order()
            for withdrawal_id, (fen, _, state) in self.model.holds.items():
                hold = session.get(Hold, withdrawal_id)
                assert hold is not None and (hold.amount_fen, hold.state) == (fen, state)
            check = verify_ledger(session)
            assert check.ok, [p.text for p in check.problems]
            chains = audit.verify(session)
            assert chains.ok, chains.broken


def test_ledger_money_adds_up_after_any_sequence(engine: Engine) -> None:
    LedgerMachine.engine = engine
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
