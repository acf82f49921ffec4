"""The FastAPI application: ``/v1`` for backends (CONTRACT.md, "HTTP API"), ``/openapi.json``
and ``/docs``, ``/health``. Built by ``create_app`` so other faces mount beside it: the
reviewer console under ``/console`` and ops metrics at ``/metrics`` add their routers to
the app this returns (``app.include_router`` / ``app.mount``); neither needs an API key,
since only ``/v1`` is guarded (``api.guard``).

Every handler calls ``application/`` and translates: a result to JSON, a refusal to
problem+json with the same words the CLI prints.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Header, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from api import schemas
from api.guard import ACTOR_SCOPE_KEY, MAX_BODY_BYTES, Guard, RateLimits
from api.keys import KeyRing, keys_from_env
from api.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemDocument,
    from_problem,
    problem_response,
    unavailable,
)
from api.problems import responses as problem_responses
from application import accounts, withdrawals
from application.accounts import ENTRY_TYPES
from application.problems import problem_of
from application.withdrawals import WITHDRAWAL_ID_PATTERN, WithdrawalCreate
from client.connection import connect
from client.withdrawals import WithdrawalClient
from console import routes as console
from ledger.db import is_unavailable
from models.domain import Status, WithdrawalStatusDoc
from models.errors import InputError, RuleRefusal
from models.money import MoneyError
from observability.http import instrument_app

DEFAULT_HTTP_PORT = 8805
API_TITLE = "Withdrawals API"
API_VERSION = "1.0.0"

log = logging.getLogger("api")
bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer KEY")
ACCOUNT_ID = Annotated[str, Query(max_length=64)]
PATH_PARAMETER = re.compile(r"\\\{[^/]+?\\\}")  # ``{withdrawal_id}`` once re.escape'd
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
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


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _actor(request: Request) -> str | None:
    state = request.scope.get("state", {})
    name = state.get(ACTOR_SCOPE_KEY)
    return f"api:{name}" if name else None


def create_app(
    *,
    engine: Engine | None = None,
    client: WithdrawalClient | None = None,
    keys: KeyRing | None = None,
    limits: RateLimits | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The HTTP service. Defaults read the environment (``DATABASE_URL``, ``TEMPORAL_*``,
    ``API_KEYS``, ``API_RATE_PER_SECOND``, ``API_RATE_BURST``)."""
    if engine is None:
        from ledger.db import get_engine

        engine = get_engine()
    services = Services(engine=engine, client=client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "Start and follow withdrawals from any backend. Every `/v1` request needs "
            "`Authorization: Bearer KEY`. Amounts are strings with at most two decimals. "
            "Errors are `application/problem+json` (RFC 9457); a refusal by a business "
            "rule is 422 with the rule number in `rule`."
        ),
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_middleware(
        Guard,
        keys=keys or keys_from_env(),
        limits=limits or _limits_from_env(),
        max_body_bytes=max_body_bytes,
    )
    _install_error_handlers(app)
    app.include_router(_router())
    console.mount(app)  # the reviewer console under /console (its own sessions, no API key)
    instrument_app(app)  # /metrics (no key: the guard covers /v1 only) and request metrics

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    _add_problem_schema(app)
    return app


def _limits_from_env() -> RateLimits:
    rate = float(os.environ.get("API_RATE_PER_SECOND") or RateLimits.rate)
    burst = int(os.environ.get("API_RATE_BURST") or RateLimits.burst)
    return RateLimits(rate=rate, burst=burst)


# ---- errors ------------------------------------------------------------------------------
def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            location = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path")]
            where = ".".join(location) or "body"
            problems.append({"field": where, "detail": str(item.get("msg", ""))})
        first = problems[0] if problems else {"field": "body", "detail": "invalid"}
        return problem_response(
            400,
            f"{first['field']}: {first['detail']}",
            instance=request.url.path,
            field=first["field"],
            extra={"errors": problems},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers) if error.headers else {}
        served = _methods_served(request) if error.status_code == 405 else []
        if served:  # RFC 9110: a 405 names every method the path serves
            headers["Allow"] = ", ".join(served)
        return problem_response(
            error.status_code, str(error.detail), instance=request.url.path, headers=headers
        )

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, error: RPCError) -> JSONResponse:
        if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return unavailable("Temporal is not reachable; retry later", request.url.path)
        raise error

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        # The ledger's database stopped, restarting or cut off. The request may be sent
        # again as it was: a create is idempotent under its id (one that got as far as
        # starting its workflow attaches to it). The pool checks each connection before
        # use, so the first request after the database is back succeeds; this process
        # needs no restart.
        if not is_unavailable(error):
            raise error
        log.warning("database unavailable (%s): answered 503", type(error).__name__)
        return unavailable("the ledger's database is not reachable; retry later", request.url.path)

    for database_failure in (DBAPIError, PoolTimeout):
        app.add_exception_handler(database_failure, database_error)

    async def refused(request: Request, error: Exception) -> Response:
        problem = problem_of(error)
        if problem is None:
            return problem_response(500, "internal error", instance=request.url.path)
        return from_problem(problem, instance=request.url.path)

    # The same typed problems the CLI turns into exit statuses (application.problems).
    for kind in (InputError, MoneyError, RuleRefusal, ValidationError):
        app.add_exception_handler(kind, refused)


def _methods_served(request: Request) -> list[str]:
    """The methods the OpenAPI document gives this path (Starlette's own 405 names only
    the first matching route's, and ``/v1/withdrawals`` has a GET and a POST route)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(PATH_PARAMETER.sub("[^/]+", re.escape(template)), request.url.path):
            methods |= {method.upper() for method in operations if method in HTTP_METHODS}
    return sorted(methods)


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = ProblemDocument.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# ---- routes ------------------------------------------------------------------------------
def _router() -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Security(bearer)])
    guarded = (400, 401, 413, 429, 503)  # 503: the database or Temporal is away

    @router.get(
        "/accounts/{account_id}/withdrawable",
        response_model=schemas.WithdrawableDocument,
        responses=problem_responses(*guarded, 404),
        summary="What an account can withdraw (R11–R14)",
        operation_id="getWithdrawable",
    )
    async def get_withdrawable(request: Request, account_id: str) -> schemas.WithdrawableDocument:
        services = _services(request)
        found = accounts.withdrawable(services.engine, account_id, services.now())
        document = found.document()
        document["orders"] = [
            schemas.OrderRemainingOut(
                order_id=o.order_id,
                amount=o.amount,
                remaining=o.remaining,
                original_route_until=o.original_route_until,
            )
            for o in found.orders
        ]
        return schemas.WithdrawableDocument.model_validate(document)

    @router.post(
        "/withdrawals",
        response_model=WithdrawalStatusDoc,
        status_code=201,
        responses={
            201: {"description": "started: the status document", "links": WITHDRAWAL_LINKS},
            200: {
                "description": "the same id with the same request: the current document",
                "model": WithdrawalStatusDoc,
                "links": WITHDRAWAL_LINKS,
            },
            **problem_responses(*guarded, 404, 409, 422),
        },
        summary="Start a withdrawal (idempotent under its id)",
        description=(
            "An `Idempotency-Key` header may carry the id instead of the body's `id`; when "
            "both are given they must be equal (400 otherwise)."
        ),
        operation_id="createWithdrawal",
    )
    async def create_withdrawal(
        request: Request,
        response: Response,
        body: Annotated[WithdrawalCreate, Body()],
        idempotency_key: Annotated[
            str | None,
            # Described in the operation, not as a parameter: a schema cannot say "equal to
            # the body's id", and a document must not allow what the API refuses.
            Header(max_length=64, include_in_schema=False),
        ] = None,
    ) -> WithdrawalStatusDoc:
        services = _services(request)
        if idempotency_key is not None:
            if body.id is not None and body.id != idempotency_key:
                raise InputError("id", "the body's id and the Idempotency-Key header differ")
            body = body.model_copy(update={"id": idempotency_key})
        withdrawal = withdrawals.to_request(body)
        created = await withdrawals.create(
            services.engine,
            await services.temporal(),
            withdrawal,
            services.now(),
            actor=_actor(request),
        )
        response.status_code = 201 if created.created else 200
        return created.document

    @router.get(
        "/withdrawals",
        response_model=schemas.WithdrawalList,
        responses=problem_responses(*guarded),
        summary="Withdrawal records, newest first (R20)",
        operation_id="listWithdrawals",
    )
    async def list_withdrawals(
        request: Request,
        account_id: Annotated[str | None, Query(max_length=64)] = None,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=withdrawals.MAX_PAGE_SIZE)] = (
            withdrawals.DEFAULT_PAGE_SIZE
        ),
        cursor: Annotated[
            str | None,
            Query(
                max_length=withdrawals.MAX_CURSOR_CHARS,
                json_schema_extra={"pattern": withdrawals.CURSOR_PATTERN},
                description="a page's `next_cursor`",
            ),
        ] = None,
    ) -> schemas.WithdrawalList:
        page = withdrawals.list_page(
            _services(request).engine, account_id, status, limit=limit, cursor=cursor
        )
        return schemas.WithdrawalList(
            withdrawals=[schemas.WithdrawalSummary.of(row) for row in page.rows],
            next_cursor=page.next_cursor,
        )

    @router.get(
        "/withdrawals/{withdrawal_id}",
        response_model=WithdrawalStatusDoc,
        responses=problem_responses(*guarded, 404),
        summary="A withdrawal's status document",
        operation_id="getWithdrawal",
    )
    async def get_withdrawal(request: Request, withdrawal_id: WITHDRAWAL_ID) -> WithdrawalStatusDoc:
        services = _services(request)
        return await withdrawals.status_document(
            services.engine, await services.temporal(), withdrawal_id
        )

    @router.post(
        "/withdrawals/{withdrawal_id}/code",
        response_model=schemas.CodeAnswer,
        responses=problem_responses(*guarded, 404, 422),
        summary="Submit the SMS verification code (R15)",
        operation_id="submitCode",
    )
    async def submit_code(
        request: Request,
        withdrawal_id: WITHDRAWAL_ID,
        body: schemas.CodeBody,
        idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    ) -> schemas.CodeAnswer:
        services = _services(request)
        result = await withdrawals.submit_code(
            services.engine,
            await services.temporal(),
            withdrawal_id,
            body.code,
            idempotency_key=idempotency_key,
            actor=_actor(request),
        )
        return schemas.CodeAnswer(
            id=withdrawal_id,
            verdict=result.verdict,
            attempts_left=result.attempts_left,
            status=result.status,
        )

    @router.post(
        "/withdrawals/{withdrawal_id}/resend",
        response_model=schemas.ResendAnswer,
        responses=problem_responses(*guarded, 404, 422),
        summary="Text a new verification code (R15)",
        operation_id="resendCode",
    )
    async def resend(
        request: Request,
        withdrawal_id: WITHDRAWAL_ID,
        idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    ) -> schemas.ResendAnswer:
        services = _services(request)
        sent = await withdrawals.resend(
            services.engine,
            await services.temporal(),
            withdrawal_id,
            idempotency_key=idempotency_key,
            actor=_actor(request),
        )
        return schemas.ResendAnswer(
            id=withdrawal_id, sent_at=sent.sent_at, expires_at=sent.expires_at
        )

    @router.post(
        "/withdrawals/{withdrawal_id}/cancel",
        response_model=WithdrawalStatusDoc,
        responses=problem_responses(*guarded, 404, 422),
        summary="Cancel before payout (R19: the frozen money returns)",
        operation_id="cancelWithdrawal",
    )
    async def cancel(
        request: Request,
        withdrawal_id: WITHDRAWAL_ID,
        body: Annotated[schemas.CancelBody | None, Body()] = None,
    ) -> WithdrawalStatusDoc:
        services = _services(request)
        return await withdrawals.cancel(
            services.engine,
            await services.temporal(),
            withdrawal_id,
            body.by if body else None,
            actor=_actor(request),
        )

    @router.get(
        "/accounts/{account_id}/transactions",
        response_model=schemas.TransactionsDocument,
        responses={
            200: {
                "description": "the details; `format=csv` gives text/csv",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **problem_responses(*guarded, 404),
        },
        summary="Transaction details (R20), JSON or CSV",
        operation_id="getTransactions",
    )
    async def get_transactions(
        request: Request,
        account_id: str,
        type: Annotated[
            str | None, Query(max_length=32, json_schema_extra={"enum": list(ENTRY_TYPES)})
        ] = None,
        since: TIME_BOUND = None,
        until: TIME_BOUND = None,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Any:
        found = accounts.account_transactions(
            _services(request).engine,
            account_id,
            type=type,
            since=since,
            until=until,
            reversed_range_is_empty=True,
        )
        if format == "csv":
            return Response(found.csv() + "\n", media_type="text/csv; charset=utf-8")
        return schemas.TransactionsDocument.model_validate(found.document())

    return router


__all__ = ["DEFAULT_HTTP_PORT", "PROBLEM_MEDIA_TYPE", "create_app"]
