"""``/v1/accounts/{account_id}/...``: what an account can withdraw (R11–R14) and its
transaction details (R20)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, Security
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.problems import responses as problem_responses
from api.routes.common import (
    GUARDED,
    TIME_BOUND,
    V1_PREFIX,
    bearer,
    services_of,
)
from application import accounts
from application.accounts import ENTRY_TYPES

router = APIRouter(prefix=V1_PREFIX, dependencies=[Security(bearer)])


@router.get(
    "/accounts/{account_id}/withdrawable",
    response_model=schemas.WithdrawableDocument,
    responses=problem_responses(*GUARDED, 404),
    summary="What an account can withdraw (R11–R14)",
    operation_id="getWithdrawable",
)
async def get_withdrawable(request: Request, account_id: str) -> schemas.WithdrawableDocument:
    services = services_of(request)
    # A database read is blocking: off the event loop, so other requests go on meanwhile.
    found = await run_in_threadpool(
        accounts.withdrawable, services.engine, account_id, services.now()
    )
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


@router.get(
    "/accounts/{account_id}/transactions",
    response_model=schemas.TransactionsDocument,
    responses={
        200: {
            "description": "the details; `format=csv` gives text/csv",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(*GUARDED, 404),
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
    found = await run_in_threadpool(
        accounts.account_transactions,
        services_of(request).engine,
        account_id,
        type=type,
        since=since,
        until=until,
        reversed_range_is_empty=True,
    )
    if format == "csv":
        return Response(found.csv() + "\n", media_type="text/csv; charset=utf-8")
    return schemas.TransactionsDocument.model_validate(found.document())
