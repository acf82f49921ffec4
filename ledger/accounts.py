"""Reading an account's money: the R11–R12 breakdown, per-order remainders (R5), R17 risk.

Plain functions taking a session, shared by the CLI and the activities. Nothing here
scans withdrawal history: ``held_fen`` columns are running totals kept by ``ledger.holds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from ledger.rows import flush_pending, table_of
from ledger.tables import Account, PaygResource, RechargeOrder
from ledger.types import utc
from models.errors import NotFound
from models.money import Money
from models.rules import BalanceSnapshot, Breakdown, order_remaining, payg_reserve, withdrawable

# Core statements, built once (issue 24; ``ledger.rows``): the opening's R17 look-up.
ACCOUNTS = table_of(Account)
_IDENTITY = core_select(ACCOUNTS.c.identity_id).where(ACCOUNTS.c.id == bindparam("key"))
_OVERDUE_UNDER_IDENTITY = (
    core_select(func.count())
    .select_from(ACCOUNTS)
    .where(ACCOUNTS.c.identity_id == bindparam("identity"), ACCOUNTS.c.overdue_fen > 0)
)


@dataclass(frozen=True)
class OrderRemaining:
    """R5: what one recharge order still has, and until when the original route is open (R8)."""

    order_id: str
    amount: Money
    remaining: Money
    original_route_until: datetime


def get_account(session: Session, account_id: str) -> Account:
    """The account, or ``NotFound`` naming the field (CLI exit 2)."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", f"no account {account_id!r}")
    return account


def payg_reserve_of(session: Session, account_id: str, now: datetime) -> Money:
    """R11 pay-as-you-go reserve, from the account's resources."""
    released = session.exec(
        select(PaygResource.released_at).where(PaygResource.account_id == account_id)
    ).all()
    return payg_reserve(list(released), utc(now))


def breakdown_of(session: Session, account: Account, now: datetime) -> Breakdown:
    """R12 for an account row already loaded (and, in ``ledger.holds``, locked)."""
    snapshot = BalanceSnapshot(
        cash=Money(account.cash_fen),
        transfer_in=Money(account.transfer_in_fen),
        owed_invoice=Money(account.owed_invoice_fen),
        overdue=Money(account.overdue_fen),
        unsettled=Money(account.unsettled_fen),
        payg_reserve=payg_reserve_of(session, account.id, now),
        held=Money(account.held_fen),
    )
    return withdrawable(snapshot)


def balance_breakdown(session: Session, account_id: str, now: datetime) -> Breakdown:
    """R11–R13 breakdown, held money included (R12 *beyond*). Reads one row per table."""
    return breakdown_of(session, get_account(session, account_id), now)


def remaining_of(order: RechargeOrder) -> Money:
    """R5: order amount minus what withdrawals took (posted) or are holding."""
    return order_remaining(Money(order.amount_fen), Money(order.withdrawn_fen + order.held_fen))


def original_route_until(order: RechargeOrder) -> datetime:
    """R8: the last instant the order's money may go back the way it came."""
    from models.routes import original_route_deadline  # the R8 table loads on first use

    return original_route_deadline(order.channel, order.bank, order.paid_at)


def orders_with_remaining(session: Session, account_id: str, now: datetime) -> list[OrderRemaining]:
    """Every recharge order of the account, oldest payment first, with its R5 remainder.

    ``now`` is accepted so callers pass one clock everywhere; the R8 deadline itself
    depends only on the payment time.
    """
    get_account(session, account_id)
    orders = session.exec(
        select(RechargeOrder)
        .where(RechargeOrder.account_id == account_id)
        .order_by(col(RechargeOrder.paid_at), col(RechargeOrder.id))
    ).all()
    return [
        OrderRemaining(
            order_id=order.id,
            amount=Money(order.amount_fen),
            remaining=remaining_of(order),
            original_route_until=utc(original_route_until(order)),
        )
        for order in orders
    ]


def same_identity_overdue(session: Session, account_id: str) -> bool:
    """R17 risk: an account under the same real name (itself included) has an overdue debt."""
    flush_pending(session)
    identity = session.execute(_IDENTITY, {"key": account_id}).scalar()
    if identity is None:
        raise NotFound("account", f"no account {account_id!r}")
    return bool(session.execute(_OVERDUE_UNDER_IDENTITY, {"identity": identity}).scalar())
