"""Money parsing and formatting: strict at the edges so no cent is lost (DOMAIN preamble, R3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.money import MAX_AMOUNT_FEN, Money, MoneyError, total


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (12.5, "floats are not money"),
        (12, "write the amount as a string"),
        (True, "write the amount as a string"),
        ("-1.00", "must not be negative"),
        (Decimal("-0.01"), "must not be negative"),
        ("1.005", "at most two decimals"),
        ("1.000", "at most two decimals"),  # a third decimal is refused even when zero
        ("1e3", "is not a number"),
        ("1_000.00", "is not a number"),
        ("+5.00", "is not a number"),
        ("１２.００", "is not a number"),  # full-width digits
        (Decimal("0.001"), "at most two decimals"),
        ("NaN", "not a finite amount"),
        ("sNaN", "not a finite amount"),
        ("Infinity", "not a finite amount"),
        ("-Infinity", "not a finite amount"),
        (Decimal("Infinity"), "not a finite amount"),
        ("1000000000000.00", "larger than any account can hold"),
        ("9" * 40, "larger than any account can hold"),
        ("", "empty amount"),
        ("   ", "empty amount"),
        ("12,00", "is not a number"),
        ("twelve", "is not a number"),
        (None, "is not an amount"),
        ([1], "is not an amount"),
    ],
)
def test_money_parse_refuses_what_is_not_money(value: object, why: str) -> None:
    with pytest.raises(MoneyError, match=why):
        Money.parse(value)


def test_money_parse_error_names_the_field() -> None:
    with pytest.raises(MoneyError, match=r"^payee_amount: floats are not money"):
        Money.parse(0.1, field="payee_amount")


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0", 0),
        ("0.00", 0),
        ("0.01", 1),
        ("12.3", 1230),
        ("12.34", 1234),
        (" 100.00 ", 10000),
        ("999999999999.99", MAX_AMOUNT_FEN - 1),
    ],
)
def test_money_parse_accepts_two_decimal_strings(text: str, fen: int) -> None:
    assert Money.parse(text).fen == fen


def test_money_parse_accepts_decimal_and_money() -> None:
    amount = Money.parse(Decimal("7.50"))
    assert amount.fen == 750
    assert Money.parse(amount) is amount


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (1234, "12.34"), (100_000_00, "100000.00")],
)
def test_money_formats_with_exactly_two_decimals(fen: int, text: str) -> None:
    assert str(Money(fen)) == text
    assert Money(fen).to_decimal() == Decimal(text)
    assert repr(Money(fen)) == f"Money('{text}')"


def test_money_round_trips_through_its_text() -> None:
    for fen in (0, 1, 99, 100, 123_456_789):
        assert Money.parse(str(Money(fen))).fen == fen


def test_money_constructor_refuses_non_integer_and_negative_fen() -> None:
    with pytest.raises(MoneyError):
        Money(1.0)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(True)
    with pytest.raises(MoneyError):
        Money(-1)
    with pytest.raises(MoneyError):
        Money(MAX_AMOUNT_FEN + 1)


def test_money_is_immutable() -> None:
    amount = Money(100)
    with pytest.raises(AttributeError):
        amount.fen = 5


def test_money_subtraction_below_zero_raises_and_floor_zero_does_not() -> None:
    with pytest.raises(MoneyError):
        Money.yuan("1.00") - Money.yuan("2.00")
    assert Money.yuan("1.00").minus_floor_zero(Money.yuan("2.00")) == Money.zero()
    assert Money.yuan("3.00") - Money.yuan("2.50") == Money.yuan("0.50")


def test_money_total_adds_fen_exactly() -> None:
    # 0.1 + 0.2 is the classic float loss; in fen it is exact.
    assert total([Money.yuan("0.10"), Money.yuan("0.20")]) == Money.yuan("0.30")
    assert total([]) == Money.zero()
