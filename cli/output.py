"""Printing results: one JSON document (two-decimal amounts, ISO 8601 times with offset)
or a plain table for people."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from models.money import Money


def jsonable(value: Any) -> Any:
    """Turn results into JSON values: ``Money`` → ``"12.34"``, datetimes → aware ISO 8601."""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"refusing to print naive datetime {value.isoformat()}")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return jsonable({name: getattr(value, name) for name in type(value).model_fields})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Not dataclasses.asdict: it deep-copies, and Money is immutable by design.
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


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
