"""``starter.py load`` and ``withdrawable`` as a backend calls them: real processes, exit
statuses and one-line errors from docs/interface.md, and bad input that changes nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.db import get_engine
from tests.ledger.data import fixture_data, snapshot
from tests.surface import cli as surface_cli


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return surface_cli.run_cli(*args, env={"DATABASE_URL": url})


def write(tmp_path: Path, data: Any, name: str = "fixture.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_load_then_withdrawable_json_on_the_r13_account(db_url: str, tmp_path: Path) -> None:
    loaded = run_cli(db_url, "load", write(tmp_path, fixture_data()), "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["accounts"] == {"created": 4, "updated": 0, "unchanged": 0}

    result = run_cli(db_url, "withdrawable", "acct-r13", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("cash", "debts", "uncovered_debts", "withdrawable")} == {
        "cash": "1000.00",
        "debts": "700.00",
        "uncovered_debts": "200.00",
        "withdrawable": "200.00",
    }
    assert (document["payg_reserve"], document["held"], document["not_withdrawable"]) == (
        "100.00",
        "0.00",
        "800.00",
    )
    assert document["orders"] == [
        {
            "order_id": "R-1",
            "amount": "800.00",
            "remaining": "800.00",
            "original_route_until": "2026-10-31T02:00:00+00:00",
        }
    ]


def test_withdrawable_prints_a_table_without_json(sqlite_url: str, tmp_path: Path) -> None:
    assert run_cli(sqlite_url, "--json", "load", write(tmp_path, fixture_data())).returncode == 0
    result = run_cli(sqlite_url, "withdrawable", "acct-r13")
    assert result.returncode == 0
    assert "withdrawable" in result.stdout and "200.00" in result.stdout
    assert "R-1" in result.stdout


def _set(data: dict[str, Any], section: str, index: int, field: str, value: object) -> str:
    data[section][index][field] = value
    return json.dumps(data)


BAD_FIXTURES = {
    "malformed_json": ("{not json", "file"),
    "unknown_account": (
        _set(fixture_data(), "recharge_orders", 0, "account_id", "nobody"),
        "recharge_orders[0].account_id",
    ),
    "negative_cash": (_set(fixture_data(), "accounts", 1, "cash", "-5.00"), "accounts[1].cash"),
    "float_amount": (
        _set(fixture_data(), "recharge_orders", 1, "amount", 600.0),
        "recharge_orders[1].amount",
    ),
    "unknown_bank": (
        _set(fixture_data(), "recharge_orders", 0, "bank", "NOPE"),
        "recharge_orders[0].bank",
    ),
    "unknown_channel": (
        _set(fixture_data(), "recharge_orders", 0, "channel", "wechat"),
        "recharge_orders[0].channel",
    ),
}


@pytest.fixture(scope="module")
def loaded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One loaded database for the module: the tests using it must leave it unchanged."""
    directory = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{directory / 'withdrawals.db'}"
    assert run_cli(url, "load", write(directory, fixture_data(), "good.json")).returncode == 0
    return url


@pytest.mark.parametrize("case", sorted(BAD_FIXTURES))
def test_bad_fixture_exits_2_with_one_line_and_changes_nothing(
    case: str, loaded_sqlite: str, tmp_path: Path
) -> None:
    text, blamed = BAD_FIXTURES[case]
    engine = get_engine(loaded_sqlite)
    before = snapshot(engine)
    # A changed cash in the same file proves the whole file was refused, not just a row.
    if case != "malformed_json":
        data = json.loads(text)
        data["accounts"][0]["cash"] = "999.00"
        text = json.dumps(data)
    result = run_cli(loaded_sqlite, "load", write(tmp_path, text), "--json")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{blamed}:"), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(engine) == before


def test_withdrawable_of_unknown_account_exits_2(loaded_sqlite: str) -> None:
    result = run_cli(loaded_sqlite, "withdrawable", "nobody", "--json")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == "account: no account 'nobody'"


def test_missing_file_and_bad_usage_exit_2_on_one_line(sqlite_url: str) -> None:
    for args in (("load", "/no/such/file.json"), ("withdrawable",), ("frobnicate",)):
        result = run_cli(sqlite_url, *args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_debug_shows_the_traceback(sqlite_url: str) -> None:
    result = run_cli(sqlite_url, "withdrawable", "nobody", "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
