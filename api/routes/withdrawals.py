"""``/v1/withdrawals...``: start, list and read withdrawals; submit or resend the code
(R15); cancel before payout (R19). Each handler calls ``application.withdrawals``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response, Security
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.problems import responses as problem_responses
from api.routes.common import (
    GUARDED,
    V1_PREFIX,
    WITHDRAWAL_ID,
    WITHDRAWAL_LINKS,
    actor_of,
    bearer,
    services_of,
)
from application import withdrawals
from application.withdrawals import WithdrawalCreate
from models.domain import Status, WithdrawalStatusDoc
from models.errors import InputError

router = APIRouter(prefix=V1_PREFIX, dependencies=[Security(bearer)])


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
        **problem_responses(*GUARDED, 404, 409, 422),
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
    services = services_of(request)
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
        actor=actor_of(request),
    )
    response.status_code = 201 if created.created else 200
    return created.document


@router.get(
    "/withdrawals",
    response_model=schemas.WithdrawalList,
    responses=problem_responses(*GUARDED),
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
    page = await run_in_threadpool(  # a blocking read: off the event loop
        withdrawals.list_page,
        services_of(request).engine,
        account_id,
        status,
        limit=limit,
        cursor=cursor,
    )
    return schemas.WithdrawalList(
        withdrawals=[schemas.WithdrawalSummary.of(row) for row in page.rows],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/withdrawals/{withdrawal_id}",
    response_model=WithdrawalStatusDoc,
    responses=problem_responses(*GUARDED, 404),
    summary="A withdrawal's status document",
    operation_id="getWithdrawal",
)
async def get_withdrawal(request: Request, withdrawal_id: WITHDRAWAL_ID) -> WithdrawalStatusDoc:
    services = services_of(request)
    return await withdrawals.status_document(
        services.engine, await services.temporal(), withdrawal_id
    )


@router.post(
    "/withdrawals/{withdrawal_id}/code",
    response_model=schemas.CodeAnswer,
    responses=problem_responses(*GUARDED, 404, 422),
    summary="Submit the SMS verification code (R15)",
    operation_id="submitCode",
)
async def submit_code(
    request: Request,
    withdrawal_id: WITHDRAWAL_ID,
    body: schemas.CodeBody,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> schemas.CodeAnswer:
    services = services_of(request)
    result = await withdrawals.submit_code(
        services.engine,
        await services.temporal(),
        withdrawal_id,
        body.code,
        idempotency_key=idempotency_key,
        actor=actor_of(request),
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
    responses=problem_responses(*GUARDED, 404, 422),
    summary="Text a new verification code (R15)",
    operation_id="resendCode",
)
async def resend(
    request: Request,
    withdrawal_id: WITHDRAWAL_ID,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> schemas.ResendAnswer:
    services = services_of(request)
    sent = await withdrawals.resend(
        services.engine,
        await services.temporal(),
        withdrawal_id,
        idempotency_key=idempotency_key,
        actor=actor_of(request),
    )
    return schemas.ResendAnswer(id=withdrawal_id, sent_at=sent.sent_at, expires_at=sent.expires_at)


@router.post(
    "/withdrawals/{withdrawal_id}/cancel",
    response_model=WithdrawalStatusDoc,
    responses=problem_responses(*GUARDED, 404, 422),
    summary="Cancel before payout (R19: the frozen money returns)",
    operation_id="cancelWithdrawal",
)
async def cancel(
    request: Request,
    withdrawal_id: WITHDRAWAL_ID,
    body: Annotated[schemas.CancelBody | None, Body()] = None,
) -> WithdrawalStatusDoc:
    services = services_of(request)
    return await withdrawals.cancel(
        services.engine,
        await services.temporal(),
        withdrawal_id,
        body.by if body else None,
        actor=actor_of(request),
    )
