"""R7/R9 expected arrival, counted in business days in mainland China.

A business day is a working day in Asia/Shanghai: weekends and public holidays are off,
and the make-up working days (调休, e.g. a Saturday worked before National Day) are on.
The official calendar comes from the ``chinese_calendar`` package, which only knows the
years it was released with (2004–2026 in 1.11). For any other year we fall back to
"Monday to Friday are business days": an estimate may then be a few days early around a
holiday, which is acceptable for a shown estimate and never used to move money.

Convention: ``add_business_days(start, n)`` is the *end* (23:59:59 local) of the n-th
business day strictly after ``start``'s local date, so a request made on a Saturday or
late on a Friday still gets n whole business days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from models.domain import Channel, Route
from models.errors import InputError

CHINA_TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
# The longest estimate we give is 15 business days; anything far beyond is a caller bug.
MAX_BUSINESS_DAYS = 366
ORIGINAL_FAST_ARRIVAL_HOURS = 1  # R7: Alipay and online banking
ORIGINAL_BANK_CARD_BUSINESS_DAYS = 2  # R7: bank card
DESIGNATED_EARLIEST_BUSINESS_DAYS = 7  # R9
DESIGNATED_LATEST_BUSINESS_DAYS = 15  # R9
FAST_CHANNELS = frozenset(
    {Channel.ALIPAY, Channel.ONLINE_BANKING_PERSONAL, Channel.ONLINE_BANKING_ENTERPRISE}
)


@dataclass(frozen=True)
class ArrivalEstimate:
    """When the payee should see the money; ``text`` is what the user is shown."""

    earliest: datetime
    latest: datetime
    text: str


def is_business_day(d: date) -> bool:
    """A working day in mainland China; Mon–Fri outside the calendar package's years."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # the package has no data for this year
        return d.weekday() < 5


def _local(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, "a time needs its timezone offset")
    return moment.astimezone(CHINA_TZ)


def nth_business_day(start: datetime, n: int) -> date:
    """The n-th business day strictly after ``start``'s local date (n >= 1)."""
    if not 1 <= n <= MAX_BUSINESS_DAYS:
        raise ValueError(f"n must be between 1 and {MAX_BUSINESS_DAYS}, got {n}")
    day = _local(start, "start").date()
    found = 0
    # Bounded: even the Spring Festival break plus weekends leaves several working days a
    # fortnight, so 3n + 30 calendar days always holds n business days.
    for _ in range(3 * n + 30):
        day += timedelta(days=1)
        if is_business_day(day):
            found += 1
            if found == n:
                return day
    raise AssertionError(f"no {n} business days found after {start.date()}")


def add_business_days(start: datetime, n: int) -> datetime:
    """End (23:59:59 Asia/Shanghai) of the n-th business day after ``start``'s local date."""
    return datetime.combine(nth_business_day(start, n), END_OF_DAY, tzinfo=CHINA_TZ)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)


def expected_arrival(
    route: Route, channel: Channel | None, requested_at: datetime
) -> ArrivalEstimate:
    """R7 for the original route (by recharge channel), R9 for a designated account."""
    now = _local(requested_at, "requested_at")
    if route.is_designated:
        return ArrivalEstimate(
            earliest=_start_of(nth_business_day(now, DESIGNATED_EARLIEST_BUSINESS_DAYS)),
            latest=add_business_days(now, DESIGNATED_LATEST_BUSINESS_DAYS),
            text=(
                f"{DESIGNATED_EARLIEST_BUSINESS_DAYS} to "
                f"{DESIGNATED_LATEST_BUSINESS_DAYS} business days"
            ),
        )
    if channel is None:
        raise InputError("channel", "the original route needs the recharge's channel (R7)")
    if channel in FAST_CHANNELS:
        return ArrivalEstimate(
            earliest=now,
            latest=now + timedelta(hours=ORIGINAL_FAST_ARRIVAL_HOURS),
            text=f"within {ORIGINAL_FAST_ARRIVAL_HOURS} hour",
        )
    return ArrivalEstimate(
        earliest=now,
        latest=add_business_days(now, ORIGINAL_BANK_CARD_BUSINESS_DAYS),
        text=f"within {ORIGINAL_BANK_CARD_BUSINESS_DAYS} business days",
    )
