"""Column types the ledger needs beyond SQLAlchemy's defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class NaiveDatetimeError(ValueError):
    """A naive datetime reached the database: its instant is ambiguous."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored as UTC and always read back aware.

    SQLite has no timezone type and silently drops the offset, and PostgreSQL returns
    ``timestamptz`` in the session's zone; normalising both ways to UTC means a time
    compares and serialises the same on every backend. Naive datetimes are refused
    because guessing their zone is how a 30-day limit (R8) ends up off by 8 hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value.isoformat()} has no timezone")
        utc = value.astimezone(UTC)
        # SQLite stores the text without an offset: store the UTC wall time.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A ``StrEnum`` member stored as its value in a plain ``VARCHAR(length)``.

    Rows come back as members, so callers stop converting ``Status(row.status)`` by hand.
    The column stays the string it always was (its allowed values are a CHECK in
    ``ledger.tables``), so no migration is needed. Binding takes a member or a plain
    string, which keeps ``where(Withdrawal.status == "succeeded")`` and loaders that
    write raw values working; a wrong string is still refused by the CHECK.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length  # part of the cache key, with the enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value.value if isinstance(value, Enum) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_cls(value)


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; naive input is refused (see ``UTCDateTime``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"naive datetime {value.isoformat()} has no timezone")
    return value.astimezone(UTC)
