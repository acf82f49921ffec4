"""R15 verification codes: drawn from ``secrets``, stored only as a keyed hash.

A send is two transactions around the SMS: ``count_send`` counts it before the provider
is called (so the phone never receives more than ``MAX_CODE_SENDS``, retries included),
and ``store_sent_code`` lets the new code replace the previous one only once the
provider accepted it (a failed send leaves the code the user already has working).
``check_code`` counts attempts in the ledger too, so the limit holds even if a
workflow's count were lost. Each change writes its own audit row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from ledger import audit, status_changes, tables, withdrawals
from ledger.rows import flush_pending, read_row, sync_cached, table_of
from ledger.withdrawals import recorded_request
from models.domain import Channel, Status, WithdrawalRequest
from models.errors import NotFound, RuleRefusal
from models.limits import CODE_DIGITS, MAX_CODE_ATTEMPTS, MAX_CODE_SENDS
from models.messages import CodeAnswer, CodeCheck

# Core statements, built once (issue 24; ``ledger.rows``).
CODES = table_of(tables.VerificationCode)
ACCOUNTS = table_of(tables.Account)
ORDERS = table_of(tables.RechargeOrder)
_CODE = select(CODES).where(CODES.c.withdrawal_id == bindparam("key"))
# Read to be written in the same transaction: locked on PostgreSQL, so two attempts of one
# step at once (a first past its timeout while the next runs) take turns, and the second
# sees what the first wrote (SQLite's BEGIN IMMEDIATE already lets one writer in).
_CODE_TO_WRITE = _CODE.with_for_update()
_PHONE = select(ACCOUNTS.c.security_phone).where(ACCOUNTS.c.id == bindparam("key"))
_CHANNEL = select(ORDERS.c.channel).where(ORDERS.c.id == bindparam("key"))
_INSERT_CODE = insert(CODES)
_UPDATE_CODE = update(CODES).where(CODES.c.withdrawal_id == bindparam("key"))  # SET: parameters


def _update_code(session: Session, withdrawal_id: str, **values: Any) -> None:
    session.execute(_UPDATE_CODE, {"key": withdrawal_id, **values})
    sync_cached(session, tables.VerificationCode, withdrawal_id, **values)


class CodeSendLimit(RuleRefusal):
    """R15: the withdrawal's codes are all sent."""


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, request: WithdrawalRequest, code: str) -> str:
    """Keyed (HMAC-SHA256), and bound to the withdrawal, its amount and its payee:
    a code shown for one payout cannot confirm another (changing either fails)."""
    payee = request.payee
    bound = [request.withdrawal_id, code, str(request.amount.fen), request.route.value]
    bound += [payee.account_number, payee.name] if payee else ["original"]
    message = json.dumps(bound, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def count_send(
    session: Session,
    request: WithdrawalRequest,
    hashed: str,
    expires_at: datetime,
    sent_at: datetime,
) -> tuple[str, Channel | None]:
    """Count one SMS before it is handed over; the phone to text and the order's channel.

    Raises ``NotFound`` for an unknown account and ``CodeSendLimit`` past the limit."""
    flush_pending(session)
    phone = session.execute(_PHONE, {"key": request.account_id}).scalar()
    if phone is None:
        raise NotFound("R1", "unknown account")
    row = read_row(session, _CODE_TO_WRITE, tables.VerificationCode, request.withdrawal_id)
    if row is not None and row.send_count >= MAX_CODE_SENDS:
        raise CodeSendLimit("R15", f"at most {MAX_CODE_SENDS} codes per withdrawal")
    if row is None:  # the first code: there is no earlier code to keep working
        first = {"code_hash": hashed, "expires_at": expires_at, "sent_at": sent_at}
        session.execute(
            _INSERT_CODE,
            {"withdrawal_id": request.withdrawal_id, **first, "send_count": 1},
        )
    else:
        _update_code(session, request.withdrawal_id, send_count=row.send_count + 1)
    return phone, _order_channel(session, request)


def store_sent_code(
    session: Session,
    request: WithdrawalRequest,
    hashed: str,
    expires_at: datetime,
    sent_at: datetime,
    now: datetime,
) -> None:
    """The provider accepted the SMS: its code replaces the previous one."""
    flush_pending(session)
    row = read_row(session, _CODE_TO_WRITE, tables.VerificationCode, request.withdrawal_id)
    assert row is not None, "counted before sending"
    sent = {"code_hash": hashed, "expires_at": expires_at, "sent_at": sent_at, "used": False}
    _update_code(session, request.withdrawal_id, **sent)
    record = withdrawals.find(session, request.withdrawal_id)
    if record is not None and record.status == Status.VERIFYING.value:
        # What ``list`` shows: the user now holds a code (R18 *beyond*).
        withdrawals.set_withdrawal_status(
            session,
            request.withdrawal_id,
            Status.AWAITING_CODE,
            sent_at,
            note="verification code sent",
        )
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="code.send",
        subject=request.withdrawal_id,
        outcome="sent",
        detail=f"SMS {row.send_count} of at most {MAX_CODE_SENDS}, code valid until "
        f"{expires_at.isoformat()}",
        at=now,
    )


def check_code(session: Session, check: CodeCheck, key: bytes, now: datetime) -> bool:
    """True once for the right, unexpired code; a used code never verifies again.
    ``check.attempt`` makes a retried check answer as the first."""
    flush_pending(session)
    row = read_row(session, _CODE_TO_WRITE, tables.VerificationCode, check.withdrawal_id)
    record = withdrawals.find(session, check.withdrawal_id)
    if row is None or record is None:
        return False
    if 0 < check.attempt <= row.attempts:  # a retry of a counted attempt
        return row.used and check.attempt == row.attempts
    outcome = _outcome(row, record, check, key)
    row.attempts += 1
    row.used = row.used or outcome == "verified"
    _update_code(session, check.withdrawal_id, attempts=row.attempts, used=row.used)
    audit.append(
        session,
        actor=record.requested_by or record.account_id,
        action="code.check",
        subject=check.withdrawal_id,
        outcome=outcome,
        detail=f"attempt {row.attempts} of {MAX_CODE_ATTEMPTS}",
        at=now,
    )
    if outcome == "verified" and check.then is not None:
        # the status the run takes next, in this transaction (status-written-with-its-step)
        status_changes.record_with_step(session, check.then, now)
    return outcome == "verified"


def check_code_answered(
    session: Session, check: CodeCheck, key: bytes, now: datetime
) -> CodeAnswer:
    """``check_code``, saying whether the ledger has the status the check carried, so the
    workflow counts it as written on the ledger's word (a retried check answers as the
    first: the status its first attempt wrote is found in the timeline)."""
    verified = check_code(session, check, key, now)
    if not verified or check.then is None:
        return CodeAnswer(verified=verified)
    flush_pending(session)
    entered = withdrawals.entered_status_at(session, check.withdrawal_id, check.then.status)
    return CodeAnswer(verified=True, status_written=entered is not None)


def _outcome(
    row: tables.VerificationCode, record: tables.Withdrawal, check: CodeCheck, key: bytes
) -> str:
    if row.attempts >= MAX_CODE_ATTEMPTS:
        return "locked"
    if row.used:
        return "used"
    if check.at >= row.expires_at:
        return "expired"
    # The hash inputs rebuilt from the record, so a changed amount or payee fails.
    expected = code_hash(key, recorded_request(record), check.code)
    return "verified" if hmac.compare_digest(expected, row.code_hash) else "wrong"


def _order_channel(session: Session, request: WithdrawalRequest) -> Channel | None:
    if request.order_id is None:
        return None
    channel: Channel | None = session.execute(_CHANNEL, {"key": request.order_id}).scalar()
    return channel
