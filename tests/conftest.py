"""Database fixtures the whole suite shares: a fresh SQLite file or PostgreSQL database.

``postgres_url`` is ``wd_test_<random>`` on the server at ``TEST_POSTGRES_URL`` (default
127.0.0.1:5432, user postgres): created and migrated once per session, emptied before
each test, dropped at the end. ``empty_postgres_url`` is a new database with no schema.
An unreachable server skips those tests locally but fails them under CI (env ``CI``
set), so CI can never pass by silently testing SQLite only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine

from ledger.db import dispose_engine, get_engine

# Workers the tests spawn serve metrics on a port of their own (0: any free one), never
# on make run's 9464 (a test that scrapes sets METRICS_PORT to a port it chose).
os.environ.setdefault("METRICS_PORT", "0")

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_CONNECT_TIMEOUT_SECONDS = 3
# A test that leaked an open transaction makes the next TRUNCATE fail, not hang.
POSTGRES_LOCK_TIMEOUT_SECONDS = 5


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS
    )


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin DSN, once the server answered; skip (or fail under CI) if it does not."""
    try:
        with _admin_connection() as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL unreachable at {POSTGRES_ADMIN_DSN}: {error}".strip()
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return POSTGRES_ADMIN_DSN


def _database_url(admin_dsn: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    port = info.get("port", 5432)
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{name}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test (the schema is created on first ``get_engine``)."""
    return f"sqlite:///{tmp_path / 'withdrawals.db'}"


def _create_database(name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin_connection() as connection:
        connection.execute(statement)


def _drop_database(name: str) -> None:
    with _admin_connection() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def postgres_session_database(postgres_server: str) -> Iterator[str]:
    """One database for the session, migrated once; dropped at the end."""
    name = f"wd_test_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    url = _database_url(postgres_server, name)
    try:
        get_engine(url)
        yield url
    finally:
        dispose_engine(url)
        _drop_database(name)


def _empty_tables(url: str) -> None:
    """TRUNCATE every table but Alembic's: 20 ms, where a new database costs 300 ms."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"SET lock_timeout = '{POSTGRES_LOCK_TIMEOUT_SECONDS}s'")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
            connection.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))


@pytest.fixture
def empty_postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database with no tables at all, dropped afterwards."""
    name = f"wd_test_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    url = _database_url(postgres_server, name)
    try:
        yield url
    finally:
        dispose_engine(url)
        _drop_database(name)


@pytest.fixture
def postgres_url(postgres_session_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, schema at head and every table empty."""
    _empty_tables(postgres_session_database)
    yield postgres_session_database
    dispose_engine(postgres_session_database)  # no connection survives into the next test


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs on both backends."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """Like ``db_url``, but no schema yet on either backend (for migration tests)."""
    name = "sqlite_url" if request.param == "sqlite" else "empty_postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The engine for ``db_url``, schema migrated to head."""
    engine = get_engine(db_url)
    yield engine
    dispose_engine(db_url)


@pytest.fixture
def next_years_covered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``HOLIDAYS_FILE`` covering the next years, for tests of ``attention`` that run on the
    real clock: in December the missing-calendar item (issue 26) would join their list."""
    from tests.calendars import covering_next_years

    path = covering_next_years(tmp_path)
    monkeypatch.setenv("HOLIDAYS_FILE", str(path))
    return path
