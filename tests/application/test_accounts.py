"""application/accounts.py driven directly (issue 23): the withdrawable breakdown (R11,
R12) and the transaction details (R20) over a real ledger."""

from __future__ import annotations

import pytest

from application import accounts, withdrawals
from models.errors import InputError, NotFound
from models.money import Money
from tests.workflows.harness import Stack, make_request, now


async def test_withdrawable_is_the_cash_less_what_is_held(stack: Stack) -> None:
    before = accounts.withdrawable(stack.engine, "acct-auto", now())
    request = make_request(amount="250.00")
    await withdrawals.create(stack.engine, stack.client, request, now())
    stack.started.append(request.withdrawal_id)
    after = accounts.withdrawable(stack.engine, "acct-auto", now())

    assert before.breakdown.withdrawable == Money.yuan("1000.00")
    assert after.breakdown.withdrawable == Money.yuan("750.00")
    assert after.document()["account_id"] == "acct-auto"


def test_withdrawable_of_an_unknown_account_is_not_found(stack: Stack) -> None:
    with pytest.raises(NotFound):
        accounts.withdrawable(stack.engine, "acct-nobody", now())


async def test_a_paid_withdrawal_is_a_withdrawal_entry_after_the_opening(stack: Stack) -> None:
    wid = await stack.start(amount="100.00")  # original route, no review (R16)
    await stack.verify(wid, "acct-auto")
    await stack.client.result(wid)

    every = accounts.account_transactions(stack.engine, "acct-auto")
    paid = accounts.account_transactions(stack.engine, "acct-auto", type="withdrawal")

    assert [e["type"] for e in every.entries] == ["opening", "withdrawal"]
    assert [(e["withdrawal_id"], e["amount"]) for e in paid.entries] == [
        (wid, Money.yuan("100.00"))
    ]
    assert paid.entries[0]["balance_after"] == Money.yuan("900.00")


def test_transactions_refuse_an_unknown_type_a_reversed_range_and_an_unknown_account(
    stack: Stack,
) -> None:
    with pytest.raises(InputError) as kind:
        accounts.account_transactions(stack.engine, "acct-auto", type="gift")
    with pytest.raises(InputError) as reversed_range:
        accounts.account_transactions(
            stack.engine, "acct-auto", since="2026-11-30", until="2026-11-01"
        )
    with pytest.raises(NotFound):
        accounts.account_transactions(stack.engine, "acct-nobody")
    assert (kind.value.field, reversed_range.value.field) == ("type", "until")
