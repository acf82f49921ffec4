"""Times as reviewers read them (issue 26): in ``DISPLAY_TIMEZONE`` (Asia/Shanghai by
default), to the minute, with the zone named: ``2026-12-06 11:21 CST``. Only the console
shows times this way; the API, webhooks and ``--json`` keep ISO 8601 with offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from config import settings


def zone_name(local: datetime) -> str:
    """The zone's abbreviation (``CST``), or ``UTC+8`` where the zone has none (``+08``)."""
    abbreviation = local.tzname() or ""
    if abbreviation.isalpha():
        return abbreviation
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    hours, rest = divmod(abs(int(offset.total_seconds())), 3600)
    minutes = rest // 60
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def local_time(at: datetime | None, zone: ZoneInfo | None = None) -> str:
    """The Jinja filter ``local_time``: ``""`` for no time; a naive time is taken as UTC,
    which is how the database hands back what it stored."""
    if at is None:
        return ""
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    local = moment.astimezone(zone or settings.display_timezone())
    return f"{local:%Y-%m-%d %H:%M} {zone_name(local)}"
