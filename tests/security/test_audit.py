"""The audit trail is append-only and hash-chained: a tampered, removed or inserted row
is found by ``audit verify`` (exit 4), and concurrent writers never fork the chain.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from ledger import audit
from ledger.db import run_in_transaction, session_scope
from service.cli.app import main as cli
from service.cli.command import Context

WRITERS = 4
ROWS_PER_WRITER = 15


def write(engine: Engine, count: int, actor: str = "tester") -> None:
    def one(session: Session, index: int) -> None:
        audit.append(
            session,
            actor=actor,
            action="test.write",
            subject=f"w-{index}",
            outcome="ok",
            detail=f"row {index} by {actor}",
            at=datetime.now(UTC),
        )

    for index in range(count):
        run_in_transaction(engine, one, index)


def verify_cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    status = cli(["audit", "verify", "--json"], Context(database_url=db_url))
    return status, json.loads(capsys.readouterr().out)


@contextmanager
def tampering(engine: Engine) -> Iterator[Session]:
    """What a tamperer with database rights would do: lift the append-only guard first.

    PostgreSQL's test database outlives the test, so its guard is put back afterwards.
    """
    postgres = engine.dialect.name == "postgresql"
    try:
        with session_scope(engine) as session:
            if postgres:
                session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            else:
                session.execute(text("DROP TRIGGER audit_log_no_update"))
                session.execute(text("DROP TRIGGER audit_log_no_delete"))
            yield session
    finally:
        if postgres:
            with session_scope(engine) as session:
                session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def test_an_intact_chain_verifies(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(engine, 5)
    status, report = verify_cli(db_url, capsys)
    assert status == 0
    assert report["ok"] is True and report["rows"] == 5 and report["broken_at"] is None
    with session_scope(engine) as session:
        rows = audit.entries(session)
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))


@pytest.mark.parametrize(
    "tamper, broken_at",
    [
        ("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3", 3),
        ("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2", 2),
        ("DELETE FROM audit_log WHERE seq = 4", 4),
    ],
)
def test_a_tampered_row_is_reported_with_exit_4(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    tamper: str,
    broken_at: int,
) -> None:
    write(engine, 6)
    with tampering(engine) as session:
        session.execute(text(tamper))
    status, report = verify_cli(db_url, capsys)
    assert status == 4
    assert report["ok"] is False and report["broken_at"] == broken_at
    assert report["rows"] == broken_at - 1


def test_a_row_rehashed_after_editing_still_breaks_the_next_link(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(engine, 4)
    with tampering(engine) as session:
        row = audit.entries(session)[1]
        row.detail = "rewritten"
        row.hash = audit.row_hash(row)
        session.add(row)
    status, report = verify_cli(db_url, capsys)
    assert status == 4 and report["broken_at"] == 3


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET outcome = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"],
)
def test_the_database_refuses_to_change_or_remove_a_row(engine: Engine, statement: str) -> None:
    write(engine, 1)
    with pytest.raises(DBAPIError, match="append-only"), session_scope(engine) as session:
        session.execute(text(statement))


def test_concurrent_writers_never_fork_the_chain(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = [
        threading.Thread(target=write, args=(engine, ROWS_PER_WRITER, f"writer-{n}"))
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    status, report = verify_cli(db_url, capsys)
    assert status == 0, report
    assert report["rows"] == WRITERS * ROWS_PER_WRITER
