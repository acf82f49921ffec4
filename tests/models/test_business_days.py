"""R7/R9 arrival estimates in mainland China business days (weekends, holidays, 调休)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.business_days import (
    ArrivalEstimate,
    add_business_days,
    expected_arrival,
    is_business_day,
)
from models.domain import Channel, Route
from models.errors import InputError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, 0, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), time(23, 59, 59), tzinfo=SHANGHAI)


# ---- the calendar -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2026, 9, 30), True),  # Wednesday before National Day
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 5), False),  # Monday inside the holiday
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, make-up working day (调休)
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 2, 14), True),  # Saturday, make-up working day before Spring Festival
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 3, 7), False),  # ordinary Saturday
        (date(2026, 3, 9), True),  # ordinary Monday
    ],
)
def test_business_days_follow_the_chinese_calendar(day: date, business: bool) -> None:
    assert is_business_day(day) is business


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2030, 10, 1), True),  # a Tuesday: no holiday data, so Mon–Fri counts
        (date(2030, 10, 5), False),  # Saturday
        (date(2003, 1, 6), True),  # before the package's first year
    ],
)
def test_business_days_fall_back_to_monday_to_friday_outside_the_calendar(
    day: date, business: bool
) -> None:
    assert is_business_day(day) is business


# ---- counting -----------------------------------------------------------------------------
def test_add_business_days_skips_a_weekend() -> None:
    # Friday 2026-03-06 + 2 business days: Mon 9th, Tue 10th.
    assert add_business_days(at(2026, 3, 6), 2) == end_of(2026, 3, 10)


def test_add_business_days_from_a_saturday_starts_on_monday() -> None:
    assert add_business_days(at(2026, 3, 7), 1) == end_of(2026, 3, 9)


def test_add_business_days_across_national_day_counts_the_make_up_saturday() -> None:
    # Wed 2026-09-30: Oct 1–7 off, then Thu 8th, Fri 9th, Sat 10th (调休).
    assert add_business_days(at(2026, 9, 30), 1) == end_of(2026, 10, 8)
    assert add_business_days(at(2026, 9, 30), 3) == end_of(2026, 10, 10)
    assert add_business_days(at(2026, 9, 30), 4) == end_of(2026, 10, 12)


def test_add_business_days_uses_the_shanghai_date_not_utc() -> None:
    # 2026-03-05 20:00 UTC is already Friday 04:00 in Shanghai.
    thursday_evening_utc = datetime(2026, 3, 5, 20, 0, tzinfo=UTC)
    assert add_business_days(thursday_evening_utc, 1) == end_of(2026, 3, 9)


def test_add_business_days_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        add_business_days(at(2026, 3, 6), 0)
    with pytest.raises(InputError, match=r"^start: "):
        add_business_days(datetime(2026, 3, 6, 10, 0), 1)


# ---- R7/R9 estimates ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "channel", [Channel.ALIPAY, Channel.ONLINE_BANKING_PERSONAL, Channel.ONLINE_BANKING_ENTERPRISE]
)
def test_r7_original_route_via_alipay_or_online_banking_arrives_within_1_hour(
    channel: Channel,
) -> None:
    requested = at(2026, 10, 1)  # even on a holiday
    assert expected_arrival(Route.ORIGINAL, channel, requested) == ArrivalEstimate(
        earliest=requested, latest=requested + timedelta(hours=1), text="within 1 hour"
    )


def test_r7_original_route_via_bank_card_arrives_within_2_business_days() -> None:
    estimate = expected_arrival(Route.ORIGINAL, Channel.BANK_CARD, at(2026, 3, 6))
    assert estimate.text == "within 2 business days"
    assert estimate.latest == end_of(2026, 3, 10)  # over the weekend


def test_r7_bank_card_arrival_across_spring_festival() -> None:
    # Fri 2026-02-13 → Sat 14th (调休) is day 1; 15th–23rd off; Tue 24th is day 2.
    estimate = expected_arrival(Route.ORIGINAL, Channel.BANK_CARD, at(2026, 2, 13))
    assert estimate.latest == end_of(2026, 2, 24)


@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
def test_r9_designated_account_arrives_in_7_to_15_business_days_across_national_day(
    route: Route,
) -> None:
    # From Wed 2026-09-30: 8th, 9th, 10th (调休), 12th, 13th, 14th, 15th is the 7th business
    # day; then 16th, 19th, 20th, 21st, 22nd, 23rd, 26th, 27th is the 15th.
    estimate = expected_arrival(route, None, at(2026, 9, 30))
    assert estimate.text == "7 to 15 business days"
    assert estimate.earliest == datetime(2026, 10, 15, 0, 0, tzinfo=SHANGHAI)
    assert estimate.latest == end_of(2026, 10, 27)


def test_r7_original_route_without_a_channel_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"^channel: "):
        expected_arrival(Route.ORIGINAL, None, at(2026, 3, 6))


def test_r9_estimate_crossing_into_a_year_without_calendar_data_still_counts() -> None:
    # chinese_calendar 1.11 stops at 2026; 2027 falls back to Mon–Fri.
    # From Mon 2026-12-21: Dec 22–25, 28–31 are 8 days; Jan 1 (Fri) counts in the fallback.
    estimate = expected_arrival(Route.BANK, None, at(2026, 12, 21))
    assert estimate.earliest == datetime(2026, 12, 30, 0, 0, tzinfo=SHANGHAI)
    assert estimate.latest == end_of(2027, 1, 11)
