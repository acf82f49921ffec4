"""R7/R9 expected arrival, counted in business days in mainland China.

A business day is a working day in Asia/Shanghai: weekends and public holidays are off,
and the make-up working days (调休, e.g. a Saturday worked before National Day) are on.
The official calendar comes from the ``chinese_calendar`` package, which only knows the
years it was released with (2004–2026 in 1.11), plus the years ops supply in
``HOLIDAYS_FILE`` (``BusinessCalendar``, read by ``config.holidays``; docs/calendar.md):
a date the file lists is a holiday or a make-up working day whatever the package says.
A year that neither covers falls back to "Monday to Friday are business days": an
estimate may then be a few days early around a holiday, so an estimate ending in such a
year is shown as provisional (``BusinessCalendar.covers``), and ``attention`` asks for
next year's calendar from 1 December. Never used to move money.

This module stays pure: the file is parsed here from its JSON value (``calendar_from_json``)
but read by the processes that estimate (activities, readers), never by workflow code.

Convention: ``add_business_days(start, n)`` is the *end* (23:59:59 local) of the n-th
business day strictly after ``start``'s local date, so a request made on a Saturday or
late on a Friday still gets n whole business days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
# From this day of December (Asia/Shanghai) a missing calendar for next year needs a person.
NEXT_YEAR_CALENDAR_DUE_MONTH_DAY = (12, 1)
# The package's own years, as its data says (2004–2026 in 1.11).
PACKAGE_YEARS = range(
    min(chinese_calendar.constants.holidays).year,
    max(chinese_calendar.constants.holidays).year + 1,
)
YEAR_KEY = re.compile(r"[0-9]{4}")
MAX_DAYS_LISTED_PER_YEAR = 366


class CalendarFileError(ValueError):
    """A ``HOLIDAYS_FILE`` that is not the documented format: the message says where."""


@dataclass(frozen=True)
class YearDays:
    """One year ops supplied: days off (holidays) and weekend days worked (调休)."""

    holidays: frozenset[date]
    workdays: frozenset[date]


@dataclass(frozen=True)
class BusinessCalendar:
    """The package's calendar plus ``supplied`` years (``HOLIDAYS_FILE``). A date listed in
    the file wins over the package, so ops can also correct a year the package has."""

    supplied: Mapping[int, YearDays] = field(default_factory=dict)

    def covers(self, year: int) -> bool:
        """Whether the year's holidays are known (package or file), not guessed Mon–Fri."""
        return year in PACKAGE_YEARS or year in self.supplied

    def is_business_day(self, d: date) -> bool:
        year = self.supplied.get(d.year)
        if year is not None:
            if d in year.workdays:
                return True
            if d in year.holidays:
                return False
        if d.year in PACKAGE_YEARS:
            return bool(chinese_calendar.is_workday(d))
        return d.weekday() < 5

    def is_provisional(self, moment: datetime) -> bool:
        """An estimate ending at ``moment`` was counted Mon–Fri for a year nobody covers."""
        return not self.covers(_local(moment, "moment").year)

    def missing_next_year(self, today: datetime) -> int | None:
        """Next year, when it is uncovered and ``today`` (Shanghai) is in its run-up."""
        local = _local(today, "today").date()
        month, day = NEXT_YEAR_CALENDAR_DUE_MONTH_DAY
        if local < date(local.year, month, day) or self.covers(local.year + 1):
            return None
        return local.year + 1


PACKAGE_CALENDAR = BusinessCalendar()


def _listed_days(value: object, year: int, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise CalendarFileError(f"{where}: a list of dates (YYYY-MM-DD) expected")
    if len(value) > MAX_DAYS_LISTED_PER_YEAR:
        raise CalendarFileError(f"{where}: more days than a year has")
    days = set()
    for n, text in enumerate(value):
        try:
            if not isinstance(text, str) or len(text) != 10:
                raise ValueError
            day = date.fromisoformat(text)
        except ValueError:
            raise CalendarFileError(f"{where}[{n}]: {text!r} is not a date (YYYY-MM-DD)") from None
        if day.year != year:
            raise CalendarFileError(f"{where}[{n}]: {text} is not in {year}")
        days.add(day)
    return frozenset(days)


def calendar_from_json(document: object, source: str = "HOLIDAYS_FILE") -> BusinessCalendar:
    """The documented format, ``{"2027": {"holidays": [...], "workdays": [...]}}``, checked
    whole: a wrong file is refused with the place of its first mistake, never half used."""
    if not isinstance(document, dict):
        raise CalendarFileError(f'{source}: an object of years expected, e.g. {{"2027": {{...}}}}')
    supplied: dict[int, YearDays] = {}
    for key, entry in document.items():
        where = f"{source}: {key}"
        if not YEAR_KEY.fullmatch(key):
            raise CalendarFileError(f"{where}: a year of four digits expected as the key")
        if not isinstance(entry, dict) or set(entry) - {"holidays", "workdays"}:
            raise CalendarFileError(f'{where}: an object with "holidays" and "workdays" expected')
        year = int(key)
        holidays = _listed_days(entry.get("holidays"), year, f"{where}.holidays")
        workdays = _listed_days(entry.get("workdays", []), year, f"{where}.workdays")
        if not holidays:
            raise CalendarFileError(f"{where}.holidays: a year's calendar lists its holidays")
        both = sorted(holidays & workdays)
        if both:
            raise CalendarFileError(f"{where}: {both[0]} is listed as a holiday and a workday")
        supplied[year] = YearDays(holidays=holidays, workdays=workdays)
    return BusinessCalendar(supplied=supplied)


@dataclass(frozen=True)
class ArrivalEstimate:
    """When the payee should see the money; ``text`` is what the user is shown."""

    earliest: datetime
    latest: datetime
    text: str


def is_business_day(d: date, calendar: BusinessCalendar = PACKAGE_CALENDAR) -> bool:
    """A working day in mainland China; Mon–Fri in a year the calendar does not cover."""
    return calendar.is_business_day(d)


def _local(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, "a time needs its timezone offset")
    return moment.astimezone(CHINA_TZ)


def nth_business_day(
    start: datetime, n: int, calendar: BusinessCalendar = PACKAGE_CALENDAR
) -> date:
    """The n-th business day strictly after ``start``'s local date (n >= 1)."""
    if not 1 <= n <= MAX_BUSINESS_DAYS:
        raise ValueError(f"n must be between 1 and {MAX_BUSINESS_DAYS}, got {n}")
    day = _local(start, "start").date()
    found = 0
    # Bounded: even the Spring Festival break plus weekends leaves several working days a
    # fortnight, so 3n + 30 calendar days always holds n business days.
    for _ in range(3 * n + 30):
        day += timedelta(days=1)
        if calendar.is_business_day(day):
            found += 1
            if found == n:
                return day
    raise AssertionError(f"no {n} business days found after {start.date()}")


def add_business_days(
    start: datetime, n: int, calendar: BusinessCalendar = PACKAGE_CALENDAR
) -> datetime:
    """End (23:59:59 Asia/Shanghai) of the n-th business day after ``start``'s local date."""
    return datetime.combine(nth_business_day(start, n, calendar), END_OF_DAY, tzinfo=CHINA_TZ)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)


def expected_arrival(
    route: Route,
    channel: Channel | None,
    requested_at: datetime,
    calendar: BusinessCalendar = PACKAGE_CALENDAR,
) -> ArrivalEstimate:
    """R7 for the original route (by recharge channel), R9 for a designated account."""
    now = _local(requested_at, "requested_at")
    if route.is_designated:
        return ArrivalEstimate(
            earliest=_start_of(nth_business_day(now, DESIGNATED_EARLIEST_BUSINESS_DAYS, calendar)),
            latest=add_business_days(now, DESIGNATED_LATEST_BUSINESS_DAYS, calendar),
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
        latest=add_business_days(now, ORIGINAL_BANK_CARD_BUSINESS_DAYS, calendar),
        text=f"within {ORIGINAL_BANK_CARD_BUSINESS_DAYS} business days",
    )
