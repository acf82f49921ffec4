"""A database step of an activity rides out a short outage inside its attempt (issue 26,
item 4): it tries again every poll while the database is away, so it resumes within a
poll of the return instead of at Temporal's next retry (by then up to 30 s apart); past
its bound, or for any other error, it raises at once and Temporal's retries take over."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from activities import base
from activities.base import database_step

POLL_SECONDS = 0.01


def _connection_refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


class FlakyDatabase:
    """Fails ``outage`` times with ``error``, then answers."""

    def __init__(self, outage: int, error: Exception) -> None:
        self.outage, self.error, self.calls = outage, error, 0

    def step(self) -> str:
        self.calls += 1
        if self.calls <= self.outage:
            raise self.error
        return "done"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "DATABASE_AWAY_POLL_SECONDS", POLL_SECONDS)


async def test_a_step_resumes_when_the_database_returns() -> None:
    database = FlakyDatabase(outage=5, error=_connection_refused())
    assert await database_step(database.step) == "done"
    assert database.calls == 6


async def test_a_step_gives_up_after_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "DATABASE_AWAY_WAIT_SECONDS", 0.1)
    database = FlakyDatabase(outage=10_000, error=_connection_refused())
    started = time.monotonic()
    with pytest.raises(OperationalError):
        await database_step(database.step)
    assert time.monotonic() - started < 1.0 and database.calls > 1


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
        OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: hold")),
        ValueError("a bug"),
    ],
    ids=["integrity", "sqlite-missing-table", "other"],
)
async def test_other_errors_are_raised_at_once(error: Exception) -> None:
    database = FlakyDatabase(outage=1, error=error)
    with pytest.raises(type(error)):
        await database_step(database.step)
    assert database.calls == 1
