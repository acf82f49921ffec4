"""R9/R10: designated payee details, refused at the door with the field named."""

from __future__ import annotations

import pytest

from models.domain import Payee, Route
from models.payee import payee_problem

CARD = "6222021234567890123"
PROOFS = ["sha256:0f3a"]


def problem(route: Route, payee: Payee | None, proofs: list[str]) -> str | None:
    """The refusal as it is shown ("field: why"), or None."""
    found = payee_problem(route, payee, proofs)
    return None if found is None else str(found)


def bank_payee(**changes: str | None) -> Payee:
    fields: dict[str, str | None] = {
        "account_number": CARD,
        "name": "张三",
        "branch_id": "102100099996",
        "bank": "ICBC",
        "province": "北京市",
        "city": "北京市",
        "branch_name": "中国工商银行北京分行营业部",
    }
    return Payee.model_validate({**fields, **changes})


def alipay_payee(account: str, name: str = "李四") -> Payee:
    return Payee(account_number=account, name=name)


def test_r9_complete_bank_payee_with_proof_is_accepted() -> None:
    assert problem(Route.BANK, bank_payee(), PROOFS) is None


@pytest.mark.parametrize("account", ["13800000000", "19912345678", "pay@example.com", "a.b@c.cn"])
def test_r9_alipay_payee_with_mobile_or_email_is_accepted(account: str) -> None:
    assert problem(Route.ALIPAY, alipay_payee(account), PROOFS) is None


@pytest.mark.parametrize(
    "account",
    ["", "23800000000", "1380000000", "138000000001", "+8613800000000", "no-at-sign", "a@b"],
)
def test_r9_alipay_account_must_be_mobile_or_email(account: str) -> None:
    message = problem(Route.ALIPAY, alipay_payee(account), PROOFS)
    assert message is not None
    assert message.startswith("payee.account_number: ")


@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
@pytest.mark.parametrize("name", ["", "   ", "名" * 101])
def test_r9_payee_name_is_required_and_bounded(route: Route, name: str) -> None:
    payee = bank_payee(name=name) if route == Route.BANK else alipay_payee("13800000000", name)
    message = problem(route, payee, PROOFS)
    assert message is not None
    assert message.startswith("payee.name: ")


@pytest.mark.parametrize(
    "number", ["12345678901", "62220212345678901234", "6222 0212 3456 7890", "62220212345678ab", ""]
)
def test_r9_bank_card_number_has_12_to_19_digits(number: str) -> None:
    message = problem(Route.BANK, bank_payee(account_number=number), PROOFS)
    assert message is not None
    assert message.startswith("payee.account_number: a bank card number has 12 to 19 digits")


@pytest.mark.parametrize("number", ["123456789012", CARD])
def test_r9_bank_card_number_length_bounds_are_inclusive(number: str) -> None:
    assert problem(Route.BANK, bank_payee(account_number=number), PROOFS) is None


def test_r9_messages_never_show_the_full_account_number() -> None:
    number = "62220212345678901234"  # 20 digits: refused
    message = problem(Route.BANK, bank_payee(account_number=number), PROOFS)
    assert message is not None
    assert number not in message
    assert "****1234" in message


@pytest.mark.parametrize("field", ["branch_id", "bank", "province", "city"])
@pytest.mark.parametrize("value", [None, ""])
def test_r10_bank_payee_needs_the_branch_directory_fields(field: str, value: str | None) -> None:
    message = problem(Route.BANK, bank_payee(**{field: value}), PROOFS)
    assert message is not None
    assert message.startswith(f"payee.{field}: ")
    assert "R10" in message


@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
def test_r9_designated_route_needs_a_payee(route: Route) -> None:
    assert problem(route, None, PROOFS) == (
        "payee: a designated receiving account needs a payee (R9)"
    )


@pytest.mark.parametrize("proofs", [[], [""], ["  "], ["x" * 201], ["p"] * 21])
def test_r9_designated_route_needs_proof_material(proofs: list[str]) -> None:
    message = problem(Route.BANK, bank_payee(), proofs)
    assert message is not None
    assert message.startswith("proofs: ")


def test_r9_original_route_needs_no_payee() -> None:
    assert problem(Route.ORIGINAL, None, []) is None
    message = problem(Route.ORIGINAL, bank_payee(), [])
    assert message is not None
    assert message.startswith("payee: ")


def test_the_problem_names_its_field_as_data() -> None:
    found = payee_problem(Route.BANK, bank_payee(city=""), PROOFS)
    assert found is not None
    assert (found.field, found.why) == (
        "payee.city",
        "choose the branch from the directory to fill it (R10)",
    )
    assert str(found) == str(found.error())
