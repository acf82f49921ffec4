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
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from api.guard import MAX_BODY_BYTES, Guard, RateLimits
from api.keys import KeyRing, keys_from_env
from api.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemDocument,
    from_problem,
    problem_response,
    unavailable,
)
from api.routes import v1_routers
from api.routes.common import Services
from application.problems import problem_of
from client.withdrawals import WithdrawalClient
from console import routes as console
from ledger.db import is_unavailable
from models.errors import InputError, RuleRefusal
from models.money import MoneyError
from observability.http import instrument_app

DEFAULT_HTTP_PORT = 8805
API_TITLE = "Withdrawals API"
API_VERSION = "1.0.0"

log = logging.getLogger("api")
PATH_PARAMETER = re.compile(r"\\\{[^/]+?\\\}")  # ``{withdrawal_id}`` once re.escape'd
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


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
    for router in v1_routers():
        app.include_router(router)
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


__all__ = ["DEFAULT_HTTP_PORT", "PROBLEM_MEDIA_TYPE", "create_app"]
