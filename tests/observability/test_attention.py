"""``attention`` sources beyond the time-skipping run (tests/workflows/test_ops_attention):
a broken audit chain, reconcile mismatches, and a check that could not run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cli.app import main as cli
from cli.command import Context
from models.business_days import PACKAGE_CALENDAR
from observability.attention import (
    AttentionItem,
    AttentionKind,
    business_calendar_coverage,
    check_not_run,
    from_database,
    rank,
    reconcile_mismatches,
)
from reconcile.compare import Mismatch, MismatchKind, Report
from tests.calendars import HOLIDAYS_2027, write_calendar
from tests.security.test_audit import tampering, write
from tests.support.ports import free_port


def test_a_broken_audit_chain_is_listed(engine: Engine) -> None:
    now = datetime.now(UTC)
    assert from_database(engine, now) == []
    write(engine, 3)
    with tampering(engine) as session:
        session.execute(text("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2"))
    items = from_database(engine, now)
    assert [item.kind for item in items] == [AttentionKind.AUDIT_CHAIN_BROKEN]
    # Rows chain per withdrawal (issue 17): the item names the chain and the broken link.
    broken = items[0].detail
    assert "audit chain w-b broken at link 1" in broken, broken


def test_most_urgent_first_and_oldest_first_within_a_kind() -> None:
    now = datetime.now(UTC)
    report = Report(
        mismatches=[Mismatch(MismatchKind.PAID_NOT_POSTED, "w-paid", "provider paid 10.00")],
        in_flight=[],
        transfers=1,
        holds=1,
        records=1,
        open_workflows=0,
    )
    review_new = AttentionItem(AttentionKind.REVIEW_PAST_SLA, "w-new", now, "R17")
    review_old = AttentionItem(
        AttentionKind.REVIEW_PAST_SLA, "w-old", now - timedelta(days=2), "R17"
    )
    late = AttentionItem(AttentionKind.SETTLEMENT_PAST_ARRIVAL, "w-late", now, "R7")
    chain = AttentionItem(AttentionKind.AUDIT_CHAIN_BROKEN, None, None, "row 2")
    ranked = rank([review_new, late, *reconcile_mismatches(report), review_old, chain])
    assert [item.withdrawal_id for item in ranked] == [None, "w-paid", "w-late", "w-old", "w-new"]
    assert ranked[1].detail == "paid_not_posted: provider paid 10.00"


@pytest.mark.usefixtures("next_years_covered")  # on the real clock: December must not add
def test_a_reconcile_that_cannot_run_is_listed_not_taken_for_clean(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("PAYOUT_GATEWAY_URL", f"http://127.0.0.1:{free_port()}")
    status = cli(["attention", "--json"], Context(database_url=sqlite_url))
    document = json.loads(capsys.readouterr().out)
    assert status == 4
    assert [item["kind"] for item in document["items"]] == ["check_not_run"]
    assert document["items"][0]["detail"].startswith("reconcile could not run")
    assert check_not_run("x", ValueError()).kind is AttentionKind.CHECK_NOT_RUN


# ---- the business-day calendar (issue 26) -------------------------------------------------
DECEMBER_6_2026 = datetime(2026, 12, 6, 3, 21, tzinfo=UTC)  # the today, 11:21 Shanghai


def test_from_1_december_a_missing_calendar_for_next_year_is_listed() -> None:
    # chinese_calendar 1.11 ends with 2026; no HOLIDAYS_FILE: 2027 is covered by neither.
    items = business_calendar_coverage(DECEMBER_6_2026, lambda: PACKAGE_CALENDAR)
    assert [item.kind for item in items] == [AttentionKind.BUSINESS_CALENDAR]
    assert items[0].detail.startswith("business-day calendar for 2027 missing")
    assert items[0].since == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 Dec, Shanghai
    november = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 November there
    assert business_calendar_coverage(november, lambda: PACKAGE_CALENDAR) == []


def test_a_holidays_file_covering_next_year_clears_the_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOLIDAYS_FILE", str(write_calendar(tmp_path, HOLIDAYS_2027)))
    assert business_calendar_coverage(DECEMBER_6_2026) == []


def test_a_holidays_file_that_cannot_be_used_is_listed_with_its_mistake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = write_calendar(tmp_path, {"2027": {"holidays": ["2027-02-30"]}})
    monkeypatch.setenv("HOLIDAYS_FILE", str(wrong))
    items = business_calendar_coverage(DECEMBER_6_2026)
    assert [item.kind for item in items] == [AttentionKind.BUSINESS_CALENDAR]
    assert "2027.holidays[0]: '2027-02-30' is not a date" in items[0].detail


def test_attention_cli_names_the_missing_calendar_and_exits_4(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOLIDAYS_FILE", raising=False)
    context = Context(database_url=sqlite_url, clock=lambda: DECEMBER_6_2026)
    status = cli(["attention", "--json", "--no-reconcile"], context)
    document = json.loads(capsys.readouterr().out)
    assert status == 4
    assert [item["kind"] for item in document["items"]] == ["business_calendar"]
    assert document["items"][0]["detail"].startswith("business-day calendar for 2027 missing")
