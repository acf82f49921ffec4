"""Errors as ``application/problem+json`` (RFC 9457), from the same typed problems the CLI
prints: 400 bad input, 404 unknown, 409 same id with another request, 422 refused by a rule
(with ``rule``), plus 401, 413, 429 and 503 from the HTTP layer."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from application.problems import Problem, ProblemKind

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/problems/"
# What a 503 asks a client to wait before trying again: short, since a restarted
# database or Temporal answers within seconds, and a client's retry costs nothing.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

STATUS_OF_KIND = {
    ProblemKind.BAD_INPUT: 400,
    ProblemKind.NOT_FOUND: 404,
    ProblemKind.CONFLICT: 409,
    ProblemKind.REFUSED: 422,
}
TITLES = {
    400: "Bad input",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the request first made under this id",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Refused by a business rule",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
SLUGS = {
    400: "bad-input",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "refused",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}


class ProblemDocument(BaseModel):
    """RFC 9457 problem details; ``rule`` names the business rule of a 422 (e.g. "R12"),
    ``field`` the input a 400 or 409 is about."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/refused",
                    "title": "Refused by a business rule",
                    "status": 422,
                    "detail": "R14: withdrawable is 200.00",
                    "rule": "R14",
                }
            ]
        },
    )

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    rule: str | None = None
    field: str | None = None


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    rule: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + SLUGS.get(status, str(status)),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if rule is not None:
        body["rule"] = rule
    if field is not None:
        body["field"] = field
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def unavailable(detail: str, instance: str | None = None) -> JSONResponse:
    """503: a service behind the API (the database, Temporal) is away for now; the
    request may be sent again as it was after ``Retry-After`` seconds."""
    return problem_response(
        503,
        detail,
        instance=instance,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


def from_problem(problem: Problem, instance: str | None = None) -> JSONResponse:
    return problem_response(
        STATUS_OF_KIND[problem.kind],
        problem.detail,
        instance=instance,
        rule=problem.rule,
        field=problem.field,
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, as problem+json."""
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
