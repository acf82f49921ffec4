"""The audit trail is append-only and hash-chained, one chain per withdrawal plus anchors
over the chains' heads: a tampered, removed or inserted row, a chain cut short or removed
after an anchor, or a tampered anchor is found by ``audit verify`` (exit 4), and
concurrent writers never fork a chain. Runs on SQLite and PostgreSQL."""

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

from cli.app import main as cli
from cli.command import Context
from ledger import audit
from ledger.db import run_in_transaction, session_scope

WRITERS = 4
ROWS_PER_WRITER = 15
CHAINS = ("w-a", "w-b", "w-c")
GUARDED_TABLES = ("audit_log", "audit_anchor", "audit_anchor_head")


def write(
    engine: Engine, count: int, actor: str = "tester", chains: tuple[str, ...] = CHAINS
) -> None:
    """``count`` rows spread round-robin over ``chains`` (one chain per withdrawal)."""

    def one(session: Session, index: int) -> None:
        audit.append(
            session,
            actor=actor,
            action="test.write",
            subject=chains[index % len(chains)],
            outcome="ok",
            detail=f"row {index} by {actor}",
            at=datetime.now(UTC),
        )

    for index in range(count):
        run_in_transaction(engine, one, index)


def anchor(engine: Engine) -> audit.Anchored | None:
    return run_in_transaction(engine, audit.anchor)


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
            for table in GUARDED_TABLES:
                if postgres:
                    session.execute(
                        text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
                    )
                else:
                    session.execute(text(f"DROP TRIGGER {table}_no_update"))
                    session.execute(text(f"DROP TRIGGER {table}_no_delete"))
            yield session
    finally:
        if postgres:
            with session_scope(engine) as session:
                for table in GUARDED_TABLES:
                    session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))


def test_an_intact_chain_verifies(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(engine, 6)
    anchor(engine)
    write(engine, 2)  # rows after the newest anchor verify too
    status, report = verify_cli(db_url, capsys)
    assert status == 0
    assert report["ok"] is True and report["rows"] == 8 and report["broken_at"] is None
    assert report["chains"] == 3 and report["anchors"] == 1
    with session_scope(engine) as session:
        rows = audit.entries(session)
    for chain in CHAINS:
        own = [row for row in rows if row.chain == chain]
        assert [row.chain_seq for row in own] == list(range(1, len(own) + 1))
        assert own[0].prev_hash == audit.GENESIS_HASH
        assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(own))


def _seq_of(engine: Engine, chain: str, chain_seq: int) -> int:
    with session_scope(engine) as session:
        (row,) = [r for r in audit.entries(session) if (r.chain, r.chain_seq) == (chain, chain_seq)]
        return row.seq


@pytest.mark.parametrize(
    "tamper, chain_seq",
    [
        ("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = :seq", 2),
        ("UPDATE audit_log SET actor = 'someone-else' WHERE seq = :seq", 1),
        ("UPDATE audit_log SET chain = 'w-moved' WHERE seq = :seq", 3),
        ("DELETE FROM audit_log WHERE seq = :seq", 2),
    ],
)
def test_a_tampered_row_is_reported_with_exit_4(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    tamper: str,
    chain_seq: int,
) -> None:
    write(engine, 12)  # four rows in each of three chains
    seq = _seq_of(engine, "w-b", chain_seq)
    with tampering(engine) as session:
        session.execute(text(tamper), {"seq": seq})
    status, report = verify_cli(db_url, capsys)
    assert status == 4
    assert report["ok"] is False and report["broken_chain"] == "w-b"
    assert report["broken_chain_seq"] == chain_seq
    assert report["broken_at"] in (seq, None)  # None: the row that should be there is gone


def test_a_row_rehashed_after_editing_still_breaks_the_next_link(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(engine, 9)
    with tampering(engine) as session:
        row = [r for r in audit.entries(session) if r.chain == "w-a"][1]
        row.detail = "rewritten"
        row.hash = audit.row_hash(row)
        session.add(row)
    status, report = verify_cli(db_url, capsys)
    assert status == 4 and report["broken_chain"] == "w-a" and report["broken_chain_seq"] == 3


def test_a_whole_chain_rehashed_disagrees_with_its_anchor(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Links alone cannot catch a tamperer who rewrites a chain to its end; the anchor does."""
    write(engine, 6)
    anchor(engine)
    with tampering(engine) as session:
        own = [r for r in audit.entries(session) if r.chain == "w-a"]
        prev_hash = audit.GENESIS_HASH
        for row in own:
            row.detail = "rewritten"
            row.prev_hash = prev_hash
            row.hash = prev_hash = audit.row_hash(row)
            session.add(row)
    status, report = verify_cli(db_url, capsys)
    assert status == 4 and report["broken_chain"] == "w-a"
    assert "anchored" in str(report["problem"])


@pytest.mark.parametrize("cut", ["tail", "whole chain"])
def test_an_anchored_chain_cut_short_or_removed_is_reported(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], cut: str
) -> None:
    write(engine, 6)
    anchor(engine)
    statement = "DELETE FROM audit_log WHERE chain = 'w-c'"
    if cut == "tail":
        statement += " AND chain_seq = 2"
    with tampering(engine) as session:
        session.execute(text(statement))
    status, report = verify_cli(db_url, capsys)
    assert status == 4 and report["broken_chain"] == "w-c"


def test_a_tampered_anchor_is_reported(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(engine, 3)
    anchor(engine)
    write(engine, 3)
    anchor(engine)
    with tampering(engine) as session:
        session.execute(text("UPDATE audit_anchor_head SET chain_seq = 1 WHERE anchor_id = 2"))
    status, report = verify_cli(db_url, capsys)
    assert status == 4 and report["broken_chain"] == "anchor"


def test_an_anchor_records_only_the_chains_that_grew(engine: Engine) -> None:
    write(engine, 3)
    first = anchor(engine)
    assert first is not None and first.heads == 3
    assert anchor(engine) is None  # nothing grew: no empty anchor
    write(engine, 1, chains=("w-b",))
    second = anchor(engine)
    assert second is not None and second.id == 2 and second.heads == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'x' WHERE chain_seq = 1",
        "DELETE FROM audit_log WHERE chain_seq = 1",
        "UPDATE audit_anchor SET heads = 0",
        "DELETE FROM audit_anchor_head",
    ],
)
def test_the_database_refuses_to_change_or_remove_a_row(engine: Engine, statement: str) -> None:
    write(engine, 1)
    anchor(engine)
    with pytest.raises(DBAPIError, match="append-only"), session_scope(engine) as session:
        session.execute(text(statement))


def test_concurrent_writers_never_fork_a_chain(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writers share chains here (the lock is per chain), and anchor while they write."""
    threads = [
        threading.Thread(target=write, args=(engine, ROWS_PER_WRITER, f"writer-{n}"))
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    anchor(engine)
    for thread in threads:
        thread.join(timeout=120)
    anchor(engine)
    status, report = verify_cli(db_url, capsys)
    assert status == 0, report
    assert report["rows"] == WRITERS * ROWS_PER_WRITER and report["chains"] == len(CHAINS)
