"""Everything that needs a person now, most urgent first (``starter.py attention``).

Each source is one small function returning ``AttentionItem``s; ``collect`` runs them
and ``rank`` orders the result: a broken audit chain and books that disagree before
money whose fate is unknown, before money that is late, before people who are late,
before receivers that missed a webhook. A source that cannot be read is itself an item:
a check that did not run must not look like a clean one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine
from sqlmodel import Session

from config.holidays import business_calendar
from ledger import audit, returns
from ledger.db import read_only_session
from ledger.tables import ReturnState
from models.business_days import (
    CHINA_TZ,
    NEXT_YEAR_CALENDAR_DUE_MONTH_DAY,
    BusinessCalendar,
    CalendarFileError,
)
from models.limits import REVIEW_SLA_HOURS
from models.money import Money
from observability import levels
from reconcile.compare import Report


class AttentionKind(StrEnum):
    """In order of urgency (``rank``)."""

    AUDIT_CHAIN_BROKEN = "audit_chain_broken"
    RECONCILE_MISMATCH = "reconcile_mismatch"
    PAYOUT_UNKNOWN = "payout_unknown"
    RETURN_PARKED = "return_parked"  # issue 25: returned with another amount; ops credit it
    CHECK_NOT_RUN = "check_not_run"
    SETTLEMENT_PAST_ARRIVAL = "settlement_past_arrival"
    REVIEW_PAST_SLA = "review_past_sla"
    WEBHOOK_DELIVERY_FAILED = "webhook_delivery_failed"
    BUSINESS_CALENDAR = "business_calendar"


# A delivery that gave up stays ``failed`` for good; it is listed this long after its last
# attempt (time to tell the receiver another way), then only ``starter.py webhooks --failed``
# shows it, so ``attention`` can come back clean.
WEBHOOK_FAILED_LISTED_FOR = timedelta(days=7)


URGENCY = {kind: rank for rank, kind in enumerate(AttentionKind)}


@dataclass(frozen=True)
class AttentionItem:
    kind: AttentionKind
    withdrawal_id: str | None
    since: datetime | None  # when it started to need attention (oldest first within a kind)
    detail: str  # ids, amounts, routes and rule numbers only: nothing personal


Source = Callable[[Session, datetime], list[AttentionItem]]


def reviews_past_sla(session: Session, now: datetime) -> list[AttentionItem]:
    return [
        AttentionItem(
            AttentionKind.REVIEW_PAST_SLA,
            waiting.withdrawal_id,
            waiting.since,
            f"R17: {Money(waiting.amount_fen)} via {waiting.route} waiting for review "
            f"longer than {REVIEW_SLA_HOURS} hours",
        )
        for waiting in levels.overdue_reviews(session)
    ]


def settlements_past_arrival(session: Session, now: datetime) -> list[AttentionItem]:
    return [
        AttentionItem(
            AttentionKind.SETTLEMENT_PAST_ARRIVAL,
            late.withdrawal_id,
            late.since,
            f"R7/R9: {Money(late.amount_fen)} via {late.route} not settled; expected by "
            f"{late.since.isoformat()}",
        )
        for late in levels.late_settlements(session, now)
    ]


def payouts_unknown(session: Session, now: datetime) -> list[AttentionItem]:
    return [
        AttentionItem(
            AttentionKind.PAYOUT_UNKNOWN,
            parked.withdrawal_id,
            parked.since,
            f"{Money(parked.amount_fen)} via {parked.route} held, payout outcome unknown: "
            "ask the provider, then `starter.py resolve-payout`",
        )
        for parked in levels.payouts_unknown(session)
    ]


def returns_parked(session: Session, now: datetime) -> list[AttentionItem]:
    return [
        AttentionItem(
            AttentionKind.RETURN_PARKED,
            parked.withdrawal_id,
            parked.recorded_at,
            f"returned {Money(parked.returned_fen)} ({parked.reason}) but {parked.problem}: "
            "two ops or lead credit it with `starter.py credit-return`",
        )
        for parked in returns.returns_of(session, ReturnState.PARKED)
    ]


def webhook_deliveries_failed(session: Session, now: datetime) -> list[AttentionItem]:
    return [
        AttentionItem(
            AttentionKind.WEBHOOK_DELIVERY_FAILED,
            failed.withdrawal_id,
            failed.since,
            f"webhook {failed.event_type} (event {failed.sequence}) gave up after "
            f"{failed.attempts} attempts: `starter.py webhooks --failed`",
        )
        for failed in levels.webhook_deliveries_failed(session, now - WEBHOOK_FAILED_LISTED_FOR)
    ]


def audit_chain(session: Session, now: datetime) -> list[AttentionItem]:
    found = audit.verify(session)
    if found.broken is None:
        return []
    return [
        AttentionItem(
            AttentionKind.AUDIT_CHAIN_BROKEN,
            None,
            None,
            f"audit chain {found.broken.chain} broken at link {found.broken.chain_seq}: "
            f"{found.broken.problem}",
        )
    ]


DATABASE_SOURCES: tuple[Source, ...] = (
    audit_chain,
    payouts_unknown,
    returns_parked,
    settlements_past_arrival,
    reviews_past_sla,
    webhook_deliveries_failed,
)


def business_calendar_coverage(
    now: datetime, calendar: Callable[[], BusinessCalendar] = business_calendar
) -> list[AttentionItem]:
    """From 1 December (Shanghai), next year's holidays must be known: the package's or
    ``HOLIDAYS_FILE``'s; else every estimate ending in it counts Monday to Friday. A file
    that cannot be used is listed too, with its first mistake."""
    try:
        found = calendar()
    except CalendarFileError as error:
        return [AttentionItem(AttentionKind.BUSINESS_CALENDAR, None, None, str(error))]
    year = found.missing_next_year(now)
    if year is None:
        return []
    month, day = NEXT_YEAR_CALENDAR_DUE_MONTH_DAY
    return [
        AttentionItem(
            AttentionKind.BUSINESS_CALENDAR,
            None,
            datetime(year - 1, month, day, tzinfo=CHINA_TZ),
            f"business-day calendar for {year} missing: arrival estimates ending in {year} "
            "count Monday to Friday (provisional); add the year to HOLIDAYS_FILE "
            "(docs/calendar.md)",
        )
    ]


def reconcile_mismatches(report: Report) -> list[AttentionItem]:
    return [
        AttentionItem(
            AttentionKind.RECONCILE_MISMATCH,
            mismatch.withdrawal_id,
            None,
            f"{mismatch.kind.value}: {mismatch.detail}",
        )
        for mismatch in report.mismatches
    ]


def check_not_run(check: str, error: BaseException) -> AttentionItem:
    return AttentionItem(
        AttentionKind.CHECK_NOT_RUN,
        None,
        None,
        f"{check} could not run: {type(error).__name__}",
    )


def from_database(
    engine: Engine, now: datetime, sources: Iterable[Source] = DATABASE_SOURCES
) -> list[AttentionItem]:
    """Every database source, each in its own read so one failing leaves the others."""
    items: list[AttentionItem] = []
    for source in sources:
        try:
            with read_only_session(engine) as session:
                items += source(session, now)
        except Exception as error:
            items.append(check_not_run(source.__name__, error))
    return items


def rank(items: Iterable[AttentionItem]) -> list[AttentionItem]:
    """Most urgent kind first; within a kind, the oldest first."""

    def key(item: AttentionItem) -> tuple[int, float, str]:
        since = item.since.timestamp() if item.since else float("-inf")
        return URGENCY[item.kind], since, item.withdrawal_id or ""

    return sorted(items, key=key)
