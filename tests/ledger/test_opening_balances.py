"""The ledger owns the cash figure: a fixture's ``cash`` is an opening entry, written once
(issue 13 item 5). Re-loading never credits money already paid out again; a different
opening needs ``--adjust`` and leaves an audited adjustment entry; ``ledger verify``
recomputes every balance from the entries."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from ledger import audit
from ledger.db import session_scope
from ledger.holds import post_hold, reserve
from ledger.loading import load_fixture
from ledger.tables import Account, EntryType, LedgerEntry
from ledger.verify import verify_ledger
from models.errors import InputError
from models.fixtures import parse_fixture
from models.money import Money
from tests.ledger.data import NOW, fixture_data, load


def _pay_out(engine: Engine, withdrawal_id: str, amount: str) -> None:
    with session_scope(engine) as session:
        reserve(
            session,
            withdrawal_id=withdrawal_id,
            account_id="acct-plain",
            order_id=None,
            amount=Money.yuan(amount),
            now=NOW,
        )
        post_hold(session, withdrawal_id, NOW)


def _cash(engine: Engine, account_id: str = "acct-plain") -> int:
    with session_scope(engine) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.cash_fen


def test_reloading_the_fixture_after_a_payout_does_not_credit_the_money_again(
    engine: Engine,
) -> None:
    load(engine)
    opening = _cash(engine)
    _pay_out(engine, "w-paid", "100.00")
    with session_scope(engine) as session:
        summary = load_fixture(session, parse_fixture(fixture_data()))
    assert summary.accounts.updated == 0
    assert _cash(engine) == opening - 10000  # the payout stays paid: nothing re-credited
    with session_scope(engine) as session:
        openings = session.exec(
            select(LedgerEntry).where(LedgerEntry.type == EntryType.OPENING.value)
        ).all()
        assert sorted(e.account_id for e in openings if e.account_id == "acct-plain") == [
            "acct-plain"
        ]  # written once
        assert verify_ledger(session).ok


def test_a_different_opening_is_refused_naming_the_account(engine: Engine) -> None:
    load(engine)
    data = fixture_data()
    data["accounts"][1]["cash"] = "5000.00"
    with (
        pytest.raises(InputError, match=r"accounts\[1\]\.cash: account acct-plain .*--adjust"),
        session_scope(engine) as session,
    ):
        load_fixture(session, parse_fixture(data))


def test_adjust_writes_an_audited_adjustment_entry(engine: Engine) -> None:
    load(engine)
    before = _cash(engine)
    _pay_out(engine, "w-paid", "100.00")
    data = fixture_data()
    new_opening = Money(before) + Money.yuan("50.00")
    data["accounts"][1]["cash"] = str(new_opening)
    with session_scope(engine) as session:
        summary = load_fixture(session, parse_fixture(data), adjust=True)
    assert summary.adjustments == ["acct-plain"]
    assert _cash(engine) == before - 10000 + 5000
    with session_scope(engine) as session:
        adjustments = session.exec(
            select(LedgerEntry).where(LedgerEntry.type == EntryType.ADJUSTMENT.value)
        ).all()
        assert [(a.direction, a.amount_fen) for a in adjustments] == [("credit", 5000)]
        rows = [r for r in audit.entries(session, "acct-plain") if r.action == "ledger.adjust"]
        assert len(rows) == 1 and "+50.00" in rows[0].detail
        assert verify_ledger(session).ok
    # The adjusted opening loaded again is now "the same opening": nothing changes.
    with session_scope(engine) as session:
        again = load_fixture(session, parse_fixture(data), adjust=True)
    assert again.adjustments == []
    assert _cash(engine) == before - 10000 + 5000


def test_ledger_verify_finds_a_balance_its_entries_do_not_explain(engine: Engine) -> None:
    load(engine)
    _pay_out(engine, "w-paid", "100.00")
    with session_scope(engine) as session:
        assert verify_ledger(session).ok
        session.execute(text("UPDATE account SET cash_fen = cash_fen + 1 WHERE id = 'acct-plain'"))
    with session_scope(engine) as session:
        found = verify_ledger(session)
    assert [(p.subject, p.figure) for p in found.problems] == [("acct-plain", "cash_fen")]
    assert found.problems[0].recorded.fen == found.problems[0].recomputed.fen + 1
