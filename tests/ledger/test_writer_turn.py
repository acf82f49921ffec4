"""SQLite: this process's writers take turns before ``BEGIN IMMEDIATE`` (``ledger.db``), so
a waiting writer goes the moment the last one commits instead of sleeping in SQLite's
busy handler; PostgreSQL's writers are not serialised at all."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from ledger.db import get_engine, session_scope

# SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between looks: a writer that
# found the lock taken for 60 ms usually looked again well after it was free.
# With the first writer holding 60 ms, the second looks at 53 and 78 ms: 15 ms or more late.
HOLD_SECONDS = 0.06
PROMPT_SECONDS = 0.005


def _writer_waits_for(url: str) -> tuple[float, bool]:
    """Seconds from the first writer's commit to the second writer's first statement,
    and whether the second writer was already waiting before that commit."""
    engine = get_engine(url)
    holding = threading.Event()
    committed_at: list[float] = []
    started_at: list[float] = []
    entered = threading.Event()

    def first() -> None:
        with session_scope(engine) as session:
            session.execute(text("UPDATE account SET status = status WHERE 1 = 0"))
            holding.set()
            time.sleep(HOLD_SECONDS)
        committed_at.append(time.perf_counter())

    def second() -> None:
        holding.wait()
        entered.set()
        with session_scope(engine) as session:
            session.execute(text("SELECT 1"))
            started_at.append(time.perf_counter())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert entered.is_set() and committed_at and started_at
    return started_at[0] - committed_at[0], started_at[0] < committed_at[0]


def test_a_waiting_writer_goes_as_soon_as_the_last_one_commits(sqlite_url: str) -> None:
    waits = [_writer_waits_for(sqlite_url) for _ in range(5)]
    assert not any(overlapped for _, overlapped in waits), "two writers at once on SQLite"
    typical = sorted(wait for wait, _ in waits)[len(waits) // 2]  # one slow wake-up is noise
    assert typical < PROMPT_SECONDS, f"the second writer started {typical * 1000:.1f} ms late"


def test_a_nested_scope_in_the_same_thread_is_not_stopped_at_the_turn(sqlite_url: str) -> None:
    """Reentrant: code that opened a scope inside another (a read in a test, say) meets
    SQLite's own lock as before, never a deadlock of its own making."""
    engine = get_engine(sqlite_url)
    began = time.perf_counter()
    with session_scope(engine) as outer:
        outer.execute(text("SELECT 1"))
        with session_scope(engine) as inner:  # no statement: SQLite's lock is not asked
            assert inner is not outer
    assert time.perf_counter() - began < 1.0, "the nested scope waited for its own turn"
