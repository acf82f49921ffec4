"""The business-day calendar ops can extend (issue 26, item 3): ``HOLIDAYS_FILE`` beside the
``chinese_calendar`` package, its format checked with clear errors, which years are covered,
and estimates that end in an uncovered year marked provisional (R7/R9)."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from application.records import with_calendar_check
from config.holidays import business_calendar, calendar_for_estimates
from models.business_days import (
    PACKAGE_CALENDAR,
    BusinessCalendar,
    CalendarFileError,
    calendar_from_json,
    expected_arrival,
)
from models.domain import STATUS_LABELS_ZH, Channel, Kind, Route, Status, WithdrawalStatusDoc
from models.money import Money
from tests.calendars import HOLIDAYS_2027, write_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WITH_2027 = calendar_from_json(HOLIDAYS_2027)


def test_the_package_covers_2026_but_not_2027() -> None:
    assert PACKAGE_CALENDAR.covers(2026) and not PACKAGE_CALENDAR.covers(2027)
    assert WITH_2027.covers(2027) and WITH_2027.covers(2026)


def test_supplied_holidays_and_make_up_days_count_in_2027() -> None:
    spring_festival, make_up_sunday = date(2027, 2, 8), date(2027, 2, 14)  # Mon, Sun
    assert PACKAGE_CALENDAR.is_business_day(spring_festival)  # guessed Mon–Fri
    assert not WITH_2027.is_business_day(spring_festival)
    assert WITH_2027.is_business_day(make_up_sunday)
    assert not WITH_2027.is_business_day(date(2027, 2, 13))  # an ordinary Saturday


def test_a_file_can_correct_a_year_the_package_has() -> None:
    corrected = calendar_from_json({"2026": {"holidays": ["2026-03-09"], "workdays": []}})
    assert not corrected.is_business_day(date(2026, 3, 9))  # listed
    assert not corrected.is_business_day(date(2026, 10, 1))  # still the package's holiday


def test_r7_bank_card_estimate_across_the_2027_spring_festival_skips_it() -> None:
    friday = datetime(2027, 2, 5, 10, 0, tzinfo=SHANGHAI)
    guessed = expected_arrival(Route.ORIGINAL, Channel.BANK_CARD, friday)
    known = expected_arrival(Route.ORIGINAL, Channel.BANK_CARD, friday, WITH_2027)
    assert guessed.latest.date() == date(2027, 2, 9)  # the festival counted as work
    assert known.latest.date() == date(2027, 2, 15)  # Sun 14th (make-up) and Mon 15th


def test_an_estimate_ending_in_an_uncovered_year_is_provisional() -> None:
    in_2027 = datetime(2027, 1, 11, 23, 59, 59, tzinfo=SHANGHAI)
    in_2026 = datetime(2026, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
    assert PACKAGE_CALENDAR.is_provisional(in_2027)
    assert not PACKAGE_CALENDAR.is_provisional(in_2026)
    assert not WITH_2027.is_provisional(in_2027)


@pytest.mark.parametrize(
    ("today", "missing"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI), None),  # not yet December
        (datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI), 2027),
        (datetime(2026, 11, 30, 16, 0, tzinfo=ZoneInfo("UTC")), 2027),  # 00:00 in Shanghai
        (datetime(2026, 12, 6, 11, 21, tzinfo=SHANGHAI), 2027),  # the today
        (datetime(2025, 12, 6, 11, 21, tzinfo=SHANGHAI), None),  # 2026 is in the package
    ],
)
def test_next_years_calendar_is_due_from_1_december_in_shanghai(
    today: datetime, missing: int | None
) -> None:
    assert PACKAGE_CALENDAR.missing_next_year(today) == missing
    assert WITH_2027.missing_next_year(today) is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "an object of years expected"),
        ({"27": {"holidays": ["2027-01-01"]}}, "27: a year of four digits expected"),
        ({"2027": ["2027-01-01"]}, '2027: an object with "holidays" and "workdays"'),
        ({"2027": {"holidays": ["2027-01-01"], "extra": []}}, '"holidays" and "workdays"'),
        ({"2027": {"workdays": []}}, "2027.holidays: a list of dates"),
        ({"2027": {"holidays": []}}, "2027.holidays: a year's calendar lists its holidays"),
        ({"2027": {"holidays": ["2027-02-30"]}}, "2027.holidays[0]: '2027-02-30' is not a date"),
        ({"2027": {"holidays": ["20270101"]}}, "2027.holidays[0]: '20270101' is not a date"),
        ({"2027": {"holidays": ["2028-01-01"]}}, "2027.holidays[0]: 2028-01-01 is not in 2027"),
        (
            {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}},
            "2027: 2027-01-01 is listed as a holiday and a workday",
        ),
    ],
)
def test_a_wrong_file_is_refused_whole_naming_its_first_mistake(
    document: object, message: str
) -> None:
    with pytest.raises(CalendarFileError) as refused:
        calendar_from_json(document, "HOLIDAYS_FILE x.json")
    assert str(refused.value).startswith("HOLIDAYS_FILE x.json: ")
    assert message in str(refused.value)


def test_holidays_file_is_read_from_the_environment_and_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOLIDAYS_FILE", raising=False)
    assert business_calendar() is PACKAGE_CALENDAR
    path = write_calendar(tmp_path, HOLIDAYS_2027)
    monkeypatch.setenv("HOLIDAYS_FILE", str(path))
    assert business_calendar().covers(2027)
    both = {**HOLIDAYS_2027, "2028": {"holidays": ["2028-01-01"], "workdays": []}}
    path.write_text(json.dumps(both))
    later = path.stat().st_mtime_ns + 1_000_000  # a new version, even on a coarse clock
    os.utime(path, ns=(later, later))
    assert business_calendar().covers(2028)  # no restart needed


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{not json", "not JSON"), (b'{"2027": {"holidays": []}}', "lists its holidays")],
)
def test_a_holidays_file_that_cannot_be_used_says_which_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, message: str
) -> None:
    path = tmp_path / "holidays.json"
    path.write_bytes(content)
    monkeypatch.setenv("HOLIDAYS_FILE", str(path))
    with pytest.raises(CalendarFileError, match=f"^HOLIDAYS_FILE {path}: .*{message}"):
        business_calendar()
    # Estimates go on with the package alone (marked provisional where that matters):
    # a typo in a holiday list never holds up a withdrawal; attention names it.
    assert calendar_for_estimates() is PACKAGE_CALENDAR
    monkeypatch.setenv("HOLIDAYS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(CalendarFileError, match="cannot be read"):
        business_calendar()


def test_an_empty_calendar_is_the_package_alone() -> None:
    assert BusinessCalendar() == PACKAGE_CALENDAR


def status_document(arrival: datetime | None) -> WithdrawalStatusDoc:
    return WithdrawalStatusDoc(
        id="w-1",
        account_id="acct-1",
        status=Status.APPROVED_AWAITING_PAYOUT,
        status_zh=STATUS_LABELS_ZH[Status.APPROVED_AWAITING_PAYOUT],
        amount=Money.yuan("10.00"),
        route=Route.BANK,
        kind=Kind.NON_RECHARGE,
        expected_arrival=arrival,
    )


def test_the_status_document_says_provisional_when_read_until_the_year_is_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_2027 = datetime(2027, 1, 11, 23, 59, 59, tzinfo=SHANGHAI)
    monkeypatch.delenv("HOLIDAYS_FILE", raising=False)
    stored = status_document(in_2027)
    assert not stored.expected_arrival_provisional  # never stored: set when read
    assert with_calendar_check(stored).expected_arrival_provisional
    assert not with_calendar_check(status_document(None)).expected_arrival_provisional
    in_2026 = datetime(2026, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
    assert not with_calendar_check(status_document(in_2026)).expected_arrival_provisional

    monkeypatch.setenv("HOLIDAYS_FILE", str(write_calendar(tmp_path, HOLIDAYS_2027)))
    assert not with_calendar_check(stored).expected_arrival_provisional
    # A file that cannot be used counts as absent: provisional again, never an error.
    wrong = write_calendar(tmp_path, {"2027": {"holidays": []}}, "wrong.json")
    monkeypatch.setenv("HOLIDAYS_FILE", str(wrong))
    document = with_calendar_check(stored).model_dump(mode="json")
    assert document["expected_arrival_provisional"] is True
