"""Engines and transactions: URL handling and bounded retries of lock conflicts."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from ledger import db
from ledger.accounts import balance_breakdown
from ledger.db import TRANSACTION_MAX_ATTEMPTS, database_url, normalise_url, run_in_transaction
from ledger.tables import Account
from tests.ledger.data import NOW, load


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_default_url_creates_its_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///.data/withdrawals.db"
    assert (tmp_path / ".data").is_dir()


def test_lock_conflicts_are_retried_until_they_clear(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "TRANSACTION_RETRY_BASE_SECONDS", 0.0)
    engine: Engine = db.get_engine(sqlite_url)
    calls: list[int] = []

    def flaky(session: Session) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _locked()
        return "done"

    assert run_in_transaction(engine, flaky) == "done"
    assert len(calls) == 3


def test_retries_are_bounded(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "TRANSACTION_RETRY_BASE_SECONDS", 0.0)
    engine = db.get_engine(sqlite_url)
    calls: list[int] = []

    def always_locked(session: Session) -> None:
        calls.append(1)
        raise _locked()

    with pytest.raises(OperationalError):
        run_in_transaction(engine, always_locked)
    assert len(calls) == TRANSACTION_MAX_ATTEMPTS


def test_constraint_failures_are_not_retried(sqlite_url: str) -> None:
    engine = db.get_engine(sqlite_url)
    calls: list[int] = []

    def broken(session: Session) -> None:
        calls.append(1)
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("CHECK constraint failed"))

    with pytest.raises(IntegrityError):
        run_in_transaction(engine, broken)
    assert len(calls) == 1


# ---- read-only look-ups (issue 17, item 2) --------------------------------------------
READ_WHILE_WRITING_LIMIT_SECONDS = 2.0  # a write-locked read would wait the 30 s busy timeout


def test_a_read_only_lookup_does_not_wait_for_sqlite_s_write_lock(sqlite_url: str) -> None:
    """A writer holds ``BEGIN IMMEDIATE`` (reserve, R14); a status or withdrawable
    look-up still answers at once, from the last committed state."""
    engine = db.get_engine(sqlite_url)
    load(engine)
    with db.session_scope(engine) as writer:
        account = writer.get(Account, "acct-plain")
        assert account is not None
        account.held_fen += 1  # uncommitted: the reader must not see it
        writer.add(account)
        writer.flush()
        started = time.monotonic()
        breakdown = db.run_read_only(engine, balance_breakdown, "acct-plain", NOW)
        assert time.monotonic() - started < READ_WHILE_WRITING_LIMIT_SECONDS
        with db.read_only_session(engine) as reader:
            seen = reader.get(Account, "acct-plain")
            assert seen is not None and seen.held_fen == account.held_fen - 1
        assert breakdown.withdrawable.fen >= 0
        writer.rollback()


def test_a_second_writer_still_waits_for_the_first(sqlite_url: str) -> None:
    """Reserve stays serialised (R14): only reads skip the write lock."""
    engine = db.get_engine(sqlite_url)
    with db.session_scope(engine) as writer:
        writer.execute(text("SELECT 1"))
        blocked = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.1)
        blocked.isolation_level = None
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            blocked.execute("BEGIN IMMEDIATE")
        blocked.close()


def test_a_read_only_session_refuses_to_write(sqlite_url: str) -> None:
    engine = db.get_engine(sqlite_url)
    load(engine)
    with pytest.raises(db.ReadOnlyViolation), db.read_only_session(engine) as reader:
        account = reader.get(Account, "acct-plain")
        assert account is not None
        account.held_fen += 1
        reader.add(account)
