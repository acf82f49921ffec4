"""``python -m bench.ledger_loop [N]``: the ledger's part of one auto-path withdrawal, alone.

The transactions the auto path's activities run (open, count and store the code, check
it, the approved status, the payout's read-only look-up and its audit row, settle), in a
loop on a fresh SQLite file, no Temporal, no HTTP. Prints the process CPU per withdrawal
and the transactions and SQL statements per withdrawal, so a change to the ledger's hot
path is measured apart from the machine's noise (run it before and after, back to back).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from ledger import opening, payouts, settlement, status_changes
from ledger import verification_codes as codes
from ledger.db import get_engine, run_in_transaction, run_read_only, session_scope
from ledger.loading import load_fixture
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.fixtures import parse_fixture
from models.messages import CodeCheck, Settlement, StatusChange
from models.money import Money

KEY = b"bench-ledger-loop"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT = {
    "id": "loop-acct",
    "owner_name": "Loop",
    "type": "personal",
    "real_name_verified": True,
    "status": "normal",
    "identity_id": "id-loop",
    "security_phone": "+8613800000007",
    "cash": "100000000.00",
}
ORDER = {
    "id": "loop-order",
    "account_id": "loop-acct",
    "amount": "100000000.00",
    "channel": "alipay",
    "bank": None,
    "paid_at": "2026-11-20T10:00:00+08:00",
}


def one_withdrawal(engine: Engine, i: int) -> None:
    request = WithdrawalRequest(
        withdrawal_id=f"loop-{i}",
        account_id="loop-acct",
        amount=Money.yuan("1.00"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id="loop-order",
    )
    wid = request.withdrawal_id
    run_in_transaction(engine, opening.open_withdrawal, request, NOW, Money.yuan("50000.00"))
    code = "123456"
    hashed = codes.code_hash(KEY, request, code)
    expires = NOW + timedelta(minutes=5)
    run_in_transaction(engine, codes.count_send, request, hashed, expires, NOW)
    run_in_transaction(engine, codes.store_sent_code, request, hashed, expires, NOW, NOW)
    check = CodeCheck(withdrawal_id=wid, code=code, at=NOW, attempt=1)
    assert run_in_transaction(engine, codes.check_code, check, KEY, NOW)
    change = StatusChange(withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note="ok")
    run_in_transaction(engine, status_changes.record_status, change, NOW)
    run_read_only(engine, payouts.prepare_transfer, request, None)
    run_in_transaction(engine, payouts.record_submission, request, None, "submitted", "", NOW)
    done = Settlement(withdrawal_id=wid, status=Status.SUCCEEDED, note="paid")
    run_in_transaction(engine, settlement.finish, done, NOW)


def measure(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        engine = get_engine(f"sqlite:///{Path(directory) / 'loop.db'}")
        with session_scope(engine) as session:
            load_fixture(
                session, parse_fixture({"accounts": [ACCOUNT], "recharge_orders": [ORDER]})
            )
        counts = {"transactions": 0, "statements": 0}

        def begun(*_: Any) -> None:
            counts["transactions"] += 1

        def executed(*_: Any) -> None:
            counts["statements"] += 1

        for i in range(min(20, count)):  # warm the statement caches
            one_withdrawal(engine, -1 - i)
        event.listen(engine, "begin", begun)
        event.listen(engine, "before_cursor_execute", executed)
        started = time.process_time()
        for i in range(count):
            one_withdrawal(engine, i)
        cpu = time.process_time() - started
        engine.dispose()
    return {
        "cpu_ms_per_withdrawal": round(cpu * 1000 / count, 2),
        "transactions_per_withdrawal": counts["transactions"] / count,
        "statements_per_withdrawal": counts["statements"] / count,
    }


if __name__ == "__main__":
    figures = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    print(" ".join(f"{name} {value}" for name, value in figures.items()))
