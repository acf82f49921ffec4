"""Two attempts of one code check at once (a first attempt past its start-to-close
timeout while the server starts the next): the check counts once, audits once, and the
second answers as the first (R15). PostgreSQL only: SQLite's ``BEGIN IMMEDIATE`` lets one
writer in at a time."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, text
from sqlmodel import Session

from ledger import audit
from ledger import verification_codes as codes
from ledger.db import dispose_engine, get_engine, run_in_transaction
from models.messages import CodeCheck
from tests.ledger.test_status_with_step import CODE, KEY, NOW, _opened

WAIT_SECONDS = 10.0


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_two_attempts_of_one_code_check_at_once_count_and_audit_once(postgres_url: str) -> None:
    engine = get_engine(postgres_url)
    try:
        wid = _opened(engine, "w-code-race").withdrawal_id
        check = CodeCheck(withdrawal_id=wid, code=CODE, at=NOW, attempt=1)
        second: dict[str, bool] = {}
        with Session(engine) as first:
            assert codes.check_code(first, check, KEY, NOW)  # not committed yet
            racer = threading.Thread(
                target=lambda: second.update(
                    ok=run_in_transaction(engine, codes.check_code, check, KEY, NOW)
                )
            )
            racer.start()
            deadline = time.monotonic() + WAIT_SECONDS
            while not _waiting_on_a_lock(engine) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _waiting_on_a_lock(engine), "the second attempt never met the first"
            first.commit()
        racer.join(WAIT_SECONDS)

        assert second == {"ok": True}  # answered as the first attempt
        with Session(engine) as session:
            checks = [e for e in audit.entries(session, wid) if e.action == "code.check"]
            assert len(checks) == 1
            assert audit.verify(session).ok
    finally:
        dispose_engine(postgres_url)
