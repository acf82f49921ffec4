"""Withdrawable amounts (R5, R11–R14): pure functions, no I/O.

The same formula serves the ``withdrawable`` command, the eligibility check and the
ledger's reserve, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.money import Money

PAYG_RESERVE = Money.yuan("100.00")  # R11
PAYG_RESERVE_RELEASE_HOURS = 24  # R11: counted from the latest release


@dataclass(frozen=True)
class BalanceSnapshot:
    """An account's balance components at one instant (R11)."""

    cash: Money
    transfer_in: Money
    owed_invoice: Money
    overdue: Money
    unsettled: Money
    payg_reserve: Money
    held: Money  # *beyond* R12: money frozen by withdrawals in flight


@dataclass(frozen=True)
class Breakdown:
    """R12 broken down the way the ``withdrawable`` command shows it."""

    cash: Money
    transfer_in: Money
    owed_invoice: Money
    overdue: Money
    unsettled: Money
    payg_reserve: Money
    held: Money
    debts: Money
    uncovered_debts: Money
    not_withdrawable: Money
    withdrawable: Money


def payg_reserve(released_at: list[datetime | None], now: datetime) -> Money:
    """R11: 100.00 while any pay-as-you-go resource is live, and for 24 hours after the
    latest release. ``None`` means the resource is still running.

    The boundary is exclusive: at exactly 24 hours after the latest release the reserve
    is gone.
    """
    if not released_at:
        return Money.zero()
    if any(at is None for at in released_at):
        return PAYG_RESERVE
    latest = max(at for at in released_at if at is not None)
    if now < latest + timedelta(hours=PAYG_RESERVE_RELEASE_HOURS):
        return PAYG_RESERVE
    return Money.zero()


def withdrawable(b: BalanceSnapshot) -> Breakdown:
    """R12, with R13 as its worked example."""
    debts = b.owed_invoice + b.overdue + b.unsettled
    uncovered = debts.minus_floor_zero(b.transfer_in)  # transfer-in pays debts first
    locked = b.transfer_in + b.payg_reserve + uncovered + b.held
    return Breakdown(
        cash=b.cash,
        transfer_in=b.transfer_in,
        owed_invoice=b.owed_invoice,
        overdue=b.overdue,
        unsettled=b.unsettled,
        payg_reserve=b.payg_reserve,
        held=b.held,
        debts=debts,
        uncovered_debts=uncovered,
        not_withdrawable=locked,
        withdrawable=b.cash.minus_floor_zero(locked),
    )


def order_remaining(order_amount: Money, taken_or_held: Money) -> Money:
    """R5: what a recharge order still has, after withdrawals that took or hold from it."""
    return order_amount.minus_floor_zero(taken_or_held)


def recharge_withdrawal_limit(order_remaining_amount: Money, account_withdrawable: Money) -> Money:
    """R14: the smaller of the order's remaining amount and the account's withdrawable."""
    return min(order_remaining_amount, account_withdrawable)
