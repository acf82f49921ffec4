"""What every ``/v1`` route shares: the API key scheme, the statuses a guarded route may
answer, the path and query shapes, and the ``Services`` the handlers reach through the
request (``app.state.services``, set by ``api.app.create_app``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.security import HTTPBearer
from sqlalchemy import Engine

from api.guard import ACTOR_SCOPE_KEY
from application import withdrawals
from application.withdrawals import WITHDRAWAL_ID_PATTERN
from client.connection import connect
from client.withdrawals import WithdrawalClient

V1_PREFIX = "/v1"
bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer KEY")
GUARDED = (400, 401, 413, 429, 503)  # 503: the database or Temporal is away
# The ids in paths, as the create shape makes them (an unknown one is 404).
WITHDRAWAL_ID = Annotated[
    str,
    Path(max_length=withdrawals.MAX_ID_CHARS, json_schema_extra={"pattern": WITHDRAWAL_ID_PATTERN}),
]
# A day or an aware time, as ``application.accounts.parse_bound`` reads them.
TIME_BOUND = Annotated[
    str | None,
    Query(
        max_length=40,
        json_schema_extra={
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ]
        },
        description="a day (China time) like 2026-11-30, or a time with its offset",
    ),
]
# The create answer leads to everything a backend does next with the withdrawal (OpenAPI
# links: stateful clients and fuzzers follow them).
WITHDRAWAL_LINKS = {
    name: {
        "operationId": operation,
        "parameters": {"withdrawal_id": "$response.body#/id"},
        "description": description,
    }
    for name, operation, description in (
        ("GetWithdrawal", "getWithdrawal", "its status document"),
        ("SubmitCode", "submitCode", "the code texted to the account's phone (R15)"),
        ("ResendCode", "resendCode", "a new code (R15)"),
        ("CancelWithdrawal", "cancelWithdrawal", "cancel before payout (R19)"),
    )
}


@dataclass
class Services:
    """What the handlers need; ``client`` is connected on first use (or at start)."""

    engine: Engine
    client: WithdrawalClient | None = None
    now: Any = field(default=lambda: datetime.now(UTC))

    async def temporal(self) -> WithdrawalClient:
        if self.client is None:
            self.client = WithdrawalClient(await connect())
        return self.client


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def actor_of(request: Request) -> str | None:
    state = request.scope.get("state", {})
    name = state.get(ACTOR_SCOPE_KEY)
    return f"api:{name}" if name else None
