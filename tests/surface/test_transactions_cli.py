"""``starter.py transactions`` (R20): details filtered by type and time range, as a table,
one JSON document or CSV, and bad dates refused with exit 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cli.app import main
from cli.command import Context
from ledger.db import dispose_engine, get_engine, session_scope
from ledger.holds import post_hold, reserve
from models.money import Money
from tests.ledger.data import load
from tests.surface.cli import run_cli

ACCOUNT = "acct-plain"
# Three withdrawals of 10.00, 20.00, 30.00 posted on these (UTC) times; 2026-11-02T20:00Z
# is already 2026-11-03 in China time, where date-only bounds are read.
POSTED = [
    ("w-1", "10.00", datetime(2026, 11, 1, 2, 0, tzinfo=UTC)),
    ("w-2", "20.00", datetime(2026, 11, 2, 20, 0, tzinfo=UTC)),
    ("w-3", "30.00", datetime(2026, 11, 5, 9, 30, tzinfo=UTC)),
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('transactions') / 'withdrawals.db'}"
    engine = get_engine(url)
    load(engine)
    for withdrawal_id, amount, at in POSTED:
        with session_scope(engine) as session:
            reserve(
                session,
                withdrawal_id=withdrawal_id,
                account_id=ACCOUNT,
                order_id=None,
                amount=Money.yuan(amount),
                now=at,
            )
            post_hold(session, withdrawal_id, at)
    dispose_engine(url)
    return url


def transactions(database: str, *args: str) -> tuple[int, str, str]:
    result = run_cli("transactions", *args, env={"DATABASE_URL": database})
    return result.returncode, result.stdout, result.stderr


def test_json_lists_every_withdrawal_oldest_first_with_two_decimals(database: str) -> None:
    status, out, err = transactions(database, ACCOUNT, "--type", "withdrawal", "--json")
    assert status == 0, err
    document = json.loads(out)
    assert document["count"] == 3 and document["truncated"] is False
    rows = document["transactions"]
    assert [(r["withdrawal_id"], r["amount"], r["balance_after"]) for r in rows] == [
        ("w-1", "10.00", "990.00"),
        ("w-2", "20.00", "970.00"),
        ("w-3", "30.00", "940.00"),
    ]
    assert rows[0]["at"] == "2026-11-01T02:00:00+00:00"
    assert {r["type"] for r in rows} == {"withdrawal"} and {r["direction"] for r in rows} == {
        "debit"
    }


def in_process(database: str, *args: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """The same command in-process (the process tests above cover the wiring), withdrawal
    details only: the account's opening entry (dated when it was loaded) is one too."""
    command = ["transactions", ACCOUNT, "--type", "withdrawal", *args, "--json"]
    assert main(command, Context(database_url=database)) == 0
    return json.loads(capsys.readouterr().out)


def test_date_bounds_are_china_days_and_until_includes_its_day(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2026-11-03 (China) starts 2026-11-02T16:00Z: w-2 falls on it.
    document = in_process(database, "--since", "2026-11-03", "--until", "2026-11-03", capsys=capsys)
    assert [r["withdrawal_id"] for r in document["transactions"]] == ["w-2"]
    assert document["since"] == "2026-11-02T16:00:00+00:00"
    document = in_process(database, "--since", "2026-11-05T17:00:00+08:00", capsys=capsys)
    assert [r["withdrawal_id"] for r in document["transactions"]] == ["w-3"]
    document = in_process(database, "--until", "2026-11-01T02:00:00Z", capsys=capsys)
    assert document["count"] == 0  # --until with a time excludes that moment


def test_csv_has_a_header_two_decimal_amounts_and_iso_times(database: str) -> None:
    status, out, err = transactions(
        database, ACCOUNT, "--type", "withdrawal", "--csv", "--since", "2026-11-02"
    )
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "at",
        "type",
        "direction",
        "amount",
        "balance_after",
        "withdrawal_id",
        "note",
    ]
    assert [(r["withdrawal_id"], r["amount"]) for r in rows] == [("w-2", "20.00"), ("w-3", "30.00")]
    assert datetime.fromisoformat(rows[0]["at"]) == POSTED[1][2]
    assert rows[0]["at"].endswith("+00:00")


def test_table_for_people(database: str) -> None:
    status, out, err = transactions(database, ACCOUNT)
    assert status == 0, err
    assert out.splitlines()[1].split() == [
        "at",
        "type",
        "direction",
        "amount",
        "balance",
        "after",
        "withdrawal",
    ]
    assert "30.00" in out and "940.00" in out and "w-3" in out


def test_a_bad_date_exits_2_naming_the_flag(database: str) -> None:
    status, out, err = transactions(database, ACCOUNT, "--since", "yesterday", "--json")
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("--since: 'yesterday' is not a date"), err


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--until", "2026-13-01"], "--until"),
        (["--since", "2026-11-05T10:00:00"], "--since"),  # no offset: ambiguous
        (["--since", "2026-11-05", "--until", "2026-11-01"], "--until"),
        (["--type", "refund"], "starter.py transactions: argument --type"),
        (["--csv", "--json"], "--csv"),
        ([], "account"),  # unknown account
    ],
)
def test_bad_input_exits_2_with_one_line(
    database: str, args: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same code path as the process above, in-process: six cases in milliseconds.
    account = "acct-nobody" if not args else ACCOUNT
    status = main(["transactions", account, *args], Context(database_url=database))
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(field), err
