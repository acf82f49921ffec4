"""Money: integer fen inside, two-decimal ``Decimal`` at the edges, never float.

Parsing is strict because an amount typed by a person or sent by a backend is the
one place a cent can be lost: floats, negatives, a third decimal, NaN and absurd
sizes are refused with a ``MoneyError`` that says which.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

FEN_PER_YUAN = 100
# 10^12 yuan is far beyond any cloud balance; a bigger number is a typo or an attack.
MAX_AMOUNT_FEN = 10**12 * FEN_PER_YUAN
TWO_PLACES = Decimal("0.01")
# Plain ASCII digits, an optional point and at most two decimals: no exponent, sign,
# underscore or full-width digit, each of which Decimal() would quietly accept.
AMOUNT_TEXT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")


class MoneyError(ValueError):
    """An amount that cannot be money: the message says why."""


class Money:
    """A non-negative amount of CNY held as integer fen."""

    __slots__ = ("fen",)
    fen: int

    def __init__(self, fen: int) -> None:
        if isinstance(fen, bool) or not isinstance(fen, int):
            raise MoneyError(f"fen must be an integer, got {type(fen).__name__}")
        if fen < 0:
            raise MoneyError(f"amount must not be negative, got {fen} fen")
        if fen > MAX_AMOUNT_FEN:
            raise MoneyError("amount is larger than any account can hold")
        object.__setattr__(self, "fen", fen)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Money is immutable")

    # ---- parsing and formatting at the edges -------------------------------------------
    @classmethod
    def parse(cls, value: object, field: str = "amount") -> Money:
        """Parse ``"12.34"``, ``Decimal("12.34")`` or ``Money``; refuse floats and ints.

        Plain ints are refused because ``12`` is ambiguous between yuan and fen.
        """
        if isinstance(value, Money):
            return value
        if isinstance(value, float):
            raise MoneyError(f"{field}: floats are not money; write the amount as a string")
        if isinstance(value, int):  # bool is an int too
            raise MoneyError(
                f'{field}: write the amount as a string with the decimals, e.g. "12.00"'
            )
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise MoneyError(f"{field}: empty amount")
            if len(text) > 32:
                raise MoneyError(f"{field}: amount is larger than any account can hold")
            if text.lstrip("+-").lower() in {"nan", "snan", "inf", "infinity"}:
                raise MoneyError(f"{field}: {text} is not a finite amount")
            if text.startswith("-"):
                raise MoneyError(f"{field}: amount must not be negative, got {text}")
            if not AMOUNT_TEXT.fullmatch(text):
                if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text):
                    raise MoneyError(f"{field}: at most two decimals (fen), got {text}")
                if re.fullmatch(r"[0-9]{14,}(\.[0-9]*)?", text):
                    raise MoneyError(f"{field}: amount is larger than any account can hold")
                raise MoneyError(f'{field}: {value!r} is not a number like "12.34"')
            try:
                number = Decimal(text)
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                raise MoneyError(f"{field}: {value!r} is not a number") from None
        elif isinstance(value, Decimal):
            number = value
        else:
            raise MoneyError(f"{field}: {type(value).__name__} is not an amount")
        return cls.from_decimal(number, field)

    @classmethod
    def from_decimal(cls, number: Decimal, field: str = "amount") -> Money:
        if not number.is_finite():
            raise MoneyError(f"{field}: {number} is not a finite amount")
        if number < 0:
            raise MoneyError(f"{field}: amount must not be negative, got {number}")
        if abs(number) >= Decimal(MAX_AMOUNT_FEN) / FEN_PER_YUAN:
            raise MoneyError(f"{field}: amount is larger than any account can hold")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2 and number != number.quantize(TWO_PLACES):
            raise MoneyError(f"{field}: at most two decimals (fen), got {number}")
        return cls(int(number.quantize(TWO_PLACES) * FEN_PER_YUAN))

    @classmethod
    def yuan(cls, text: str) -> Money:
        """Shorthand for literals in code and tests: ``Money.yuan("100.00")``."""
        return cls.parse(text)

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    def to_decimal(self) -> Decimal:
        return (Decimal(self.fen) / FEN_PER_YUAN).quantize(TWO_PLACES)

    def __str__(self) -> str:
        return f"{self.to_decimal():.2f}"

    def __repr__(self) -> str:
        return f"Money('{self}')"

    # ---- arithmetic ---------------------------------------------------------------------
    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        """Subtraction that would go below zero raises: use ``minus_floor_zero`` for max(0, …)."""
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def minus_floor_zero(self, other: Money) -> Money:
        return Money(max(0, self.fen - other.fen))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and self.fen == other.fen

    def __lt__(self, other: Money) -> bool:
        return self.fen < other.fen

    def __le__(self, other: Money) -> bool:
        return self.fen <= other.fen

    def __gt__(self, other: Money) -> bool:
        return self.fen > other.fen

    def __ge__(self, other: Money) -> bool:
        return self.fen >= other.fen

    def __hash__(self) -> int:
        return hash(self.fen)

    def __bool__(self) -> bool:
        return self.fen != 0

    # ---- pydantic: a string with two decimals on the wire ------------------------------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, when_used="always", return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def _validate(cls, value: object) -> Money:
        try:
            return cls.parse(value)
        except MoneyError as error:
            raise ValueError(str(error)) from None


def total(amounts: list[Money] | tuple[Money, ...]) -> Money:
    return Money(sum(a.fen for a in amounts))
