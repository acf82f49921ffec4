"""The create shape's OpenAPI schema says what the API checks (issue 26, item 5): every body
the schema allows gets past ``to_request``'s checks (only rules needing the ledger, such as
an unknown branch, remain), and bodies the API calls malformed are outside the schema. The
patterns are built from the same expressions the checks use (``application.withdrawals``)."""

from __future__ import annotations

import base64
import contextlib
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from application.withdrawals import (
    AMOUNT_PATTERN,
    WITHDRAWAL_ID_PATTERN,
    WithdrawalCreate,
    parse_amount,
    to_request,
    withdrawal_id,
)
from models.errors import InputError, NotFound
from models.money import MoneyError

REF = "#/components/schemas/{model}"
EXAMPLES = 100


def create_schema(ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    return WithdrawalCreate.model_json_schema(ref_template=ref_template)


def openapi_of_create() -> dict[str, Any]:
    schema = create_schema(REF)
    definitions = schema.pop("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {"title": "create", "version": "1"},
        "paths": {
            "/v1/withdrawals": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": schema}},
                    },
                    "responses": {"201": {"description": "started"}},
                }
            }
        },
        "components": {"schemas": {**definitions, "WithdrawalCreate": schema}},
    }


def test_every_body_the_schema_allows_passes_the_create_checks(tmp_path: Path) -> None:
    api = schemathesis.openapi.from_dict(openapi_of_create())
    (operation,) = [result.ok() for result in api.get_all_operations() if isinstance(result, Ok)]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def allowed(case: Any) -> None:
        create = WithdrawalCreate.model_validate(case.body)
        # An unknown branch: the directory, not the shape (R10), answers that (404).
        with contextlib.suppress(NotFound):
            to_request(create, data_dir=tmp_path)

    allowed()


def malformed() -> list[dict[str, Any]]:
    base = {"account_id": "acct-personal", "amount": "10.00", "order_id": "R-1"}
    pdf = base64.b64encode(b"%PDF-1.4\n").decode()
    alipay = {
        "account_id": "acct-personal",
        "amount": "10.00",
        "non_recharge": True,
        "to": "alipay",
        "reason": "payer_account_closed",
        "payee_account": "payee@example.com",
        "payee_name": "Li Lei",
        "proofs": [{"filename": "p.pdf", "content_base64": pdf}],
    }
    return [
        {**base, "amount": "0.00"},
        {**base, "amount": "1.234"},
        {**base, "amount": " 10.00"},
        {**base, "amount": "010.00"},
        {**base, "amount": "1000000000000.00"},
        {**base, "id": "w-13800000000"},  # a phone number in an id
        {**base, "id": "has space"},
        {"account_id": "acct-personal", "amount": "10.00"},  # neither order nor R6
        {**base, "non_recharge": True},  # both
        {**base, "payee_account": "payee@example.com"},  # a payee on the original route
        {**alipay, "payee_account": "not an account"},
        {**alipay, "payee_account": "１３８００００００００"},  # full-width digits
        {**alipay, "payee_name": "  "},
        # white space to Python only, and to JSON Schema only: blank to both (schemathesis
        # found U+0085 let through by the schema and refused by the check)
        {**alipay, "payee_name": "\u0085"},
        {**alipay, "payee_name": "\u001c "},
        {**alipay, "payee_name": "\ufeff"},
        {**alipay, "proofs": []},
        {**alipay, "proofs": [{"filename": "p.exe", "content_base64": "TVqQAAMAAAAEAAAA"}]},
        {**alipay, "branch_id": "b-1"},
        {**alipay, "to": "bank", "payee_account": "6222020200112233", "branch_id": None},
        {**alipay, "to": "bank", "payee_account": "12345", "branch_id": "ICBC-NJ-01"},
    ]


@pytest.mark.parametrize("body", malformed())
def test_what_the_api_calls_malformed_the_schema_refuses(
    body: dict[str, Any], tmp_path: Path
) -> None:
    assert not jsonschema_rs.validator_for(create_schema()).is_valid(body)
    with pytest.raises((InputError, MoneyError)):
        to_request(WithdrawalCreate.model_validate(body), data_dir=tmp_path)


@pytest.mark.parametrize(
    "text", ["w-1", "w-20261126-0001", "a" * 64, "a" * 65, "w-1234567890", "w-12345678901", "-w"]
)
def test_the_id_pattern_is_the_id_check(text: str) -> None:
    try:
        withdrawal_id(text)
        accepted = True
    except InputError:
        accepted = False
    assert bool(re.search(WITHDRAWAL_ID_PATTERN, text)) is accepted


@pytest.mark.parametrize(
    "text",
    [
        "0.01",
        "0.1",
        "0.10",
        "1",
        "1.5",
        "999999999999.99",
        "0",
        "0.00",
        "00.10",
        "1.",
        ".5",
        "1e3",
        "+1",
        "1 ",
        "١",
    ],
)
def test_the_amount_pattern_is_the_amount_check(text: str) -> None:
    try:
        parse_amount(text)
        accepted = True
    except (InputError, MoneyError):
        accepted = False
    assert bool(re.search(AMOUNT_PATTERN, text)) is accepted
