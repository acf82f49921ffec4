"""Levels read from the database and set on the gauges by a light periodic task.

Every worker publishes the same figures (they come from the shared database), so
dashboards and alerts take ``max`` across instances rather than ``sum``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from ledger.db import read_only_session
from observability import levels
from observability.metrics import WithdrawalMetrics

# Often enough for a 1-minute alert window, rare enough to cost nothing (six small
# aggregate queries).
GAUGE_INTERVAL_SECONDS = 15.0
GAUGE_INTERVAL_ENV = "METRICS_GAUGE_INTERVAL_SECONDS"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Levels:
    money_held_fen: int
    in_flight: dict[str, int]
    review_waiting: int
    review_overdue: int
    settlements_late: int
    payout_unknown: int = 0
    webhook_deliveries_failed: int = 0


def read_levels(engine: Engine, now: datetime) -> Levels:
    with read_only_session(engine) as session:
        waiting, overdue = levels.review_queue(session)
        return Levels(
            money_held_fen=levels.money_held_fen(session),
            in_flight=levels.in_flight_by_status(session),
            review_waiting=waiting,
            review_overdue=overdue,
            settlements_late=len(levels.late_settlements(session, now)),
            payout_unknown=levels.payout_unknown_count(session),
            webhook_deliveries_failed=levels.webhook_deliveries_failed_count(session),
        )


def publish(metrics: WithdrawalMetrics, found: Levels) -> None:
    metrics.set_money_held(found.money_held_fen)
    for status, count in found.in_flight.items():
        metrics.set_in_flight(status, count)
    metrics.set_review_queue(found.review_waiting, found.review_overdue)
    metrics.set_settlement_late(found.settlements_late)
    metrics.set_payout_unknown(found.payout_unknown)
    metrics.set_webhook_deliveries_failed(found.webhook_deliveries_failed)


async def refresh(
    engine: Engine, metrics: WithdrawalMetrics, clock: Callable[[], datetime] | None = None
) -> Levels:
    now = (clock or (lambda: datetime.now(UTC)))()
    found = await asyncio.to_thread(read_levels, engine, now)
    publish(metrics, found)
    return found


async def keep_fresh(
    engine: Engine,
    metrics: WithdrawalMetrics,
    interval_seconds: float | None = None,
) -> None:
    """Refresh the gauges until cancelled; a failed read is logged and tried again."""
    if interval_seconds is None:
        interval_seconds = float(os.environ.get(GAUGE_INTERVAL_ENV) or GAUGE_INTERVAL_SECONDS)
    while True:
        try:
            await refresh(engine, metrics)
        except Exception as error:  # a database blip must not stop the worker
            log.warning("gauges not refreshed: %s", type(error).__name__)
        await asyncio.sleep(interval_seconds)
