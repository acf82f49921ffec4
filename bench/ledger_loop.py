"""``python -m bench.ledger_loop [N]``: the ledger's part of one withdrawal, alone.

The transactions the auto path's activities run (open, count and store the code, check
it, the approved status, the payout's read-only look-up and its audit row, settle), in a
loop on a fresh SQLite file, no Temporal, no HTTP; and the review path's (the same, with
the ``under_review`` status and the approving ``review_decision`` between the check and
the approved status). Each path twice: as runs recorded before the workflow patch
``status-written-with-its-step`` write them (each status in a ``record_status`` of its
own) and as runs after it do (each status in the transaction of the step that causes
it). Prints, per path and variant, the process CPU per withdrawal and the transactions
and SQL statements per withdrawal, so a change to the ledger's hot path is measured
apart from the machine's noise (run it before and after, back to back). The review
path's CPU includes signing the reviewer's proof.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, event

from ledger import opening, payouts, review_decisions, settlement, status_changes
from ledger import verification_codes as codes
from ledger.db import get_engine, run_in_transaction, run_read_only, session_scope
from ledger.loading import load_fixture
from models import decision_proof
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.fixtures import parse_fixture
from models.messages import (
    CodeCheck,
    ReviewDecisionKind,
    ReviewerCheck,
    Settlement,
    StatusChange,
)
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
REVIEWER = {"id": "loop-reviewer", "name": "Loop Reviewer", "password": "loop passphrase"}
SIGNING_KEY = Ed25519PrivateKey.generate()
PATHS = ("auto", "review")
VARIANTS = {"record_status": False, "with_step": True}  # before and after the patch
REVIEW_NOTE = "R17: review"
APPROVED_NOTE = "approved, paying out"


def _approval(wid: str, then: StatusChange | None) -> ReviewerCheck:
    claims = decision_proof.DecisionClaims(
        wid=wid,
        rid=REVIEWER["id"],
        dec=ReviewDecisionKind.APPROVE.value,
        cmt=decision_proof.comment_digest(""),
        iat=int(NOW.timestamp()),
        nonce=secrets.token_hex(16),
    )
    return ReviewerCheck(
        withdrawal_id=wid,
        reviewer_id=REVIEWER["id"],
        decision=ReviewDecisionKind.APPROVE,
        at=NOW,
        proof=decision_proof.sign(claims, SIGNING_KEY),
        then=then,
    )


def one_withdrawal(engine: Engine, i: int, path: str = "auto", with_step: bool = False) -> None:
    """One withdrawal's ledger transactions; ``with_step``: each status written in the
    transaction of the step that causes it (``status-written-with-its-step``)."""
    request = WithdrawalRequest(
        withdrawal_id=f"loop-{path}-{int(with_step)}-{i}",
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
    first = Status.UNDER_REVIEW if path == "review" else Status.APPROVED_AWAITING_PAYOUT
    after_code = StatusChange(
        withdrawal_id=wid, status=first, note=REVIEW_NOTE if path == "review" else APPROVED_NOTE
    )
    check = CodeCheck(
        withdrawal_id=wid, code=code, at=NOW, attempt=1, then=after_code if with_step else None
    )
    assert run_in_transaction(engine, codes.check_code, check, KEY, NOW)
    if not with_step:
        run_in_transaction(engine, status_changes.record_status, after_code, NOW)
    if path == "review":
        approved = StatusChange(
            withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note=APPROVED_NOTE
        )
        approval = _approval(wid, approved if with_step else None)
        decided = run_in_transaction(
            engine,
            review_decisions.record_review_decision,
            approval,
            SIGNING_KEY.public_key(),
            NOW,
        )
        assert decided.verdict.allowed, decided.verdict.why
        if not with_step:
            run_in_transaction(engine, status_changes.record_status, approved, NOW)
    run_read_only(engine, payouts.prepare_transfer, request, None)
    run_in_transaction(engine, payouts.record_submission, request, None, "submitted", "", NOW)
    done = Settlement(withdrawal_id=wid, status=Status.SUCCEEDED, note="paid")
    run_in_transaction(engine, settlement.finish, done, NOW)


def measure(count: int, path: str = "auto", with_step: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        engine = get_engine(f"sqlite:///{Path(directory) / 'loop.db'}")
        fixture = {"accounts": [ACCOUNT], "recharge_orders": [ORDER], "reviewers": [REVIEWER]}
        with session_scope(engine) as session:
            load_fixture(session, parse_fixture(fixture))
        counts = {"transactions": 0, "statements": 0}

        def begun(*_: Any) -> None:
            counts["transactions"] += 1

        def executed(*_: Any) -> None:
            counts["statements"] += 1

        for i in range(min(20, count)):  # warm the statement caches
            one_withdrawal(engine, -1 - i, path, with_step)
        event.listen(engine, "begin", begun)
        event.listen(engine, "before_cursor_execute", executed)
        started = time.process_time()
        for i in range(count):
            one_withdrawal(engine, i, path, with_step)
        cpu = time.process_time() - started
        engine.dispose()
    return {
        "cpu_ms_per_withdrawal": round(cpu * 1000 / count, 2),
        "transactions_per_withdrawal": counts["transactions"] / count,
        "statements_per_withdrawal": counts["statements"] / count,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for path in PATHS:
        for variant, with_step in VARIANTS.items():
            figures = measure(count, path, with_step)
            print(path, variant, " ".join(f"{name} {value}" for name, value in figures.items()))
