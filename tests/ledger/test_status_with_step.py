"""Issue 24, item 2: a status written with the step that causes it (the code check, the
deciding approval; workflow patch ``status-written-with-its-step``) is written once: a
retried step answers as the first and writes no second timeline line, webhook event or
audit row, even when the ledger moved on since; and it never overrides a final status."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bench.ledger_loop import ACCOUNT, KEY, NOW, ORDER, REVIEWER, SIGNING_KEY, _approval
from ledger import audit, opening, review_decisions, settlement, status_changes
from ledger import verification_codes as codes
from ledger.db import run_in_transaction, session_scope
from ledger.events import EVENTS
from ledger.loading import load_fixture
from ledger.tables import Withdrawal, WithdrawalEvent
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.fixtures import parse_fixture
from models.messages import CodeCheck, Settlement, StatusChange
from models.money import Money

CODE = "123456"
APPROVED = "approved, paying out"


def _opened(engine: Engine, withdrawal_id: str) -> WithdrawalRequest:
    """A withdrawal opened and its code sent (``CODE``), as the activities leave it."""
    fixture = {"accounts": [ACCOUNT], "recharge_orders": [ORDER], "reviewers": [REVIEWER]}
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture(fixture))
    request = WithdrawalRequest(
        withdrawal_id=withdrawal_id,
        account_id="loop-acct",
        amount=Money.yuan("1.00"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id="loop-order",
    )
    run_in_transaction(engine, opening.open_withdrawal, request, NOW, Money.yuan("50000.00"))
    hashed = codes.code_hash(KEY, request, CODE)
    expires = NOW + timedelta(minutes=5)
    run_in_transaction(engine, codes.count_send, request, hashed, expires, NOW)
    run_in_transaction(engine, codes.store_sent_code, request, hashed, expires, NOW, NOW)
    return request


def _written(engine: Engine, withdrawal_id: str, status: Status, note: str) -> tuple[int, ...]:
    """How many timeline lines, webhook events and audit rows say the change was written."""
    with Session(engine) as session:
        lines = session.execute(
            select(func.count())
            .select_from(WithdrawalEvent)
            .where(
                WithdrawalEvent.withdrawal_id == withdrawal_id,  # type: ignore[arg-type]
                WithdrawalEvent.status == status,  # type: ignore[arg-type]
                WithdrawalEvent.note == note,  # type: ignore[arg-type]
            )
        ).scalar_one()
        events = session.execute(
            select(func.count())
            .select_from(EVENTS)
            .where(
                EVENTS.c.withdrawal_id == withdrawal_id,
                EVENTS.c.type == f"withdrawal.{status.value}",
            )
        ).scalar_one()
        rows = [
            entry
            for entry in audit.entries(session, withdrawal_id)
            if entry.action == f"status.{status.value}"
        ]
        assert audit.verify(session).ok
    return lines, events, len(rows)


def _moved_on(engine: Engine, withdrawal_id: str, status: Status) -> None:
    """Something recorded after the step, so a repeat of its change is no longer a repeat
    of the last line (``record_status`` alone would write it again)."""
    change = StatusChange(withdrawal_id=withdrawal_id, status=status, note="a later line")
    run_in_transaction(engine, status_changes.record_status, change, NOW)


def test_a_retried_code_check_writes_the_status_it_carries_once(engine: Engine) -> None:
    request = _opened(engine, "w-carry-code")
    wid = request.withdrawal_id
    then = StatusChange(withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note=APPROVED)
    check = CodeCheck(withdrawal_id=wid, code=CODE, at=NOW, attempt=1, then=then)

    assert run_in_transaction(engine, codes.check_code, check, KEY, NOW)
    assert _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED) == (1, 1, 1)
    _moved_on(engine, wid, Status.APPROVED_AWAITING_PAYOUT)
    before = _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED)
    assert run_in_transaction(engine, codes.check_code, check, KEY, NOW)  # the retry

    assert _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED) == before
    assert _last_notes(engine, wid) == [APPROVED, "a later line"]


def _status(engine: Engine, withdrawal_id: str) -> Status:
    with Session(engine) as session:
        record = session.get(Withdrawal, withdrawal_id)
        assert record is not None
        return record.status


def _last_notes(engine: Engine, withdrawal_id: str) -> list[str]:
    with Session(engine) as session:
        notes = session.execute(
            select(WithdrawalEvent.note)  # type: ignore[call-overload]
            .where(WithdrawalEvent.withdrawal_id == withdrawal_id)
            .order_by(WithdrawalEvent.id)
        ).scalars()
        return list(notes)[-2:]


def test_a_wrong_code_writes_nothing_it_carries(engine: Engine) -> None:
    request = _opened(engine, "w-carry-wrong")
    wid = request.withdrawal_id
    then = StatusChange(withdrawal_id=wid, status=Status.UNDER_REVIEW, note="R17: review")
    check = CodeCheck(withdrawal_id=wid, code="000000", at=NOW, attempt=1, then=then)

    assert not run_in_transaction(engine, codes.check_code, check, KEY, NOW)
    assert _written(engine, wid, Status.UNDER_REVIEW, "R17: review") == (0, 0, 0)
    assert _status(engine, wid) is Status.AWAITING_CODE


def test_a_retried_deciding_approval_writes_the_status_it_carries_once(engine: Engine) -> None:
    request = _opened(engine, "w-carry-review")
    wid = request.withdrawal_id
    review = StatusChange(withdrawal_id=wid, status=Status.UNDER_REVIEW, note="R17: review")
    check = CodeCheck(withdrawal_id=wid, code=CODE, at=NOW, attempt=1, then=review)
    assert run_in_transaction(engine, codes.check_code, check, KEY, NOW)
    then = StatusChange(withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note=APPROVED)
    approval = _approval(wid, then)
    verify_key = SIGNING_KEY.public_key()

    first = run_in_transaction(
        engine, review_decisions.record_review_decision, approval, verify_key, NOW
    )
    assert first.verdict.allowed, first.verdict.why
    # the decision's line and the status's each have their event, as in two transactions
    with Session(engine) as session:
        kinds = session.execute(
            select(EVENTS.c.type).where(EVENTS.c.withdrawal_id == wid).order_by(EVENTS.c.sequence)
        ).scalars()
        assert list(kinds)[-2:] == ["withdrawal.updated", "withdrawal.approved_awaiting_payout"]
    assert _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED) == (1, 1, 1)
    _moved_on(engine, wid, Status.APPROVED_AWAITING_PAYOUT)
    before = _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED)
    again = run_in_transaction(
        engine, review_decisions.record_review_decision, approval, verify_key, NOW
    )

    assert (again.verdict.allowed, again.verdict.why) == (first.verdict.allowed, first.verdict.why)
    assert _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED) == before
    assert _last_notes(engine, wid) == [APPROVED, "a later line"]
    assert _written(engine, wid, Status.UNDER_REVIEW, "R17: review") == (1, 1, 1)


def test_a_carried_status_never_overrides_a_final_one(engine: Engine) -> None:
    request = _opened(engine, "w-carry-final")
    wid = request.withdrawal_id
    cancelled = Settlement(withdrawal_id=wid, status=Status.CANCELLED, note="cancelled")
    run_in_transaction(engine, settlement.finish, cancelled, NOW)
    then = StatusChange(withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note=APPROVED)
    check = CodeCheck(withdrawal_id=wid, code=CODE, at=NOW, attempt=1, then=then)

    run_in_transaction(engine, codes.check_code, check, KEY, NOW)  # no HoldConflict

    assert _status(engine, wid) is Status.CANCELLED
    assert _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED) == (0, 0, 0)


def test_a_deciding_approval_says_whether_it_wrote_the_status_it_carries(
    engine: Engine,
) -> None:
    """``ReviewerVerdict.status_written``: True when the approval wrote its carried status
    (and on a retry of it); False when a worker from before the patch dropped ``then`` on
    the first attempt, so the workflow records the status itself (rolling deploy)."""
    for wid, older_first in (("w-ack-new", False), ("w-ack-old", True)):
        _opened(engine, wid)
        review = StatusChange(withdrawal_id=wid, status=Status.UNDER_REVIEW, note="R17: review")
        check = CodeCheck(withdrawal_id=wid, code=CODE, at=NOW, attempt=1, then=review)
        assert run_in_transaction(engine, codes.check_code, check, KEY, NOW)
        then = StatusChange(
            withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note=APPROVED
        )
        approval = _approval(wid, then)
        first_check = approval.model_copy(update={"then": None}) if older_first else approval
        verify_key = SIGNING_KEY.public_key()
        first = run_in_transaction(
            engine, review_decisions.record_review_decision, first_check, verify_key, NOW
        )
        again = run_in_transaction(
            engine, review_decisions.record_review_decision, approval, verify_key, NOW
        )
        assert first.verdict.allowed and again.verdict.allowed
        assert first.verdict.status_written is not older_first
        assert again.verdict.status_written is not older_first
        written = _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED)
        assert written == ((0, 0, 0) if older_first else (1, 1, 1)), written


def test_a_code_check_says_whether_the_status_it_carries_is_written(engine: Engine) -> None:
    """``check_code_answered`` (workflow patch ``code-check-answered``): written when the
    right code wrote ``then``, and on a retry of it; not for a wrong code; not for a right
    code whose first attempt dropped ``then`` (a worker from before the carried status),
    so the workflow records the status itself."""
    for wid, dropped_first in (("w-code-ack-new", False), ("w-code-ack-old", True)):
        _opened(engine, wid)
        then = StatusChange(
            withdrawal_id=wid, status=Status.APPROVED_AWAITING_PAYOUT, note=APPROVED
        )
        wrong = CodeCheck(withdrawal_id=wid, code="000000", at=NOW, attempt=1, then=then)
        right = CodeCheck(withdrawal_id=wid, code=CODE, at=NOW, attempt=2, then=then)
        first_right = right.model_copy(update={"then": None}) if dropped_first else right

        answer = run_in_transaction(engine, codes.check_code_answered, wrong, KEY, NOW)
        assert (answer.verified, answer.status_written) == (False, False)
        first = run_in_transaction(engine, codes.check_code_answered, first_right, KEY, NOW)
        again = run_in_transaction(engine, codes.check_code_answered, right, KEY, NOW)

        assert first.verified and again.verified
        assert first.status_written is again.status_written is not dropped_first
        written = _written(engine, wid, Status.APPROVED_AWAITING_PAYOUT, APPROVED)
        assert written == ((0, 0, 0) if dropped_first else (1, 1, 1))
