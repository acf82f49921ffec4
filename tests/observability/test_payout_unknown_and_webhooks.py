"""Payouts with an unknown outcome and webhook deliveries that gave up (issue 16): each is
an ``attention`` item and a gauge on the metrics page. Rows are written directly on
SQLite; the alerts on these gauges are tested by promtool (tests.yml, test_deploy)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from cli.app import main as cli
from cli.command import Context
from ledger.db import get_engine, session_scope
from ledger.tables import WebhookDelivery, WebhookDeliveryState, WebhookEvent, Withdrawal
from models.domain import Kind, Route, Status
from observability import gauges
from observability.attention import (
    WEBHOOK_FAILED_LISTED_FOR,
    AttentionItem,
    AttentionKind,
    from_database,
    rank,
)
from observability.runtime import free_loopback_address, start_telemetry
from tests.observability.scrape import parse, total

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def withdrawal(engine: Engine, wid: str, *, unknown: bool, parked_at: datetime) -> None:
    with session_scope(engine) as session:
        session.add(
            Withdrawal(
                id=wid,
                account_id="acct-1",
                kind=Kind.NON_RECHARGE,
                route=Route.ALIPAY,
                amount_fen=12345,
                status=Status.APPROVED_AWAITING_PAYOUT,
                payout_unknown=unknown,
                created_at=parked_at - timedelta(hours=1),
                updated_at=parked_at,
            )
        )


def delivery(engine: Engine, wid: str, sequence: int, state: str, last_attempt: datetime) -> None:
    event_id = f"{wid}:{sequence}"
    with session_scope(engine) as session:
        session.add(
            WebhookEvent(
                id=event_id,
                withdrawal_id=wid,
                sequence=sequence,
                type="withdrawal.status_changed",
                body="{}",
                created_at=last_attempt - timedelta(days=1),
            )
        )
        session.flush()
        session.add(
            WebhookDelivery(
                event_id=event_id,
                url="https://receiver.example/hook?token=secret-token",
                state=state,
                attempts=12,
                last_error="HTTP 500",
                last_attempt_at=last_attempt,
                created_at=last_attempt - timedelta(days=1),
            )
        )


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Engine:
    return get_engine(sqlite_url)


def test_payouts_with_an_unknown_outcome_are_listed_longest_parked_first(
    sqlite_engine: Engine,
) -> None:
    withdrawal(sqlite_engine, "w-recent", unknown=True, parked_at=NOW - timedelta(hours=1))
    withdrawal(sqlite_engine, "w-old", unknown=True, parked_at=NOW - timedelta(days=2))
    withdrawal(sqlite_engine, "w-known", unknown=False, parked_at=NOW - timedelta(days=3))

    items = rank(from_database(sqlite_engine, NOW))

    assert [(i.kind, i.withdrawal_id) for i in items] == [
        (AttentionKind.PAYOUT_UNKNOWN, "w-old"),
        (AttentionKind.PAYOUT_UNKNOWN, "w-recent"),
    ]
    assert items[0].since == NOW - timedelta(days=2)
    assert "123.45" in items[0].detail and "resolve-payout" in items[0].detail


def test_failed_webhook_deliveries_are_listed_for_a_week_without_the_receivers_url(
    sqlite_engine: Engine,
) -> None:
    delivery(sqlite_engine, "w-a", 1, WebhookDeliveryState.FAILED.value, NOW - timedelta(days=1))
    delivery(sqlite_engine, "w-a", 2, WebhookDeliveryState.DELIVERED.value, NOW)
    delivery(sqlite_engine, "w-b", 1, WebhookDeliveryState.PENDING.value, NOW)
    stale = NOW - WEBHOOK_FAILED_LISTED_FOR - timedelta(hours=1)
    delivery(sqlite_engine, "w-c", 1, WebhookDeliveryState.FAILED.value, stale)

    items = from_database(sqlite_engine, NOW)

    assert [(i.kind, i.withdrawal_id) for i in items] == [
        (AttentionKind.WEBHOOK_DELIVERY_FAILED, "w-a")
    ]
    assert items[0].since == NOW - timedelta(days=1)
    assert "event 1" in items[0].detail and "12 attempts" in items[0].detail
    assert "webhooks --failed" in items[0].detail
    assert "receiver.example" not in items[0].detail and "secret" not in items[0].detail


def test_unknown_payouts_come_right_after_books_that_disagree_and_failed_webhooks_last() -> None:
    kinds = [
        AttentionKind.WEBHOOK_DELIVERY_FAILED,
        AttentionKind.REVIEW_PAST_SLA,
        AttentionKind.SETTLEMENT_PAST_ARRIVAL,
        AttentionKind.CHECK_NOT_RUN,
        AttentionKind.PAYOUT_UNKNOWN,
        AttentionKind.RECONCILE_MISMATCH,
        AttentionKind.AUDIT_CHAIN_BROKEN,
    ]
    ranked = rank(AttentionItem(kind, None, NOW, "") for kind in kinds)
    assert [item.kind for item in ranked] == list(reversed(kinds))


@pytest.mark.usefixtures("next_years_covered")  # on the real clock (issue 26)
def test_attention_exits_4_on_an_unknown_payout_alone(
    sqlite_url: str, sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    withdrawal(sqlite_engine, "w-parked", unknown=True, parked_at=NOW)
    status = cli(["attention", "--json", "--no-reconcile"], Context(database_url=sqlite_url))
    document = json.loads(capsys.readouterr().out)
    assert status == 4
    # Long past its arrival too, but listed once, as the more urgent unknown outcome.
    assert [(i["kind"], i["withdrawal_id"]) for i in document["items"]] == [
        ("payout_unknown", "w-parked")
    ]


def test_the_gauges_count_unknown_payouts_and_every_delivery_that_gave_up(
    sqlite_engine: Engine,
) -> None:
    withdrawal(sqlite_engine, "w-1", unknown=True, parked_at=NOW)
    withdrawal(sqlite_engine, "w-2", unknown=True, parked_at=NOW)
    withdrawal(sqlite_engine, "w-3", unknown=False, parked_at=NOW)
    delivery(sqlite_engine, "w-1", 1, WebhookDeliveryState.FAILED.value, NOW)
    # Failed is final: a delivery older than the attention window still counts here.
    delivery(sqlite_engine, "w-2", 1, WebhookDeliveryState.FAILED.value, NOW - timedelta(days=30))
    delivery(sqlite_engine, "w-3", 1, WebhookDeliveryState.PENDING.value, NOW)

    telemetry = start_telemetry(free_loopback_address(), set_default=False)
    assert telemetry.metrics_url is not None
    found = asyncio.run(gauges.refresh(sqlite_engine, telemetry.metrics, clock=lambda: NOW))

    assert (found.payout_unknown, found.webhook_deliveries_failed) == (2, 2)
    samples = parse(httpx.get(telemetry.metrics_url, timeout=5).text)
    assert total(samples, "withdrawal_payout_unknown") == 2
    assert total(samples, "withdrawal_webhook_deliveries_failed") == 2
