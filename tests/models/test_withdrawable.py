"""R11–R14: the withdrawable formula, its worked example and the pay-as-you-go reserve."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.money import Money
from models.rules import (
    PAYG_RESERVE,
    BalanceSnapshot,
    order_remaining,
    payg_reserve,
    recharge_withdrawal_limit,
    withdrawable,
)


def snapshot(**amounts: str) -> BalanceSnapshot:
    fields = ("cash", "transfer_in", "owed_invoice", "overdue", "unsettled", "payg_reserve")
    values = {name: Money.yuan(amounts.get(name, "0.00")) for name in fields}
    return BalanceSnapshot(**values, held=Money.yuan(amounts.get("held", "0.00")))


def test_r13_worked_example_holds_exactly() -> None:
    b = withdrawable(
        snapshot(
            cash="1000.00",
            transfer_in="500.00",
            owed_invoice="200.00",
            overdue="300.00",
            unsettled="200.00",
            payg_reserve="100.00",
        )
    )
    assert b.debts == Money.yuan("700.00")
    assert b.uncovered_debts == Money.yuan("200.00")
    assert b.not_withdrawable == Money.yuan("800.00")
    assert b.withdrawable == Money.yuan("200.00")


def test_r12_money_held_by_withdrawals_in_flight_is_not_withdrawable() -> None:
    b = withdrawable(snapshot(cash="1000.00", held="150.00"))
    assert b.not_withdrawable == Money.yuan("150.00")
    assert b.withdrawable == Money.yuan("850.00")


def test_r12_transfer_in_covering_all_debts_leaves_nothing_uncovered() -> None:
    b = withdrawable(snapshot(cash="1000.00", transfer_in="800.00", overdue="300.00"))
    assert b.uncovered_debts == Money.zero()
    assert b.withdrawable == Money.yuan("200.00")


def test_r12_withdrawable_floors_at_zero_when_locked_exceeds_cash() -> None:
    b = withdrawable(snapshot(cash="50.00", payg_reserve="100.00"))
    assert b.withdrawable == Money.zero()


def test_r14_limit_is_the_smaller_of_order_remaining_and_withdrawable() -> None:
    remaining = order_remaining(Money.yuan("800.00"), Money.yuan("700.00"))
    assert remaining == Money.yuan("100.00")
    assert recharge_withdrawal_limit(remaining, Money.yuan("200.00")) == Money.yuan("100.00")
    assert recharge_withdrawal_limit(Money.yuan("500.00"), Money.yuan("200.00")) == Money.yuan(
        "200.00"
    )
    assert order_remaining(Money.yuan("10.00"), Money.yuan("20.00")) == Money.zero()


# ---- R11 pay-as-you-go reserve: 24 hours after the latest release ----------------------
RELEASED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_r11_no_payg_resource_means_no_reserve() -> None:
    assert payg_reserve([], RELEASED) == Money.zero()


def test_r11_live_payg_resource_keeps_the_reserve() -> None:
    long_after = RELEASED + timedelta(days=365)
    assert payg_reserve([RELEASED - timedelta(days=30), None], long_after) == PAYG_RESERVE
    assert payg_reserve([None], long_after) == Money.yuan("100.00")


def test_r11_reserve_stays_until_just_before_24_hours_after_release() -> None:
    just_before = RELEASED + timedelta(hours=24) - timedelta(microseconds=1)
    assert payg_reserve([RELEASED], just_before) == PAYG_RESERVE


def test_r11_reserve_is_gone_exactly_24_hours_after_release() -> None:
    assert payg_reserve([RELEASED], RELEASED + timedelta(hours=24)) == Money.zero()


def test_r11_reserve_is_gone_after_24_hours() -> None:
    assert payg_reserve([RELEASED], RELEASED + timedelta(hours=25)) == Money.zero()


def test_r11_latest_release_counts_not_the_first() -> None:
    earlier = RELEASED - timedelta(hours=20)
    at = RELEASED + timedelta(hours=23)  # 43 h after the first release, 23 h after the last
    assert payg_reserve([earlier, RELEASED], at) == PAYG_RESERVE
    assert payg_reserve([RELEASED, earlier], at) == PAYG_RESERVE
    assert payg_reserve([earlier, RELEASED], RELEASED + timedelta(hours=24)) == Money.zero()


# ---- R12 properties -------------------------------------------------------------------
# Each component stays below 10^10 yuan so that sums stay within MAX_AMOUNT_FEN.
amounts = st.integers(min_value=0, max_value=10**12).map(Money)
snapshots = st.builds(
    BalanceSnapshot,
    cash=amounts,
    transfer_in=amounts,
    owed_invoice=amounts,
    overdue=amounts,
    unsettled=amounts,
    payg_reserve=st.sampled_from([Money.zero(), PAYG_RESERVE]),
    held=amounts,
)
LOCKING_FIELDS = ("owed_invoice", "overdue", "unsettled", "held")


@given(snapshots)
def test_r12_withdrawable_is_never_negative_nor_more_than_cash(b: BalanceSnapshot) -> None:
    result = withdrawable(b).withdrawable
    assert Money.zero() <= result <= b.cash


@given(snapshots)
def test_r12_breakdown_adds_up(b: BalanceSnapshot) -> None:
    result = withdrawable(b)
    assert result.debts == b.owed_invoice + b.overdue + b.unsettled
    assert result.uncovered_debts == result.debts.minus_floor_zero(b.transfer_in)
    assert result.withdrawable == b.cash.minus_floor_zero(result.not_withdrawable)


@given(snapshots, st.sampled_from(LOCKING_FIELDS), amounts)
def test_r12_withdrawable_never_grows_when_a_debt_or_hold_grows(
    b: BalanceSnapshot, field: str, extra: Money
) -> None:
    grown = replace(b, **{field: getattr(b, field) + extra})
    assert withdrawable(grown).withdrawable <= withdrawable(b).withdrawable


@given(snapshots, amounts)
def test_r12_withdrawable_never_grows_when_transfer_in_grows(
    b: BalanceSnapshot, extra: Money
) -> None:
    # Transfer-in pays debts first, but it is itself never withdrawable (R11).
    grown = replace(b, transfer_in=b.transfer_in + extra)
    assert withdrawable(grown).withdrawable <= withdrawable(b).withdrawable


@given(snapshots, amounts)
def test_r12_withdrawable_never_shrinks_when_cash_grows(b: BalanceSnapshot, extra: Money) -> None:
    grown = replace(b, cash=b.cash + extra)
    assert withdrawable(grown).withdrawable >= withdrawable(b).withdrawable
