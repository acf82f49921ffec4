"""``credit-return`` (issue 25) in-process: an authenticated ops or lead reviewer approves
crediting a parked return; the second, different one's approval of the same amount moves
the money; a wrong password is exit 3 "authentication failed" and changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from cli.app import main
from cli.command import Context
from gateways.payout import ReturnReason, Transfer, TransferState
from ledger.db import get_engine, session_scope
from ledger.returns import record_return
from ledger.tables import Account
from models.money import Money
from tests.ledger.data import NOW, PLAIN_ACCOUNT, fixture_data, load, paid_withdrawal

PASSWORDS = {"ops-1": "ops-1 passphrase long", "lead-1": "lead-1 passphrase long"}


def _parked(url: str) -> str:
    engine = get_engine(url)
    data = fixture_data()
    data["reviewers"] += [
        {"id": rid, "name": rid, "role": rid.split("-")[0], "password": password}
        for rid, password in PASSWORDS.items()
    ]
    load(engine, data)
    withdrawal_id = paid_withdrawal(engine, "50.00")
    with session_scope(engine) as session:
        returned = Transfer(
            idempotency_key=withdrawal_id,
            state=TransferState.RETURNED,
            amount=Money.yuan("50.00"),
            returned_amount=Money.yuan("49.00"),
            return_reason=ReturnReason.NAME_MISMATCH,
            returned_at=NOW + timedelta(days=30),
        )
        record_return(session, withdrawal_id, returned, NOW)
    return withdrawal_id


def _cash(url: str) -> int:
    with session_scope(get_engine(url)) as session:
        account = session.get(Account, PLAIN_ACCOUNT["id"])
        assert account is not None
        return account.cash_fen


def test_two_different_signed_in_ops_credit_a_parked_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    withdrawal_id = _parked(url)
    paid = _cash(url)
    context = Context(database_url=url)

    def credit(reviewer: str, password: str) -> int:
        monkeypatch.setenv("REVIEWER_PASSWORD", password)
        args = ["credit-return", withdrawal_id, "--amount", "49.00", "--evidence", "bank letter"]
        return main([*args, "--reviewer", reviewer, "--json"], context)

    assert credit("ops-1", "not the password") == 3
    assert capsys.readouterr().err.strip() == "authentication failed"
    assert credit("ops-1", PASSWORDS["ops-1"]) == 0
    assert json.loads(capsys.readouterr().out)["credited"] is False
    assert _cash(url) == paid
    assert credit("lead-1", PASSWORDS["lead-1"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["credited"] is True and document["reviewers"] == ["ops-1", "lead-1"]
    assert _cash(url) == paid + 4900
