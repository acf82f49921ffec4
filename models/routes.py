"""R8: how long the original route stays open, and the bank directory behind it.

The bank table is data (``models/data/original_route_limits.json``), not code, so a bank
changing its limit is a data change. *Interpretation* (DOMAIN R8): the table applies to
online-banking recharges only; Alipay and bank-card recharges use the 180-day default.
The file is checked when this module is imported, so a broken table stops the service
at start-up instead of mis-routing a payout later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from models.domain import Channel
from models.errors import InputError

LIMITS_RESOURCE = "original_route_limits.json"


@dataclass(frozen=True)
class BankName:
    zh: str
    en: str


@dataclass(frozen=True)
class RouteLimitTable:
    default_days: int
    table_channels: frozenset[Channel]
    limits: dict[Channel, dict[str, int]]
    banks: dict[str, BankName]


def _positive_days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{LIMITS_RESOURCE}: {where} must be a positive number of days")
    return value


def _parse_table(raw: dict[str, Any]) -> RouteLimitTable:
    banks = {code: BankName(zh=n["zh"], en=n["en"]) for code, n in raw["banks"].items()}
    limits: dict[Channel, dict[str, int]] = {}
    for channel_name, per_bank in raw["limits"].items():
        channel = Channel(channel_name)
        for code, days in per_bank.items():
            if code not in banks:
                raise ValueError(f"{LIMITS_RESOURCE}: {code} has a limit but no directory entry")
            _positive_days(days, f"limits.{channel_name}.{code}")
        limits[channel] = dict(per_bank)
    table_channels = frozenset(Channel(c) for c in raw["table_channels"])
    if not set(limits) <= table_channels:
        raise ValueError(f"{LIMITS_RESOURCE}: limits given for a channel outside table_channels")
    return RouteLimitTable(
        default_days=_positive_days(raw["default_days"], "default_days"),
        table_channels=table_channels,
        limits=limits,
        banks=banks,
    )


def _load_table() -> RouteLimitTable:
    text = resources.files("models.data").joinpath(LIMITS_RESOURCE).read_text(encoding="utf-8")
    return _parse_table(json.loads(text))


TABLE = _load_table()
KNOWN_BANKS: frozenset[str] = frozenset(TABLE.banks)


def _bank_entry(code: str) -> BankName:
    try:
        return TABLE.banks[code]
    except KeyError:
        raise InputError("bank", f"unknown bank code {code!r}") from None


def bank_name(code: str) -> str:
    """The bank's English name, e.g. ``bank_name("JSB") == "Bank of Jiangsu"``."""
    return _bank_entry(code).en


def bank_name_zh(code: str) -> str:
    """The bank's Chinese name, e.g. ``bank_name_zh("JSB") == "江苏银行"``."""
    return _bank_entry(code).zh


def original_route_limit_days(channel: Channel, bank: str | None) -> int:
    """R8: days after payment during which the original route can still refund.

    An online-banking recharge must name its bank: guessing the 180-day default for a
    30-day bank would send a payout the bank is sure to refuse. For other channels the
    bank is optional, but a code that is given must be known.
    """
    if bank is not None:
        _bank_entry(bank)
    if channel not in TABLE.table_channels:
        return TABLE.default_days
    if bank is None:
        raise InputError("bank", f"a {channel.value} recharge needs its bank code (R8)")
    return TABLE.limits.get(channel, {}).get(bank, TABLE.default_days)


def _require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(field, "a time needs its timezone offset")


def original_route_deadline(channel: Channel, bank: str | None, paid_at: datetime) -> datetime:
    """R8: the last instant the original route is open: ``paid_at`` plus the limit in days."""
    _require_aware(paid_at, "paid_at")
    return paid_at + timedelta(days=original_route_limit_days(channel, bank))


def original_route_open(
    channel: Channel, bank: str | None, paid_at: datetime, now: datetime
) -> bool:
    """R8: open up to and including the deadline; closed after it."""
    _require_aware(now, "now")
    return now <= original_route_deadline(channel, bank, paid_at)
