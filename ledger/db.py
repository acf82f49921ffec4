"""Engines, sessions and transactions.

Every command brings the database schema up to date on first use (docs/interface.md), so
``get_engine`` runs the Alembic migrations the first time a process opens a URL.
Writers serialise on a real lock: ``SELECT … FOR UPDATE`` on PostgreSQL and, on SQLite,
a write lock taken at ``BEGIN IMMEDIATE``; conflicts that remain (deadlocks,
serialization failures, a busy SQLite file) are retried a bounded number of times.
Read-only look-ups (``read_only_session``, ``run_read_only``) take no write lock: on
SQLite a deferred ``BEGIN`` reads a WAL snapshot while a writer works.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

DEFAULT_DATABASE_URL = "sqlite:///.data/withdrawals.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
TRANSACTION_MAX_ATTEMPTS = 8
TRANSACTION_RETRY_BASE_SECONDS = 0.01
TRANSACTION_RETRY_MAX_SECONDS = 0.5
# Execution option that marks a connection's transactions as read-only (no write lock).
READ_ONLY_OPTION = "withdrawals_read_only"
# PostgreSQL SQLSTATEs that mean "try the whole transaction again".
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
# SQLite's errors that mean "not now" rather than "wrong statement".
SQLITE_UNAVAILABLE_SIGNS = (
    "database is locked",
    "database is busy",
    "unable to open database file",
    "disk i/o error",
)

P = ParamSpec("P")
T = TypeVar("T")

_engines: dict[str, Engine] = {}
_read_only_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()
_writer_turns: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def database_url() -> str:
    """``DATABASE_URL`` or the local SQLite file, normalised for the drivers we ship."""
    url = normalise_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default ``database_url()``), schema at head."""
    key = normalise_url(url) if url else database_url()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(key)
            # Imported here: migrations import the tables, which import this package.
            from ledger.migrate import upgrade_to_head

            upgrade_to_head(engine)
            _engines[key] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close and forget the engine of ``url`` (before its database is dropped)."""
    with _engines_lock:
        engine = _engines.pop(normalise_url(url), None)
    if engine is not None:
        _read_only_engines.pop(engine, None)  # its variant refers to it: let both go
        engine.dispose()


def dispose_engines() -> None:
    """Forget every cached engine (tests drop their databases afterwards)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _read_only_engines.clear()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, hide_parameters=True
        )
        _configure_sqlite(engine)
        _writer_turns[engine] = threading.RLock()
        return engine
    # pool_pre_ping: a connection the server cut (a restart, an outage) is found dead
    # when taken from the pool and replaced, never handed to a transaction.
    # connect_timeout: a server that does not answer at all (a network partition, not a
    # refusal) fails a connect in seconds instead of the system's minutes, so the API
    # answers 503 and activities retry. A ``connect_timeout`` in the URL wins.
    # hide_parameters: an error's text would otherwise carry the bound values (a payee's
    # account number and name) into whatever logs it.
    connect_args = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)


def _configure_sqlite(engine: Engine) -> None:
    """WAL so readers never block the writer; BEGIN IMMEDIATE so writers queue at BEGIN.

    With pysqlite's default deferred BEGIN, two transactions can both read the balance
    and then race for the write lock: one of them fails instead of waiting, or worse,
    both decide on stale numbers. Taking the lock at BEGIN makes reserve (R14) serial.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")  # deferred: a snapshot, never the write lock
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back if it raises."""
    with _writer_turn(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """SQLite: this process's writers take turns here before ``BEGIN IMMEDIATE``.

    SQLite has one write lock, and a writer that finds it taken sleeps in steps (1, 2,
    5, 10 … ms) before looking again, so under load a transaction often waited several
    ms after the lock was free (p99 10 ms, up to 130 ms, at 5 withdrawals/s). A lock in
    the process wakes the next writer as soon as the last commits. Other processes
    (the API, the CLI) still meet at SQLite's lock. Reentrant: a nested scope behaves
    as before (SQLite's lock decides). Never longer than SQLite's own busy timeout.
    """
    turn = _writer_turns.get(engine)
    if turn is None:
        yield
        return
    taken = turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    try:
        yield
    finally:
        if taken:
            turn.release()


class ReadOnlyViolation(RuntimeError):
    """A read-only transaction tried to change something."""


@contextmanager
def read_only_session(engine: Engine) -> Iterator[Session]:
    """One read-only transaction: never takes SQLite's write lock, always rolls back.

    For look-ups that decide nothing (status, lists, the withdrawable breakdown shown to
    a user, the transfer request read before a payout). Anything that checks and then
    writes (reserve, R14) must use ``session_scope``: its lock makes the check hold.
    """
    # Closing (not rolling back) ends the transaction without expiring what was read, so
    # the rows stay readable after the block, as with ``session_scope``.
    with Session(_read_only(engine)) as session:
        yield session
        if session.new or session.dirty or session.deleted:
            raise ReadOnlyViolation("a read-only transaction has pending changes")


def _read_only(engine: Engine) -> Engine:
    """The engine's read-only variant (same pool), made once per engine."""
    variant = _read_only_engines.get(engine)
    if variant is None:
        variant = engine.execution_options(**{READ_ONLY_OPTION: True})
        _read_only_engines[engine] = variant
    return variant


def run_read_only(
    engine: Engine,
    fn: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``fn(session, …)`` in one read-only transaction (``read_only_session``)."""
    with read_only_session(engine) as session:
        return fn(session, *args, **kwargs)


def is_retryable(error: BaseException) -> bool:
    """A lock conflict worth retrying: never a business refusal or a constraint failure."""
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    if isinstance(error, OperationalError):
        text = str(error.orig).lower()
        return "database is locked" in text or "database is busy" in text
    return False


def is_unavailable(error: BaseException) -> bool:
    """The database cannot serve right now (stopped, restarting, the connection cut, no
    pooled connection in time, a lock or a statement given up): worth asking again in a
    moment, never a fault of the request. The HTTP API answers these 503 + Retry-After;
    an activity's step tries again for a while, then fails and Temporal retries it
    (``activities.base.database_step``)."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        # SQLite calls a missing table or a syntax error "operational" too: those are bugs.
        text = str(error.orig).lower()
        return any(sign in text for sign in SQLITE_UNAVAILABLE_SIGNS)
    return True  # PostgreSQL: connection failures, shutdowns, cancels, lock and retry states


def run_in_transaction(
    engine: Engine,
    fn: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run ``fn(session, *args, **kwargs)`` in one transaction, retrying lock conflicts.

    ``fn`` must be safe to run again from scratch: everything it did in a failed attempt
    was rolled back. Gives up after ``TRANSACTION_MAX_ATTEMPTS`` and re-raises.
    """
    for attempt in range(1, TRANSACTION_MAX_ATTEMPTS + 1):
        try:
            with session_scope(engine) as session:
                return fn(session, *args, **kwargs)
        except DBAPIError as error:
            if attempt == TRANSACTION_MAX_ATTEMPTS or not is_retryable(error):
                raise
            delay = min(TRANSACTION_RETRY_MAX_SECONDS, TRANSACTION_RETRY_BASE_SECONDS * 2**attempt)
            time.sleep(delay * random.uniform(0.5, 1.0))  # jitter: colliding retries spread out
    raise AssertionError("unreachable: the last attempt returns or raises")
