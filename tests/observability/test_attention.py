"""``attention`` sources beyond the time-skipping run (tests/workflows/test_ops_attention):
a broken audit chain, reconcile mismatches, and a check that could not run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from cli.app import main as cli
from cli.command import Context
from observability.attention import (
    AttentionItem,
    AttentionKind,
    check_not_run,
    from_database,
    rank,
    reconcile_mismatches,
)
from reconcile.compare import Mismatch, MismatchKind, Report
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
