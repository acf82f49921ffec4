"""Engines and transactions: URL handling and bounded retries of lock conflicts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from ledger import db
from ledger.db import TRANSACTION_MAX_ATTEMPTS, database_url, normalise_url, run_in_transaction


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
