"""``load``: upsert a validated fixture in one transaction (docs/interface.md fixture format).

Everything is checked against the database before the first write, so bad input changes
nothing; re-loading the same file reports every row unchanged. Money already moved by
withdrawals (``held_fen``, ``withdrawn_fen``) is never overwritten: a fixture that would
leave less than is held or taken is refused instead.

The ledger owns each account's cash figure (CONTRACT.md): a fixture's ``cash`` is the
*opening* balance, written once as an ``opening`` ledger entry. Loading the same opening
again changes nothing (so money already paid out is never credited again); a different
one is refused naming the account, unless ``adjust`` is given, which writes an audited
``adjustment`` entry for the difference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlmodel import Session, SQLModel, col, func, select

from ledger import audit, reviewers
from ledger.tables import (
    Account,
    Direction,
    EntryType,
    LedgerEntry,
    PaygResource,
    RechargeOrder,
)
from ledger.types import utc
from models.errors import InputError
from models.fixtures import Fixture, FixtureAccount, FixtureRechargeOrder
from models.money import Money


class UpsertCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, outcome: Literal["created", "updated", "unchanged"]) -> None:
        if outcome == "created":
            self.created += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


class LoadSummary(BaseModel):
    """What ``load`` did, per kind of row."""

    accounts: UpsertCounts = UpsertCounts()
    recharge_orders: UpsertCounts = UpsertCounts()
    payg_resources: UpsertCounts = UpsertCounts()
    reviewers: UpsertCounts = UpsertCounts()
    adjustments: list[str] = []  # accounts whose opening changed under ``adjust``


def _account_values(a: FixtureAccount) -> dict[str, Any]:
    return {
        "owner_name": a.owner_name,
        "type": a.type,
        "real_name_verified": a.real_name_verified,
        "status": a.status,
        "identity_id": a.identity_id,
        "security_phone": a.security_phone,
        "master_account_id": a.master_account_id,
        "transfer_in_fen": a.transfer_in.fen,
        "owed_invoice_fen": a.owed_invoice.fen,
        "overdue_fen": a.overdue.fen,
        "unsettled_fen": a.unsettled.fen,
    }


def _order_values(o: FixtureRechargeOrder) -> dict[str, Any]:
    return {
        "account_id": o.account_id,
        "amount_fen": o.amount.fen,
        "channel": o.channel,
        "bank": o.bank,
        "paid_at": utc(o.paid_at),
    }


def _upsert(
    session: Session,
    table: type[SQLModel],
    row_id: str,
    values: dict[str, Any],
    counts: UpsertCounts,
) -> None:
    row = session.get(table, row_id)
    if row is None:
        session.add(table(id=row_id, **values))
        counts.created += 1
        return
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        counts.unchanged += 1
        return
    for key, value in changed.items():
        setattr(row, key, value)
    counts.updated += 1


def opening_of(session: Session, account_id: str) -> int:
    """The account's opening balance as the ledger has it: opening plus adjustments (fen)."""
    credit = _entry_sum(session, account_id, Direction.CREDIT)
    debit = _entry_sum(session, account_id, Direction.DEBIT)
    return credit - debit


def _entry_sum(session: Session, account_id: str, direction: Direction) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
            LedgerEntry.account_id == account_id,
            col(LedgerEntry.type).in_([EntryType.OPENING.value, EntryType.ADJUSTMENT.value]),
            LedgerEntry.direction == direction.value,
        )
    ).one()
    return int(total)


def _check_openings(session: Session, fixture: Fixture, adjust: bool) -> None:
    """A different opening for an existing account is refused unless ``adjust``; an
    adjustment may never take cash below what withdrawals in flight hold."""
    for i, account in enumerate(fixture.accounts):
        existing = session.get(Account, account.id)
        if existing is None:
            continue
        opening = opening_of(session, account.id)
        difference = account.cash.fen - opening
        if difference == 0:
            continue
        if not adjust:
            raise InputError(
                f"accounts[{i}].cash",
                f"account {account.id} already has an opening balance of {Money(opening)}; "
                f"the ledger owns it now ({Money(existing.cash_fen)} today). Give --adjust "
                "to write an audited adjustment entry for the difference",
            )
        if existing.cash_fen + difference < existing.held_fen:
            raise InputError(
                f"accounts[{i}].cash",
                f"account {account.id}: the adjustment would leave less than the "
                f"{Money(existing.held_fen)} held by withdrawals in flight",
            )


def _write_opening(session: Session, account: Account, amount_fen: int, at: datetime) -> None:
    account.cash_fen = amount_fen
    if amount_fen > 0:  # an entry is never zero
        session.add(
            LedgerEntry(
                account_id=account.id,
                type=EntryType.OPENING.value,
                direction=Direction.CREDIT.value,
                amount_fen=amount_fen,
                balance_after_fen=amount_fen,
                at=at,
                note="opening balance",
            )
        )


def _adjust(session: Session, account: Account, difference_fen: int, at: datetime) -> None:
    account.cash_fen += difference_fen
    session.add(
        LedgerEntry(
            account_id=account.id,
            type=EntryType.ADJUSTMENT.value,
            direction=Direction.CREDIT.value if difference_fen > 0 else Direction.DEBIT.value,
            amount_fen=abs(difference_fen),
            balance_after_fen=account.cash_fen,
            at=at,
            note="opening balance adjusted by load --adjust",
        )
    )
    audit.append(
        session,
        actor="load",
        action="ledger.adjust",
        subject=account.id,
        outcome="adjusted",
        detail=f"opening balance {'+' if difference_fen > 0 else '-'}"
        f"{Money(abs(difference_fen))}; cash now {Money(account.cash_fen)}",
        at=at,
    )


def _check_references(session: Session, fixture: Fixture) -> None:
    """Refuse the whole file if a row points at an account that exists nowhere."""
    in_file = {a.id for a in fixture.accounts}

    def known(account_id: str) -> bool:
        return account_id in in_file or session.get(Account, account_id) is not None

    for i, account in enumerate(fixture.accounts):
        if account.master_account_id and not known(account.master_account_id):
            raise InputError(
                f"accounts[{i}].master_account_id",
                f"no account {account.master_account_id!r} in the file or the database",
            )
        for j, resource in enumerate(account.payg_resources):
            row = session.get(PaygResource, resource.id)
            if row is not None and row.account_id != account.id:
                raise InputError(
                    f"accounts[{i}].payg_resources[{j}].id",
                    f"resource {resource.id!r} belongs to account {row.account_id!r}",
                )
    for i, order in enumerate(fixture.recharge_orders):
        if not known(order.account_id):
            raise InputError(
                f"recharge_orders[{i}].account_id",
                f"no account {order.account_id!r} in the file or the database",
            )
        existing_order = session.get(RechargeOrder, order.id)
        if existing_order is None:
            continue
        used = existing_order.withdrawn_fen + existing_order.held_fen
        if used and existing_order.account_id != order.account_id:
            raise InputError(
                f"recharge_orders[{i}].account_id",
                "the order already has withdrawals; it cannot move to another account",
            )
        if order.amount.fen < used:
            raise InputError(
                f"recharge_orders[{i}].amount",
                f"less than the {Money(used)} already withdrawn or held from it (R5)",
            )


def load_fixture(
    session: Session,
    fixture: Fixture,
    *,
    adjust: bool = False,
    now: datetime | None = None,
    require_identity: bool = False,
) -> LoadSummary:
    """Upsert accounts, payg resources, recharge orders and reviewers; idempotent.

    Pay-as-you-go resources missing from the file are kept, not deleted: the file says
    what exists, not what stopped existing (a release is ``released_at``). An account's
    ``cash`` is its opening balance (see the module docstring). A reviewer's password is
    set only when the reviewer is new, and ``enabled`` never (``ledger.reviewers``).
    ``require_identity`` (production) refuses a reviewer without ``identity_id``; an
    existing reviewer's role or identity is never changed (``reviewers.load_change_problem``).
    """
    at = utc(now or datetime.now(UTC))
    for i, reviewer in enumerate(fixture.reviewers):
        problem = reviewers.identity_problem(
            reviewer.identity_id, f"reviewers[{i}].identity_id", require_identity
        ) or reviewers.load_change_problem(session, reviewer, i)
        if problem is not None:
            raise problem.error()
    _check_references(session, fixture)
    _check_openings(session, fixture, adjust)
    summary = LoadSummary()
    for account in fixture.accounts:
        new = session.get(Account, account.id) is None
        difference = 0 if new else account.cash.fen - opening_of(session, account.id)
        counts = UpsertCounts()
        _upsert(session, Account, account.id, _account_values(account), counts)
        session.flush()
        row = session.get(Account, account.id)
        assert row is not None
        if new:
            _write_opening(session, row, account.cash.fen, at)
        elif difference != 0:  # only with ``adjust``: checked above
            _adjust(session, row, difference, at)
            summary.adjustments.append(account.id)
            counts = UpsertCounts(updated=1)
        summary.accounts.created += counts.created
        summary.accounts.updated += counts.updated
        summary.accounts.unchanged += counts.unchanged
    session.flush()  # accounts first: orders and resources reference them
    for account in fixture.accounts:
        for resource in account.payg_resources:
            values = {
                "account_id": account.id,
                "released_at": utc(resource.released_at) if resource.released_at else None,
            }
            _upsert(session, PaygResource, resource.id, values, summary.payg_resources)
    for order in fixture.recharge_orders:
        _upsert(session, RechargeOrder, order.id, _order_values(order), summary.recharge_orders)
    for reviewer in fixture.reviewers:
        summary.reviewers.count(reviewers.load_reviewer(session, reviewer, at))
    session.flush()
    return summary
