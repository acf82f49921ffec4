"""``load`` refuses a changed opening balance (exit 2, naming the account) unless
``--adjust``; ``ledger verify`` exits 4 when a balance does not add up; ``list
--payout-unknown`` shows only parked payouts (issue 13 items 2 and 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from ledger.db import get_engine, session_scope
from ledger.tables import Withdrawal
from models.domain import Kind, Route, Status
from tests.ledger.data import fixture_data
from tests.ledger.test_cli import run_cli, write


def test_load_refuses_a_different_opening_unless_adjust(sqlite_url: str, tmp_path: Path) -> None:
    assert run_cli(sqlite_url, "load", write(tmp_path, fixture_data())).returncode == 0
    changed = fixture_data()
    changed["accounts"][1]["cash"] = "1.00"
    refused = run_cli(sqlite_url, "load", write(tmp_path, changed, "changed.json"))
    assert refused.returncode == 2
    assert "account acct-plain" in refused.stderr and "--adjust" in refused.stderr

    adjusted = run_cli(sqlite_url, "load", write(tmp_path, changed, "changed.json"), "--adjust")
    assert adjusted.returncode == 0, adjusted.stderr
    assert "acct-plain" in adjusted.stdout
    verified = run_cli(sqlite_url, "ledger", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True


def test_ledger_verify_exits_4_on_a_mismatch(sqlite_url: str, tmp_path: Path) -> None:
    assert run_cli(sqlite_url, "load", write(tmp_path, fixture_data())).returncode == 0
    with session_scope(get_engine(sqlite_url)) as session:
        session.execute(text("UPDATE account SET cash_fen = cash_fen + 100 WHERE id = 'acct-r13'"))
    result = run_cli(sqlite_url, "ledger", "verify", "--json")
    assert result.returncode == 4
    problems = json.loads(result.stdout)["problems"]
    assert problems == [
        {"subject": "acct-r13", "figure": "cash", "recorded": "1001.00", "recomputed": "1000.00"}
    ]


def test_list_payout_unknown_shows_only_parked_payouts(sqlite_url: str, tmp_path: Path) -> None:
    assert run_cli(sqlite_url, "load", write(tmp_path, fixture_data())).returncode == 0
    now = datetime.now(UTC)
    with session_scope(get_engine(sqlite_url)) as session:
        for wid, unknown in (("w-parked", True), ("w-plain", False)):
            session.add(
                Withdrawal(
                    id=wid,
                    account_id="acct-plain",
                    kind=Kind.RECHARGE,
                    route=Route.ORIGINAL,
                    amount_fen=100,
                    status=Status.APPROVED_AWAITING_PAYOUT,
                    payout_unknown=unknown,
                    created_at=now,
                    updated_at=now,
                )
            )
    result = run_cli(sqlite_url, "list", "--payout-unknown", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["id"], r["payout_unknown"]) for r in rows] == [("w-parked", True)]
