"""``load``: upsert a validated fixture in one transaction (docs/interface.md fixture format).

Everything is checked against the database before the first write, so bad input changes
nothing; re-loading the same file reports every row unchanged. Money already moved by
withdrawals (``held_fen``, ``withdrawn_fen``) is never overwritten: a fixture that would
leave less than is held or taken is refused instead.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, SQLModel

from ledger.tables import Account, PaygResource, RechargeOrder, Reviewer
from ledger.types import utc
from models.errors import InputError
from models.fixtures import Fixture, FixtureAccount, FixtureRechargeOrder
from models.money import Money


class UpsertCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class LoadSummary(BaseModel):
    """What ``load`` did, per kind of row."""

    accounts: UpsertCounts = UpsertCounts()
    recharge_orders: UpsertCounts = UpsertCounts()
    payg_resources: UpsertCounts = UpsertCounts()
    reviewers: UpsertCounts = UpsertCounts()


def _account_values(a: FixtureAccount) -> dict[str, Any]:
    return {
        "owner_name": a.owner_name,
        "type": a.type.value,
        "real_name_verified": a.real_name_verified,
        "status": a.status.value,
        "identity_id": a.identity_id,
        "security_phone": a.security_phone,
        "master_account_id": a.master_account_id,
        "cash_fen": a.cash.fen,
        "transfer_in_fen": a.transfer_in.fen,
        "owed_invoice_fen": a.owed_invoice.fen,
        "overdue_fen": a.overdue.fen,
        "unsettled_fen": a.unsettled.fen,
    }


def _order_values(o: FixtureRechargeOrder) -> dict[str, Any]:
    return {
        "account_id": o.account_id,
        "amount_fen": o.amount.fen,
        "channel": o.channel.value,
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
        existing = session.get(Account, account.id)
        if existing is not None and account.cash.fen < existing.held_fen:
            raise InputError(
                f"accounts[{i}].cash",
                f"less than the {Money(existing.held_fen)} held by withdrawals in flight",
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


def load_fixture(session: Session, fixture: Fixture) -> LoadSummary:
    """Upsert accounts, payg resources, recharge orders and reviewers; idempotent.

    Pay-as-you-go resources missing from the file are kept, not deleted: the file says
    what exists, not what stopped existing (a release is ``released_at``).
    """
    _check_references(session, fixture)
    summary = LoadSummary()
    for account in fixture.accounts:
        _upsert(session, Account, account.id, _account_values(account), summary.accounts)
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
        values = {"name": reviewer.name, "role": reviewer.role}
        _upsert(session, Reviewer, reviewer.id, values, summary.reviewers)
    session.flush()
    return summary
