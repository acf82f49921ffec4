"""Core statements beside the ORM in one session: what the hot path needs (issue 24).

The hot path (opening, holds, status changes, codes, settlement) reads and writes rows
with SQLAlchemy Core statements built once at module level: no unit of work, no identity
map, rows read as tuples (into transient copies that are never added to the session).
Other code in the same transaction may still hold ORM objects of those rows (an
approval, the CLI), so a Core writer first flushes any pending ORM change (it must not
be written over later) and then brings the session's copy of each row it changed up to
date (``sync_cached``), so no stale object is left behind.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel

M = TypeVar("M", bound=SQLModel)


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def flush_pending(session: Session) -> None:
    """Write the ORM's pending changes before a Core statement reads or overwrites them."""
    if session.new or session.dirty or session.deleted:
        session.flush()


def read_row(session: Session, statement: Any, model: type[M], key: str) -> M | None:
    """One row of ``statement`` (bound ``:key``) as a transient ``model``, or None."""
    row = session.execute(statement, {"key": key}).first()
    return None if row is None else model(**row._mapping)


def sync_cached(session: Session, model: type[SQLModel], key: Any, **values: Any) -> None:
    """A Core statement changed these columns of a row: the session's copy of the row, if
    it has one, now shows them too (as loaded, not as a change to write)."""
    cached = session.identity_map.get(identity_key(model, key))
    if cached is not None:
        for name, value in values.items():
            set_committed_value(cached, name, value)
