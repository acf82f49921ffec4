"""``load``: the fixture format is strict, upserts are idempotent, bad input writes nothing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from ledger.db import session_scope
from ledger.holds import reserve
from ledger.loading import load_fixture
from ledger.tables import Account
from models.errors import InputError
from models.fixtures import parse_fixture
from models.money import Money
from tests.ledger.data import NOW, fixture_data, load, snapshot


def test_loading_the_same_fixture_twice_changes_nothing(engine: Engine) -> None:
    load(engine)
    before = snapshot(engine)
    with session_scope(engine) as session:
        summary = load_fixture(session, parse_fixture(fixture_data()))
    assert snapshot(engine) == before
    assert summary.accounts.created == summary.accounts.updated == 0
    assert summary.accounts.unchanged == 4
    assert summary.recharge_orders.unchanged == 3
    assert summary.payg_resources.unchanged == 1
    assert summary.reviewers.unchanged == 1


def test_reload_with_adjust_writes_the_difference_and_keeps_held_money(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        reserve(
            session,
            withdrawal_id="w-1",
            account_id="acct-plain",
            order_id="P-ORDER",
            amount=Money.yuan("100.00"),
            now=NOW,
        )
    data = fixture_data()
    data["accounts"][1]["cash"] = "900.00"
    with session_scope(engine) as session:
        summary = load_fixture(session, parse_fixture(data), adjust=True)
    assert (summary.accounts.updated, summary.accounts.unchanged) == (1, 3)
    with session_scope(engine) as session:
        account = session.get(Account, "acct-plain")
        assert account is not None
        assert (account.cash_fen, account.held_fen) == (90000, 10000)


def test_reload_refuses_cash_below_held_money(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        reserve(
            session,
            withdrawal_id="w-1",
            account_id="acct-plain",
            order_id=None,
            amount=Money.yuan("500.00"),
            now=NOW,
        )
    before = snapshot(engine)
    data = fixture_data()
    data["accounts"][1]["cash"] = "400.00"
    with pytest.raises(InputError, match=r"accounts\[1\]\.cash"), session_scope(engine) as session:
        load_fixture(session, parse_fixture(data), adjust=True)
    assert snapshot(engine) == before


def test_order_for_unknown_account_is_refused_before_any_write(engine: Engine) -> None:
    data = fixture_data()
    data["recharge_orders"][2]["account_id"] = "nobody"
    with (
        pytest.raises(InputError, match=r"recharge_orders\[2\]\.account_id"),
        session_scope(engine) as session,
    ):
        load_fixture(session, parse_fixture(data))
    assert all(rows == [] for rows in snapshot(engine).values())


def test_order_may_reference_an_account_loaded_earlier(engine: Engine) -> None:
    load(engine)
    data = {"recharge_orders": [dict(fixture_data()["recharge_orders"][0], id="R-2")]}
    with session_scope(engine) as session:
        summary = load_fixture(session, parse_fixture(data))
    assert summary.recharge_orders.created == 1


@pytest.mark.parametrize(
    ("path", "value", "blamed"),
    [
        (("accounts", 0, "cash"), 1000.5, "floats are not money"),
        (("accounts", 0, "cash"), 1000, "as a string"),
        (("accounts", 0, "cash"), "-1.00", "must not be negative"),
        (("accounts", 0, "overdue"), "1.234", "two decimals"),
        (("accounts", 0, "status"), "sleeping", "normal"),
        (("accounts", 0, "real_name_verified"), "yes", "boolean"),
        (("recharge_orders", 0, "bank"), "XYZ", "unknown bank"),
        (("recharge_orders", 0, "bank"), None, "needs its bank code"),
        (("recharge_orders", 0, "channel"), "wechat", "alipay"),
        (("recharge_orders", 0, "paid_at"), "2026-10-01T10:00:00", "timezone"),
        (("recharge_orders", 0, "amount"), "0.00", "more than 0.00"),
    ],
)
def test_fixture_format_is_strict(path: tuple[str, int, str], value: object, blamed: str) -> None:
    data = fixture_data()
    section, index, field = path
    data[section][index][field] = value
    with pytest.raises(ValidationError, match=blamed):
        parse_fixture(data)


def test_unknown_fields_and_duplicate_ids_are_refused() -> None:
    data = fixture_data()
    data["accounts"][0]["transfer-in"] = "1.00"
    with pytest.raises(ValidationError, match="transfer-in"):
        parse_fixture(data)
    data = fixture_data()
    data["recharge_orders"].append(data["recharge_orders"][0])
    with pytest.raises(ValidationError, match="duplicate id R-1"):
        parse_fixture(data)


def test_demo_fixture_is_valid() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "fixtures" / "demo.json").read_text(encoding="utf-8")
    fixture = parse_fixture(text)
    assert {a.id for a in fixture.accounts} >= {"acct-r13", "acct-personal", "acct-frozen"}
