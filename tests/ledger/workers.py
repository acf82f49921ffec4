"""Functions run in other processes by the concurrency tests (importable under ``spawn``)."""

from __future__ import annotations

from ledger.db import get_engine, run_in_transaction
from ledger.holds import reserve
from models.errors import InsufficientWithdrawable
from models.money import Money
from tests.ledger.data import NOW


def reserve_many(
    url: str, withdrawal_ids: list[str], order_id: str | None, amount: str
) -> list[str]:
    """Try each reservation in its own transaction; return the ids that got a hold."""
    engine = get_engine(url)
    held: list[str] = []
    for withdrawal_id in withdrawal_ids:
        try:
            run_in_transaction(
                engine,
                reserve,
                withdrawal_id=withdrawal_id,
                account_id="acct-plain",
                order_id=order_id,
                amount=Money.yuan(amount),
                now=NOW,
            )
        except InsufficientWithdrawable:
            continue
        held.append(withdrawal_id)
    engine.dispose()
    return held
