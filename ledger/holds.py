"""Two-phase holds (R12 *beyond*, R14, R19): reserve, then post or void, exactly once.

A hold freezes money for one withdrawal, keyed by the withdrawal id (the idempotency
key). ``reserve`` runs under a real lock on the account row, so concurrent withdrawals
together never freeze more than is withdrawable (R14): ``SELECT … FOR UPDATE`` on
PostgreSQL; on SQLite every transaction already holds the write lock from
``BEGIN IMMEDIATE`` (see ``ledger.db``). Locks are always taken in the same order,
account → order → hold, so two resolutions cannot deadlock each other.

The functions work inside the caller's transaction (``session_scope`` or
``run_in_transaction``) and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session
from sqlmodel import select as orm_select

from ledger.accounts import breakdown_of, remaining_of
from ledger.invariants import LedgerInvariantError, check, check_account, check_order
from ledger.rows import flush_pending, read_row, sync_cached, table_of
from ledger.tables import Account, Direction, EntryType, Hold, HoldState, LedgerEntry, RechargeOrder
from ledger.types import utc
from models.domain import AccountStatus
from models.errors import AccountNotEligible, HoldConflict, InsufficientWithdrawable, NotFound
from models.money import Money

# Core statements, built once (issue 24): a row is read as a tuple into a transient copy
# (never added to the session, so never flushed) and written back with an UPDATE.
ACCOUNTS = table_of(Account)
ORDERS = table_of(RechargeOrder)
HOLDS = table_of(Hold)
ENTRIES = table_of(LedgerEntry)
_LOCK_ACCOUNT = select(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("key")).with_for_update()
_LOCK_ORDER = select(ORDERS).where(ORDERS.c.id == bindparam("key")).with_for_update()
_LOCK_HOLD = select(HOLDS).where(HOLDS.c.withdrawal_id == bindparam("key")).with_for_update()
_GET_HOLD = select(HOLDS).where(HOLDS.c.withdrawal_id == bindparam("key"))
_HOLD_ACCOUNT = select(HOLDS.c.account_id).where(HOLDS.c.withdrawal_id == bindparam("key"))
_SET_ACCOUNT_MONEY = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.id == bindparam("key"))
    .values(cash_fen=bindparam("cash_fen"), held_fen=bindparam("held_fen"))
)
_SET_ORDER_MONEY = (
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("key"))
    .values(withdrawn_fen=bindparam("withdrawn_fen"), held_fen=bindparam("held_fen"))
)
_RESOLVE_HOLD = (
    update(HOLDS)
    .where(HOLDS.c.withdrawal_id == bindparam("key"))
    .values(state=bindparam("state"), resolved_at=bindparam("resolved_at"))
)
_INSERT_HOLD = insert(HOLDS)
_INSERT_ENTRY = insert(ENTRIES)


def lock_account(session: Session, account_id: str) -> Account:
    """The account locked, as the session's own object: for the cold paths (returns) that
    change it through the ORM. The hot path reads a transient copy (``_lock_account``)."""
    flush_pending(session)
    account = session.exec(
        orm_select(Account)
        .where(Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if account is None:
        raise NotFound("account", f"no account {account_id!r}")
    return account


def lock_order(session: Session, order_id: str) -> RechargeOrder:
    """The order locked, as the session's own object (see ``lock_account``)."""
    order = session.exec(
        orm_select(RechargeOrder)
        .where(RechargeOrder.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if order is None:
        raise NotFound("order", f"no recharge order {order_id!r}")
    return order


def _lock_account(session: Session, account_id: str) -> Account:
    account = read_row(session, _LOCK_ACCOUNT, Account, account_id)
    if account is None:
        raise NotFound("account", f"no account {account_id!r}")
    return account


def _lock_order(session: Session, order_id: str) -> RechargeOrder:
    order = read_row(session, _LOCK_ORDER, RechargeOrder, order_id)
    if order is None:
        raise NotFound("order", f"no recharge order {order_id!r}")
    return order


def _lock_hold(session: Session, withdrawal_id: str) -> Hold | None:
    return read_row(session, _LOCK_HOLD, Hold, withdrawal_id)


def _write_account(session: Session, account: Account) -> None:
    money = {"cash_fen": account.cash_fen, "held_fen": account.held_fen}
    session.execute(_SET_ACCOUNT_MONEY, {"key": account.id, **money})
    sync_cached(session, Account, account.id, **money)


def _write_order(session: Session, order: RechargeOrder) -> None:
    money = {"withdrawn_fen": order.withdrawn_fen, "held_fen": order.held_fen}
    session.execute(_SET_ORDER_MONEY, {"key": order.id, **money})
    sync_cached(session, RechargeOrder, order.id, **money)


def _write_resolution(session: Session, hold: Hold) -> None:
    resolution = {"state": hold.state, "resolved_at": hold.resolved_at}
    session.execute(_RESOLVE_HOLD, {"key": hold.withdrawal_id, **resolution})
    sync_cached(session, Hold, hold.withdrawal_id, **resolution)


def get_hold(session: Session, withdrawal_id: str) -> Hold | None:
    """The hold as it stands (a transient copy: change it through this module only)."""
    flush_pending(session)
    return read_row(session, _GET_HOLD, Hold, withdrawal_id)


def _same_request(hold: Hold, account_id: str, order_id: str | None, amount: Money) -> bool:
    return (hold.account_id, hold.order_id, hold.amount_fen) == (account_id, order_id, amount.fen)


def reserve(
    session: Session,
    *,
    withdrawal_id: str,
    account_id: str,
    order_id: str | None,
    amount: Money,
    now: datetime,
) -> Hold:
    """Freeze ``amount`` for a withdrawal, within R12 withdrawable and the order's R5 remainder.

    The same ``withdrawal_id`` again returns the first hold unchanged (whatever its state);
    with a different account, order or amount it raises ``HoldConflict``.
    Refusals: ``InsufficientWithdrawable`` (R14), ``AccountNotEligible`` (R1), ``NotFound``.
    """
    at = utc(now)
    if amount.fen <= 0:
        raise InsufficientWithdrawable("R14", "a withdrawal must be more than 0.00")
    flush_pending(session)
    account = _lock_account(session, account_id)
    existing = _lock_hold(session, withdrawal_id)
    if existing is not None:
        if _same_request(existing, account_id, order_id, amount):
            return existing
        raise HoldConflict(
            "idempotency",
            f"withdrawal {withdrawal_id} already holds {Money(existing.amount_fen)} "
            f"on account {existing.account_id} order {existing.order_id}; "
            "its id cannot be reused for a different request",
        )
    if account.status != AccountStatus.NORMAL.value:
        raise AccountNotEligible("R1", f"account {account_id} is {account.status}")
    order = lock_order(session, order_id) if order_id is not None else None
    if order is not None and order.account_id != account_id:
        raise NotFound("order", f"recharge order {order_id!r} is not account {account_id}'s")

    withdrawable = breakdown_of(session, account, at).withdrawable
    if amount > withdrawable:
        raise InsufficientWithdrawable("R14", f"withdrawable is {withdrawable}")
    if order is not None:
        remaining = remaining_of(order)
        if amount > remaining:
            raise InsufficientWithdrawable("R14", f"order {order.id} has {remaining} remaining")

    values: dict[str, Any] = {
        "withdrawal_id": withdrawal_id,
        "account_id": account_id,
        "order_id": order_id,
        "amount_fen": amount.fen,
        "state": HoldState.HELD,
        "created_at": at,
        "resolved_at": None,
    }
    account.held_fen += amount.fen
    check_account(account)
    check(account.held_fen <= account.cash_fen, f"account {account_id}: holds exceed cash (R14)")
    if order is not None:
        order.held_fen += amount.fen
        check_order(order)
    _write_account(session, account)
    if order is not None:
        _write_order(session, order)
    session.execute(_INSERT_HOLD, values)
    return Hold(**values)


def _resolve_target(session: Session, withdrawal_id: str) -> tuple[Account, Hold]:
    """Lock account then hold (the global lock order) and return both, fresh."""
    flush_pending(session)
    account_id = session.execute(_HOLD_ACCOUNT, {"key": withdrawal_id}).scalar()
    if account_id is None:
        raise NotFound("withdrawal", f"no hold for withdrawal {withdrawal_id!r}")
    account = _lock_account(session, account_id)
    hold = _lock_hold(session, withdrawal_id)
    if hold is None:  # holds are never deleted
        raise LedgerInvariantError(f"hold {withdrawal_id} vanished while resolving it")
    return account, hold


def post_hold(session: Session, withdrawal_id: str, now: datetime) -> Hold:
    """held → posted: the money leaves the account, with one ledger entry (R20).

    Posting a posted hold is a no-op returning it (no second movement); posting a voided
    hold raises ``HoldConflict``: its money already went back (R19).
    """
    at = utc(now)
    account, hold = _resolve_target(session, withdrawal_id)
    if hold.state == HoldState.POSTED.value:
        return hold
    if hold.state == HoldState.VOIDED.value:
        raise HoldConflict("R19", f"hold {withdrawal_id} was voided; it cannot be posted")

    amount = hold.amount_fen
    account.cash_fen -= amount
    account.held_fen -= amount
    check_account(account)
    order = None
    if hold.order_id is not None:
        order = _lock_order(session, hold.order_id)
        order.withdrawn_fen += amount
        order.held_fen -= amount
        check_order(order)
    hold.state = HoldState.POSTED
    hold.resolved_at = at
    _write_account(session, account)
    if order is not None:
        _write_order(session, order)
    _write_resolution(session, hold)
    session.execute(
        _INSERT_ENTRY,
        {
            "account_id": account.id,
            "withdrawal_id": withdrawal_id,
            "type": EntryType.WITHDRAWAL.value,
            "direction": Direction.DEBIT.value,
            "amount_fen": amount,
            "balance_after_fen": account.cash_fen,
            "at": at,
            "note": f"withdrawal {withdrawal_id}",
        },
    )
    return hold


def void_hold(session: Session, withdrawal_id: str, now: datetime) -> Hold:
    """held → voided: the frozen money returns to the withdrawable balance (R19).

    Voiding a voided hold is a no-op; voiding a posted hold raises ``HoldConflict``
    (the money has left; a correction would be a new entry, not an undo).
    """
    at = utc(now)
    account, hold = _resolve_target(session, withdrawal_id)
    if hold.state == HoldState.VOIDED.value:
        return hold
    if hold.state == HoldState.POSTED.value:
        raise HoldConflict("R19", f"hold {withdrawal_id} was posted; it cannot be voided")

    account.held_fen -= hold.amount_fen
    check_account(account)
    order = None
    if hold.order_id is not None:
        order = _lock_order(session, hold.order_id)
        order.held_fen -= hold.amount_fen
        check_order(order)
    hold.state = HoldState.VOIDED
    hold.resolved_at = at
    _write_account(session, account)
    if order is not None:
        _write_order(session, order)
    _write_resolution(session, hold)
    return hold
