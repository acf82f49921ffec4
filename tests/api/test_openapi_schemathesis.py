"""The HTTP API against its own OpenAPI 3.1 document (schemathesis, bounded examples per
operation): no 5xx, and every status code, content type and body matches the document.
Runs against the real API process of the test stack, with its dev key."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.api.conftest import Api

MAX_EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_document_is_openapi_3_1_with_examples(api: Api) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    create = document["components"]["schemas"]["WithdrawalCreate"]
    assert create["examples"][0]["amount"] == "100.00"
    assert "bearer" in str(document["components"]["securitySchemes"]).lower()
    assert api.get("/docs").status_code == 200


def test_every_operation_conforms_to_its_schema(api: Api) -> None:
    # schemathesis's pytest plugin does not run under this pytest; its strategies do.
    schema = schemathesis.openapi.from_url(api.stack.urls.http + "/openapi.json")
    headers = {"Authorization": f"Bearer {api.key}"}
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) == 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(base_url=api.stack.urls.http, headers=headers, checks=CHECKS)

        conforms()
