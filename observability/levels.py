"""What the database says needs watching now: the gauges' and the attention list's source.

Plain functions of a session (no I/O beyond it), each bounded by a named limit so a
backlog never turns a scrape or ``attention`` into a full table scan of its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from config.holidays import calendar_for_estimates
from ledger import tables
from ledger.tables import HoldState, WebhookDeliveryState
from ledger.types import utc
from models.business_days import expected_arrival
from models.domain import Route, Status

# Rows one listing reads at most; the counts are exact, the listings are the oldest first.
MAX_LISTED_ROWS = 1000

NOT_FINAL = [s.value for s in Status if not s.is_final]


@dataclass(frozen=True)
class Waiting:
    """One withdrawal that has waited too long, and since when."""

    withdrawal_id: str
    since: datetime
    route: str
    amount_fen: int


@dataclass(frozen=True)
class GaveUp:
    """One webhook delivery that gave up after its retry window: which event, not where
    it went (a receiver's URL may carry its own secret)."""

    withdrawal_id: str
    event_type: str
    sequence: int
    attempts: int
    since: datetime  # the last attempt


FAILED = WebhookDeliveryState.FAILED.value


def money_held_fen(session: Session) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(tables.Hold.amount_fen), 0)).where(
            tables.Hold.state == HoldState.HELD.value
        )
    ).one()
    return int(total)


def in_flight_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(tables.Withdrawal.status, func.count())
        .where(col(tables.Withdrawal.status).in_(NOT_FINAL))
        .group_by(tables.Withdrawal.status)
    )
    counts = dict.fromkeys(NOT_FINAL, 0)
    counts.update({status: int(count) for status, count in rows})
    return counts


def review_queue(session: Session) -> tuple[int, int]:
    """(waiting for review, of which past the SLA) (R17)."""
    under_review = tables.Withdrawal.status == Status.UNDER_REVIEW.value
    waiting = session.exec(select(func.count()).where(under_review)).one()
    overdue = session.exec(
        select(func.count()).where(under_review, col(tables.Withdrawal.review_overdue))
    ).one()
    return int(waiting), int(overdue)


def overdue_reviews(session: Session) -> list[Waiting]:
    """Reviews the workflow flagged past their SLA, oldest first (R17)."""
    rows = session.exec(
        select(tables.Withdrawal)
        .where(
            tables.Withdrawal.status == Status.UNDER_REVIEW.value,
            col(tables.Withdrawal.review_overdue),
        )
        .order_by(col(tables.Withdrawal.created_at))
        .limit(MAX_LISTED_ROWS)
    )
    return [
        Waiting(row.id, utc(row.created_at), row.route, row.amount_fen)
        for row in rows  # since the request: the SLA counts from there
    ]


def late_settlements(session: Session, now: datetime) -> list[Waiting]:
    """Payouts still unsettled after their expected arrival (R7 original, R9 designated),
    latest arrival first passed first. The estimate is the one ``open_withdrawal`` gave
    the user, recomputed from the same inputs (route, order channel, request time).
    A payout whose outcome is unknown is left out: ``payouts_unknown`` lists it, more
    urgently, and the same money is not counted twice."""
    rows = session.exec(
        select(tables.Withdrawal, col(tables.RechargeOrder.channel))
        .join(
            tables.RechargeOrder,
            col(tables.RechargeOrder.id) == col(tables.Withdrawal.order_id),
            isouter=True,
        )
        .where(
            tables.Withdrawal.status == Status.APPROVED_AWAITING_PAYOUT.value,
            col(tables.Withdrawal.payout_unknown).is_(False),
        )
        .order_by(col(tables.Withdrawal.created_at))
        .limit(MAX_LISTED_ROWS)
    )
    late = []
    calendar = calendar_for_estimates()  # the package and HOLIDAYS_FILE, as open_withdrawal counts
    for record, channel in rows:
        if record.route is Route.ORIGINAL and channel is None:
            continue  # no estimate without the recharge's channel
        arrival = expected_arrival(record.route, channel, utc(record.created_at), calendar)
        if utc(now) > arrival.latest:
            late.append(Waiting(record.id, arrival.latest, record.route, record.amount_fen))
    return sorted(late, key=lambda waiting: waiting.since)


def payout_unknown_count(session: Session) -> int:
    """Payouts whose outcome is unknown, parked for ops (``payout_unknown``)."""
    found = session.exec(select(func.count()).where(col(tables.Withdrawal.payout_unknown))).one()
    return int(found)


def payouts_unknown(session: Session) -> list[Waiting]:
    """Payouts whose outcome is unknown, the longest parked first. ``since`` is the
    record's last change: the parking itself, as nothing else changes a parked record."""
    rows = session.exec(
        select(tables.Withdrawal)
        .where(col(tables.Withdrawal.payout_unknown))
        .order_by(col(tables.Withdrawal.updated_at))
        .limit(MAX_LISTED_ROWS)
    )
    return [Waiting(row.id, utc(row.updated_at), row.route, row.amount_fen) for row in rows]


def webhook_deliveries_failed_count(session: Session) -> int:
    """Webhook deliveries that gave up, ever (``failed`` is final, so this only grows)."""
    found = session.exec(select(func.count()).where(tables.WebhookDelivery.state == FAILED)).one()
    return int(found)


def webhook_deliveries_failed(session: Session, since: datetime) -> list[GaveUp]:
    """Deliveries that gave up with their last attempt at or after ``since``, oldest
    first: the receivers that missed an event and must be told another way."""
    last_attempt = func.coalesce(
        col(tables.WebhookDelivery.last_attempt_at), col(tables.WebhookDelivery.created_at)
    )
    rows = session.exec(
        select(tables.WebhookDelivery, tables.WebhookEvent)
        .where(
            col(tables.WebhookDelivery.event_id) == col(tables.WebhookEvent.id),
            tables.WebhookDelivery.state == FAILED,
            last_attempt >= since,
        )
        .order_by(last_attempt, col(tables.WebhookEvent.id))
        .limit(MAX_LISTED_ROWS)
    )
    return [
        GaveUp(
            event.withdrawal_id,
            event.type,
            event.sequence,
            delivery.attempts,
            utc(delivery.last_attempt_at or delivery.created_at),
        )
        for delivery, event in rows
    ]
