"""Invariants asserted wherever money moves (TigerStyle): a broken one stops the operation.

These are not ``assert`` statements because ``python -O`` strips those, and a ledger that
keeps going after its totals stopped adding up does the most damage.
"""

from __future__ import annotations

from ledger.tables import Account, RechargeOrder


class LedgerInvariantError(RuntimeError):
    """The ledger's own numbers disagree: a bug, never a user error. Roll back and alert."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise LedgerInvariantError(message)


def check_account(account: Account) -> None:
    check(account.cash_fen >= 0, f"account {account.id}: cash went negative")
    check(account.held_fen >= 0, f"account {account.id}: held went negative")


def check_order(order: RechargeOrder) -> None:
    check(order.held_fen >= 0, f"order {order.id}: held went negative")
    check(order.withdrawn_fen >= 0, f"order {order.id}: withdrawn went negative")
    check(
        order.withdrawn_fen + order.held_fen <= order.amount_fen,
        f"order {order.id}: posted plus held exceeds the order amount (R5)",
    )
