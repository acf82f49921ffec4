"""R10: the branch directory and its fuzzy search; a bank-card payee filled from it."""

from __future__ import annotations

import json

import pytest

from cli.app import main
from cli.command import Context
from models.branches import (
    MAX_SEARCH_LIMIT,
    all_branches,
    branch_by_id,
    payee_from_branch,
    search_branches,
)
from models.domain import Route
from models.errors import InputError, NotFound
from models.payee import payee_problem
from models.routes import KNOWN_BANKS
from tests.surface.cli import run_cli

SEED_BANKS = ("ICBC", "BOC", "CMB", "CIB", "SPDB", "NJCB", "HZCB", "GRCB", "JSB")
BIG_BANKS = ("ABC", "CCB", "BOCOM", "PSBC")


def ids(query: str, limit: int = 10) -> list[str]:
    return [b.id for b in search_branches(query, limit)]


def test_every_seed_and_big_bank_has_branches_in_several_cities() -> None:
    cities: dict[str, set[str]] = {}
    for branch in all_branches():
        cities.setdefault(branch.bank, set()).add(branch.city)
    for bank in (*SEED_BANKS, *BIG_BANKS):
        assert len(cities[bank]) >= 2 or bank == "GRCB", bank  # GRCB is Guangzhou's own
    assert len(cities["GRCB"]) == 1 and sum(b.bank == "GRCB" for b in all_branches()) >= 4
    assert set(cities) == KNOWN_BANKS  # every bank the R8 table knows can be paid to


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("江苏银行苏州", "JSB-SU-01"),  # Chinese, bank + city
        ("工行南京", "ICBC-NJ-01"),  # abbreviation and city without a space
        ("南京工商银行", "ICBC-NJ-01"),  # words out of order
        ("广州农商 天河", "GRCB-GZ-02"),
        ("Merchants Shenzhen", "CMB-SZ-01"),  # English words
        ("Bank of Nanjng", "NJCB-HZ-01"),  # an English typo still finds the bank
        ("guangzhou rural tianhe", "GRCB-GZ-02"),
        ("ＩＣＢＣ Beijing", "ICBC-BJ-01"),  # full-width letters
        ("jsb-nj-01", "JSB-NJ-01"),  # the id itself
    ],
)
def test_fuzzy_search_finds_chinese_and_english_names(query: str, expected_first: str) -> None:
    assert ids(query)[0] == expected_first


def test_search_by_bank_returns_only_that_banks_branches() -> None:
    hangzhou_bank = [b for b in all_branches() if b.bank == "HZCB"]
    found = search_branches("Bank of Hangzhou", limit=MAX_SEARCH_LIMIT)
    # The bank's own branches first, then other banks' branches in the city of Hangzhou.
    assert {b.bank for b in found[: len(hangzhou_bank)]} == {"HZCB"}
    assert {b.city_en for b in found[len(hangzhou_bank) :]} <= {"Hangzhou"}
    assert {b.bank for b in search_branches("中国银行", limit=5)} == {"BOC"}
    assert {b.bank for b in search_branches("邮储")} == {"PSBC"}


def test_search_ranks_and_limits_and_refuses_empty_queries() -> None:
    assert len(search_branches("银行", limit=3)) == 3
    assert search_branches("zzzz") == []
    with pytest.raises(InputError, match="query"):
        search_branches("   ")


def test_payee_from_branch_fills_bank_province_city_and_branch_name() -> None:
    payee = payee_from_branch("6222020200112233445", "张三", "jsb-su-01")
    branch = branch_by_id("JSB-SU-01")
    assert branch is not None
    assert (payee.branch_id, payee.bank, payee.province, payee.city, payee.branch_name) == (
        "JSB-SU-01",
        "JSB",
        "江苏省",
        "苏州市",
        branch.name,
    )
    assert payee.masked == "****3445"
    # Complete enough for R9/R10's bank-payee checks.
    assert payee_problem(Route.BANK, payee, ["sha256:" + "0" * 64]) is None


def test_payee_from_an_unknown_branch_is_refused_not_half_filled() -> None:
    with pytest.raises(NotFound, match="R10"):
        payee_from_branch("6222020200112233445", "张三", "NOPE-XX-01")


def test_branches_command_prints_a_table() -> None:
    result = run_cli("branches", "招商银行", "深圳")
    assert result.returncode == 0, result.stderr
    assert "CMB-SZ-01" in result.stdout and "招商银行深圳分行营业部" in result.stdout


def test_branches_json_is_a_list_and_a_bad_limit_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In-process (the process test above covers the wiring): no database is needed.
    assert main(["branches", "Bank of Jiangsu", "--limit", "2", "--json"], Context()) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document) == 2 and {b["bank"] for b in document} == {"JSB"}
    assert {"id", "bank_name", "name", "name_en", "province", "city"} <= set(document[0])
    assert main(["branches", "x", "--limit", "0"], Context()) == 2
    assert capsys.readouterr().err.startswith("--limit:")
