"""Same id, different request (issue 22, item 7): the refusal names ``payee`` as one unit,
never which of its parts differs, and only once everything else matched: a 409 is not an
oracle for guessing a payee's account number or name piece by piece."""

from __future__ import annotations

import pytest

from application.problems import problem_of
from application.withdrawals import conflict
from models.domain import DesignatedReason, Kind, Payee, Route, WithdrawalRequest
from models.money import Money
from models.sameness import first_difference

PAYEE = Payee(account_number="6222020200112233", name="Zhang San", branch_id="ICBC-110000-001")


def request(**changes: object) -> WithdrawalRequest:
    fields: dict[str, object] = {
        "withdrawal_id": "w-same",
        "account_id": "acct-1",
        "amount": Money.yuan("100.00"),
        "kind": Kind.RECHARGE,
        "route": Route.BANK,
        "order_id": "R-1",
        "reason": DesignatedReason.LIMIT_PASSED,
        "payee": PAYEE,
        "proofs": ["sha256:a", "sha256:b"],
    }
    return WithdrawalRequest.model_validate({**fields, **changes})


@pytest.mark.parametrize(
    "payee",
    [
        PAYEE.model_copy(update={"account_number": "6222020200119999"}),
        PAYEE.model_copy(update={"name": "Li Si"}),
        PAYEE.model_copy(update={"branch_id": "ICBC-110000-002"}),
        PAYEE.model_copy(update={"account_number": "6222020200119999", "name": "Li Si"}),
        None,
    ],
    ids=["account", "name", "branch", "account-and-name", "none"],
)
def test_any_difference_in_the_payee_is_named_payee_and_nothing_finer(
    payee: Payee | None,
) -> None:
    assert first_difference(request(), request(payee=payee)) == "payee"
    problem = problem_of(conflict("w-same", "payee"))
    assert problem is not None and problem.field == "payee"
    for part in ("account", "name", "branch", PAYEE.account_number, PAYEE.name):
        assert part.lower() not in problem.detail.lower(), problem


def test_the_payee_is_compared_last() -> None:
    """A caller who has not matched every other part learns nothing about the payee."""
    other_payee = PAYEE.model_copy(update={"name": "Li Si"})
    for change in (
        {"account_id": "acct-2"},
        {"amount": Money.yuan("100.01")},
        {"order_id": "R-2"},
        {"reason": DesignatedReason.EMPLOYEE_REIMBURSED},
        {"proofs": ["sha256:c"]},
    ):
        differing = first_difference(request(), request(payee=other_payee, **change))
        assert differing == next(iter(change)), change


def test_the_same_request_again_is_the_same_whoever_asks_and_in_any_proof_order() -> None:
    again = request(proofs=["sha256:b", "sha256:a"], requested_by="acct-master")
    assert first_difference(request(), again) is None
