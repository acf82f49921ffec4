"""Which database errors mean "not now" (issue 26, item 4): the HTTP API answers those 503
with Retry-After and Temporal retries the activities that met them; any other database
error is a bug and is never disguised as an outage."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ledger import db
from ledger.db import get_engine, is_unavailable
from tests.faults.private_postgres import refused_postgres_url

# libpq's and psycopg's floor for connect_timeout: a smaller value waits this long.
CONNECT_TIMEOUT_FLOOR_SECONDS = 2
SILENT_SERVER_GIVES_UP_SECONDS = 10.0


def _sqlite_error(message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


def test_a_refused_connection_is_unavailable() -> None:
    url = refused_postgres_url()  # nobody listens
    with pytest.raises(OperationalError) as refused:
        get_engine(url)
    assert is_unavailable(refused.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port whose listener takes connections and never says a word (a partition, a
    hung server); it closes after ``SILENT_SERVER_GIVES_UP_SECONDS`` so nothing hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes the handshake; nobody ever answers
    closing = threading.Timer(SILENT_SERVER_GIVES_UP_SECONDS, listener.close)
    closing.start()
    try:
        yield listener.getsockname()[1]
    finally:
        closing.cancel()
        listener.close()


def test_a_server_that_never_answers_fails_the_connect_in_seconds(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without connect_timeout a connect waits for the server's answer forever; the API
    # would hang instead of answering 503, and activities would time out one by one.
    monkeypatch.setattr(db, "POSTGRES_CONNECT_TIMEOUT_SECONDS", CONNECT_TIMEOUT_FLOOR_SECONDS)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/nobody"
    started = time.monotonic()
    with pytest.raises(OperationalError) as timed_out:
        get_engine(url)
    assert time.monotonic() - started < SILENT_SERVER_GIVES_UP_SECONDS - 2
    assert is_unavailable(timed_out.value)


@pytest.mark.parametrize(
    "error",
    [
        _sqlite_error("database is locked"),
        _sqlite_error("unable to open database file"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
        PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=["sqlite-locked", "sqlite-unopenable", "postgres-cut", "invalidated", "pool-timeout"],
)
def test_not_now_errors_are_unavailable(error: Exception) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        _sqlite_error("no such table: withdrawal"),
        _sqlite_error('near "SELEC": syntax error'),
        IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
        ValueError("not a database error"),
    ],
    ids=["sqlite-missing-table", "sqlite-syntax", "integrity", "other"],
)
def test_bugs_and_refusals_are_not_unavailable(error: Exception) -> None:
    assert not is_unavailable(error)
