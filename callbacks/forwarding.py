"""How many payout callbacks reach one withdrawal's workflow (issue 22).

Each callback forwarded is a ``payout_update`` signal, an event in the withdrawal's
history; a provider that loops (or anyone holding the callback secret) could otherwise
grow that history to Temporal's limit. The count lives in the database
(``callback_forwarding``), so it holds across restarts and across several receivers.
Past ``MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL`` a callback is only counted: the workflow
still learns the transfer's state by polling the provider.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from ledger.db import run_in_transaction
from ledger.tables import CallbackForwarding
from models.limits import MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL

# The column's width, a withdrawal id's longest: a longer key is no withdrawal's.
_ID_CHARS: int = CallbackForwarding.__table__.c.withdrawal_id.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Forwarding:
    """The receiver's answer for one callback: forward it, or hold it back (counted)."""

    forward: bool
    forwarded: int  # forwarded to this withdrawal so far, this one included if forwarded
    held_back: int  # held back so far, this one included if held back


def _take(session: Session, withdrawal_id: str, limit: int) -> Forwarding:
    row = CallbackForwarding
    # One conditional UPDATE: two receivers racing for the last place cannot both win.
    taken = session.execute(
        update(row)
        .where(col(row.withdrawal_id) == withdrawal_id, col(row.forwarded) < limit)
        .values(forwarded=col(row.forwarded) + 1)
        .returning(col(row.forwarded), col(row.held_back))
    ).first()
    if taken is not None:
        return Forwarding(forward=True, forwarded=taken[0], held_back=taken[1])
    held = session.execute(
        update(row)
        .where(col(row.withdrawal_id) == withdrawal_id)
        .values(held_back=col(row.held_back) + 1)
        .returning(col(row.forwarded), col(row.held_back))
    ).first()
    if held is not None:
        return Forwarding(forward=False, forwarded=held[0], held_back=held[1])
    # The withdrawal's first callback (a racing first one: IntegrityError, counted again).
    session.add(row(withdrawal_id=withdrawal_id, forwarded=1))
    session.flush()
    return Forwarding(forward=True, forwarded=1, held_back=0)


def _give_back(session: Session, withdrawal_id: str) -> None:
    row = CallbackForwarding
    session.execute(
        update(row)
        .where(col(row.withdrawal_id) == withdrawal_id, col(row.forwarded) > 0)
        .values(forwarded=col(row.forwarded) - 1)
    )


class CallbackBudget:
    """The per-withdrawal count of callbacks forwarded, in the database."""

    def __init__(self, engine: Engine, limit: int = MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL):
        self._engine = engine
        self.limit = limit

    async def take(self, withdrawal_id: str) -> Forwarding:
        """Count one callback for ``withdrawal_id``: forwarded while under the limit."""
        if len(withdrawal_id) > _ID_CHARS:
            # No withdrawal has such an id: the signal finds no workflow (404), uncounted.
            return Forwarding(forward=True, forwarded=0, held_back=0)
        for _ in range(2):
            try:
                return await asyncio.to_thread(
                    run_in_transaction, self._engine, _take, withdrawal_id, self.limit
                )
            except IntegrityError:  # a concurrent first callback made the row: count again
                continue
        raise RuntimeError(f"callback count of {withdrawal_id} could not be taken")

    async def give_back(self, withdrawal_id: str) -> None:
        """The signal was not delivered (the provider will retry): it did not count."""
        await asyncio.to_thread(run_in_transaction, self._engine, _give_back, withdrawal_id)
