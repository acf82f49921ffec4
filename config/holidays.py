"""The business-day calendar this process counts with: the ``chinese_calendar`` package plus
``HOLIDAYS_FILE`` (docs/calendar.md), read here by the processes that estimate arrival
(activities, the API, the CLI, ``attention``), never by workflow code.

The file is read again when it changes (its modification time), so a worker picks up next
year's calendar without a restart; a wrong file is refused whole, with the place of its
first mistake (``CalendarFileError``), never half used. Estimating goes on without it
(``calendar_for_estimates``): a withdrawal is never held up by a typo in a holiday list,
its estimate is marked provisional where that matters, and ``attention`` names the mistake.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from config import settings
from models.business_days import (
    PACKAGE_CALENDAR,
    BusinessCalendar,
    CalendarFileError,
    calendar_from_json,
)

MAX_FILE_BYTES = 1024 * 1024  # decades of holidays are a few kilobytes

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[tuple[str, int], BusinessCalendar] = {}


def read_calendar_file(path: Path) -> BusinessCalendar:
    source = f"HOLIDAYS_FILE {path}"
    try:
        text = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as error:
        raise CalendarFileError(f"{source}: cannot be read ({error.strerror})") from None
    if len(text) > MAX_FILE_BYTES:
        raise CalendarFileError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CalendarFileError(f"{source}: not JSON ({error})") from None
    return calendar_from_json(document, source)


def business_calendar() -> BusinessCalendar:
    """The package alone when ``HOLIDAYS_FILE`` is unset; else package and file."""
    path = settings.holidays_file()
    if path is None:
        return PACKAGE_CALENDAR
    try:
        version = (str(path), path.stat().st_mtime_ns)
    except OSError as error:
        message = f"HOLIDAYS_FILE {path}: cannot be read ({error.strerror})"
        raise CalendarFileError(message) from None
    with _lock:
        found = _loaded.get(version)
        if found is None:
            found = read_calendar_file(path)
            _loaded.clear()  # only the newest version is kept
            _loaded[version] = found
        return found


def calendar_for_estimates() -> BusinessCalendar:
    """``business_calendar``, or the package alone while ``HOLIDAYS_FILE`` cannot be used."""
    try:
        return business_calendar()
    except CalendarFileError as error:
        log.warning("%s; counting with the calendar package alone", error)
        return PACKAGE_CALENDAR
