"""The withdrawal record and timeline (R18, R20)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from ledger.db import session_scope
from ledger.holds import post_hold, reserve
from ledger.withdrawals import (
    create_withdrawal,
    get_withdrawal,
    list_withdrawals,
    mark_review_overdue,
    set_withdrawal_status,
    timeline,
    transactions,
)
from models.domain import DesignatedReason, Kind, Payee, Route, Status, WithdrawalRequest
from models.errors import HoldConflict, NotFound
from models.money import Money
from tests.ledger.data import NOW, load


def _request(withdrawal_id: str = "w-1", amount: str = "100.00") -> WithdrawalRequest:
    return WithdrawalRequest(
        withdrawal_id=withdrawal_id,
        account_id="acct-plain",
        amount=Money.yuan(amount),
        kind=Kind.RECHARGE,
        route=Route.ALIPAY,
        order_id="P-ORDER",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=Payee(account_number="13812345678", name="Test Payee"),
        proofs=["sha256:abc"],
    )


def test_create_is_idempotent_and_keeps_payee_masked(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        first = create_withdrawal(session, _request(), NOW, review_required=True)
        again = create_withdrawal(session, _request(), NOW + timedelta(seconds=5))
        assert again.created_at == first.created_at == NOW
        assert (first.status, first.payee_masked, first.review_required) == (
            "verifying",
            "****5678",
            True,
        )
        assert json.loads(first.proofs_json) == ["sha256:abc"]
        assert len(timeline(session, "w-1")) == 1
        with pytest.raises(HoldConflict, match="idempotency"):
            create_withdrawal(session, _request(amount="100.01"), NOW)


def test_status_moves_append_timeline_and_final_is_final(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        create_withdrawal(session, _request(), NOW)
        set_withdrawal_status(session, "w-1", Status.AWAITING_CODE, NOW, note="code sent")
        set_withdrawal_status(session, "w-1", Status.AWAITING_CODE, NOW, note="code sent")  # retry
        set_withdrawal_status(session, "w-1", Status.UNDER_REVIEW, NOW + timedelta(minutes=1))
        rejected = set_withdrawal_status(
            session, "w-1", Status.REJECTED, NOW + timedelta(hours=1), reason="proof mismatched"
        )
        assert (rejected.status, rejected.reason) == ("rejected", "proof mismatched")
        with pytest.raises(HoldConflict, match="R18"):
            set_withdrawal_status(session, "w-1", Status.SUCCEEDED, NOW + timedelta(hours=2))
        steps = [(e.status, e.note) for e in timeline(session, "w-1")]
        assert steps == [
            ("verifying", "created"),
            ("awaiting_code", "code sent"),
            ("under_review", ""),
            ("rejected", ""),
        ]
        mark_review_overdue(session, "w-1", True)
        withdrawal = get_withdrawal(session, "w-1")
        assert withdrawal is not None and withdrawal.review_overdue


def test_unknown_withdrawal_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="withdrawal"), session_scope(engine) as session:
        set_withdrawal_status(session, "nope", Status.FAILED, NOW)


def test_list_is_newest_first_and_filters(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        for i in range(3):
            create_withdrawal(session, _request(f"w-{i}", "1.00"), NOW + timedelta(minutes=i))
        set_withdrawal_status(session, "w-1", Status.CANCELLED, NOW + timedelta(hours=1))
        assert [w.id for w in list_withdrawals(session)] == ["w-2", "w-1", "w-0"]
        assert [w.id for w in list_withdrawals(session, status=Status.CANCELLED)] == ["w-1"]
        assert list_withdrawals(session, account_id="acct-r13") == []
        assert [w.id for w in list_withdrawals(session, limit=1)] == ["w-2"]


def test_transactions_filter_by_type_and_time_range(engine: Engine) -> None:
    """R20: details filtered by type *withdrawal* and a time range serve as proof."""
    load(engine)
    for i in range(3):
        at = NOW + timedelta(days=i)
        with session_scope(engine) as session:
            reserve(
                session,
                withdrawal_id=f"w-{i}",
                account_id="acct-plain",
                order_id=None,
                amount=Money.yuan("10.00"),
                now=at,
            )
            post_hold(session, f"w-{i}", at)
    with session_scope(engine) as session:
        everything = transactions(session, "acct-plain", type="withdrawal")
        middle = transactions(
            session, "acct-plain", since=NOW + timedelta(days=1), until=NOW + timedelta(days=2)
        )
        assert transactions(session, "acct-plain", type="refund") == []
    assert [e.balance_after_fen for e in everything] == [99000, 98000, 97000]
    assert [e.withdrawal_id for e in middle] == ["w-1"]
