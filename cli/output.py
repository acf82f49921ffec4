"""Printing results: one JSON document (two-decimal amounts, ISO 8601 times with offset)
or a plain table for people."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from models.jsonable import jsonable

__all__ = ["display_width", "jsonable", "table", "to_json"]


def to_json(document: Any) -> str:
    return json.dumps(jsonable(document), ensure_ascii=False, indent=2)


def table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
    """Left-aligned columns; numbers are already strings, right-aligned if they look like it."""
    all_rows = [list(header)] if header else []
    all_rows += [list(r) for r in rows]
    if not all_rows:
        return ""
    widths = [max(display_width(r[i]) for r in all_rows) for i in range(len(all_rows[0]))]

    def line(row: list[str]) -> str:
        cells = []
        for cell, width in zip(row, widths, strict=True):
            padding = " " * (width - display_width(cell))
            cells.append(padding + cell if _numeric(cell) else cell + padding)
        return "  ".join(cells).rstrip()

    return "\n".join(line(r) for r in all_rows)


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese status names take two each."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _numeric(cell: str) -> bool:
    return bool(cell) and cell.replace(".", "", 1).replace("-", "", 1).isdigit()
