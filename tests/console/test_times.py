"""The console's ``local_time`` filter (issue 26, item 6): times in the reviewer's zone
(``DISPLAY_TIMEZONE``, Asia/Shanghai by default), short, with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment

from config.settings import display_timezone
from console.pages import templates as _templates
from console.times import local_time

ISSUE_TIME = datetime(2026, 12, 6, 3, 21, 14, tzinfo=UTC)  # the raw string the issue quotes


def test_utc_is_shown_in_shanghai_with_the_zone_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY_TIMEZONE", raising=False)
    assert local_time(ISSUE_TIME) == "2026-12-06 11:21 CST"
    assert local_time(ISSUE_TIME.replace(tzinfo=None)) == "2026-12-06 11:21 CST"  # stored UTC
    assert local_time(None) == ""


def test_display_timezone_chooses_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY_TIMEZONE", "Europe/Berlin")
    assert local_time(ISSUE_TIME) == "2026-12-06 04:21 CET"
    # A zone whose abbreviation is only an offset ("+08") is named by its offset.
    assert local_time(ISSUE_TIME, ZoneInfo("Asia/Singapore")) == "2026-12-06 11:21 UTC+8"
    assert local_time(ISSUE_TIME, ZoneInfo("Asia/Kolkata")) == "2026-12-06 08:51 IST"
    assert local_time(ISSUE_TIME, ZoneInfo("Asia/Kathmandu")) == "2026-12-06 09:06 UTC+5:45"
    monkeypatch.setenv("DISPLAY_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="DISPLAY_TIMEZONE: 'Mars/Olympus' is not an IANA"):
        display_timezone()


def test_the_console_templates_have_the_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY_TIMEZONE", raising=False)
    assert isinstance(_templates, Environment)
    rendered = _templates.from_string("{{ at|local_time }}").render(at=ISSUE_TIME)
    assert rendered == "2026-12-06 11:21 CST"
