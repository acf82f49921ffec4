"""``ledger verify``: recompute every balance from its entries and say where they disagree.

The ledger owns the cash figure (CONTRACT.md): an account's cash must equal its opening
entry plus adjustments minus its withdrawal debits plus its returns' credits, and what it
holds must equal the sum of its holds still ``held``; an order's withdrawn amount is its
posted holds less what their returns credited back (issue 25). Each problem is a typed
value, not a string to parse.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from ledger.tables import (
    Account,
    Direction,
    Hold,
    HoldState,
    LedgerEntry,
    RechargeOrder,
    WithdrawalReturn,
)
from models.money import Money


@dataclass(frozen=True)
class BalanceProblem:
    subject: str  # an account or recharge order id
    figure: str  # cash_fen, held_fen, withdrawn_fen
    recorded: Money
    recomputed: Money

    @property
    def text(self) -> str:
        return (
            f"{self.subject}: {self.figure.removesuffix('_fen')} is {self.recorded}, "
            f"its entries say {self.recomputed}"
        )


@dataclass(frozen=True)
class LedgerCheck:
    accounts: int
    orders: int
    entries: int
    problems: list[BalanceProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger(session: Session) -> LedgerCheck:
    """Recompute cash and held per account, withdrawn and held per order."""
    cash: dict[str, int] = defaultdict(int)
    entries = 0
    for entry in session.exec(select(LedgerEntry)):
        entries += 1
        sign = 1 if entry.direction == Direction.CREDIT.value else -1
        cash[entry.account_id] += sign * entry.amount_fen
    held: dict[str, int] = defaultdict(int)
    order_held: dict[str, int] = defaultdict(int)
    order_withdrawn: dict[str, int] = defaultdict(int)
    credited_back = {
        row.withdrawal_id: row.credited_fen for row in session.exec(select(WithdrawalReturn))
    }
    for hold in session.exec(select(Hold)):
        if hold.state == HoldState.HELD.value:
            held[hold.account_id] += hold.amount_fen
            if hold.order_id:
                order_held[hold.order_id] += hold.amount_fen
        elif hold.state == HoldState.POSTED.value and hold.order_id:
            returned = credited_back.get(hold.withdrawal_id, 0)
            order_withdrawn[hold.order_id] += hold.amount_fen - returned
    problems: list[BalanceProblem] = []
    accounts = list(session.exec(select(Account).order_by(Account.id)))
    for account in accounts:
        problems += _compare(account.id, "cash_fen", account.cash_fen, cash[account.id])
        problems += _compare(account.id, "held_fen", account.held_fen, held[account.id])
    orders = list(session.exec(select(RechargeOrder).order_by(RechargeOrder.id)))
    for order in orders:
        problems += _compare(order.id, "held_fen", order.held_fen, order_held[order.id])
        problems += _compare(
            order.id, "withdrawn_fen", order.withdrawn_fen, order_withdrawn[order.id]
        )
    return LedgerCheck(
        accounts=len(accounts), orders=len(orders), entries=entries, problems=problems
    )


def _compare(subject: str, figure: str, recorded: int, recomputed: int) -> list[BalanceProblem]:
    if recorded == recomputed:
        return []
    return [BalanceProblem(subject, figure, Money(recorded), Money(recomputed))]
