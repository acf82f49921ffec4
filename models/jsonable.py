"""Turning results into JSON values, the same way for every reader: the CLI's ``--json``,
the HTTP API's documents and the webhook events written to the outbox (``ledger.events``).

Money as a two-decimal string, datetimes as aware ISO 8601 (naive ones refused), enums as
their values; pure, so every layer may use it.
"""

from __future__ import annotations

import dataclasses
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
