"""Business-day calendar files for tests (``HOLIDAYS_FILE``, docs/calendar.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

# The 2027 calendar as ops would supply it (the State Council's notice, as an example):
# Spring Festival 2027-02-06 … 2027-02-12 off, Sunday 2027-02-14 worked.
HOLIDAYS_2027 = {
    "2027": {
        "holidays": ["2027-01-01", *(f"2027-02-{d:02d}" for d in range(6, 13))],
        "workdays": ["2027-02-14"],
    }
}


def write_calendar(directory: Path, document: object, name: str = "holidays.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(document))
    return path


def covering_next_years(directory: Path, years: int = 3) -> Path:
    """A file that covers the next few years from today's real date, so a test about
    something else is not met by ``attention``'s December calendar item."""
    this_year = datetime.now(UTC).year
    document = {
        str(year): {"holidays": [f"{year}-01-01"], "workdays": []}
        for year in range(this_year + 1, this_year + 1 + years)
    }
    return write_calendar(directory, document, "next-years.json")
