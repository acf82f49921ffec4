"""The payout provider's callback receiver: ``POST /payout-callback`` → workflow signal.

The provider POSTs its view of a transfer when it settles, signed as Standard Webhooks
(``gateways.webhook_signature``) with ``PAYOUT_CALLBACK_SECRET``. Only a request whose
signature matches (constant-time), whose ``webhook-timestamp`` is within five minutes and
whose ``webhook-id`` was never seen before (remembered in the database, so across
restarts) goes further: its body is read with the configured provider's
``parse_callback`` and sent as the ``payout_update`` signal to the withdrawal whose id is
the transfer's idempotency key. Even then it is a hint: the workflow confirms a final
state with the provider before money moves.

In the order a request meets them:
1. the body's size, before it is read (``api.body_limit``): 413 over
   ``MAX_CALLBACK_BYTES``, from its ``Content-Length`` or, chunked, as soon as the
   bytes read pass it;
2. the signature under any secret ``PAYOUT_CALLBACK_SECRET`` lists (comma-separated
   while it is rotated), the time window and the ``webhook-id`` never seen: else 401;
3. the body as the provider's callback: else 400;
4. the withdrawal's count of forwarded callbacks (``callbacks.forwarding``): past
   ``MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL`` the callback is counted, answered 200 and
   not forwarded, so no flood grows a workflow's history;
5. the signal.

    python -m callbacks --port 8803

Answers: 200 signalled (or the withdrawal already finished: a late duplicate is harmless;
or not forwarded, past the limit); 401 unsigned, wrongly signed, stale or replayed
(logged without the body; nothing changes); 400 unreadable body; 404 no such withdrawal;
413 body too large; 503 Temporal unreachable, which the provider retries (the id is
forgotten again, and the callback uncounted, so the retry counts), or the database
unreachable (nothing was remembered). Logs carry withdrawal ids, states and counts only,
never a payee or the provider's free text.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, col
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.body_limit import BodyLimit
from callbacks.forwarding import CallbackBudget, Forwarding
from callbacks.returns import start_return_on_callback
from client.connection import connect
from client.withdrawals import workflow_id
from config import settings
from gateways import webhook_signature
from gateways.http_payout import payout_provider_from_env
from gateways.payout import ProviderError, Transfer
from ledger.db import get_engine, is_unavailable, run_in_transaction
from ledger.tables import CallbackReceipt
from models.limits import MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL
from observability.log_filter import install_personal_data_filter
from workflows.contract import SIGNAL_PAYOUT_UPDATE

log = logging.getLogger("callbacks.receiver")

CALLBACK_PATH = "/payout-callback"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8803
MAX_CALLBACK_BYTES = 64 * 1024  # a Transfer is a few hundred bytes; more is not a callback
# Past the limit, a held-back callback is logged the first time and every this many.
HELD_BACK_LOG_EVERY = 100

Connect = Callable[[], Awaitable[Client]]
ParseCallback = Callable[[bytes], Transfer]
Clock = Callable[[], datetime]
# A webhook-id older than this can never pass the timestamp window again: forget it.
RECEIPT_KEEP = timedelta(seconds=2 * webhook_signature.TOLERANCE_SECONDS + 60)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Receipts:
    """``webhook-id``s seen, in the database: a replay is refused even after a restart."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _remember(self, session: Session, webhook_id: str, now: datetime) -> bool:
        session.execute(
            delete(CallbackReceipt).where(col(CallbackReceipt.received_at) < now - RECEIPT_KEEP)
        )
        if session.get(CallbackReceipt, webhook_id) is not None:
            return False
        session.add(CallbackReceipt(webhook_id=webhook_id, received_at=now))
        session.flush()
        return True

    async def remember(self, webhook_id: str, now: datetime) -> bool:
        """True the first time ``webhook_id`` is seen; False for a replay."""
        try:
            return await asyncio.to_thread(
                run_in_transaction, self._engine, lambda s: self._remember(s, webhook_id, now)
            )
        except IntegrityError:  # a concurrent delivery of the same id won
            return False

    async def forget(self, webhook_id: str) -> None:
        def drop(session: Session) -> None:
            session.execute(
                delete(CallbackReceipt).where(col(CallbackReceipt.webhook_id) == webhook_id)
            )

        await asyncio.to_thread(run_in_transaction, self._engine, drop)


class _TemporalLink:
    """One client, connected on first use, so the receiver can start before Temporal."""

    def __init__(self, connect_client: Connect) -> None:
        self._connect = connect_client
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await self._connect()
            return self._client


def _answer(status_code: int, **body: str) -> JSONResponse:
    return JSONResponse(status_code=status_code, content=body)


def _too_large(limit: int) -> Response:
    return _answer(413, reason=f"larger than {limit} bytes")


def _held_back(withdrawal_id: str, forwarding: Forwarding) -> JSONResponse:
    """200, so the provider stops retrying it; counted, and logged now and then."""
    if forwarding.held_back == 1 or forwarding.held_back % HELD_BACK_LOG_EVERY == 0:
        log.warning(
            "payout callbacks for withdrawal %s past the limit: %d forwarded, %d held back",
            withdrawal_id,
            forwarding.forwarded,
            forwarding.held_back,
        )
    return _answer(200, status="not forwarded: callback limit reached")


async def _signal(client: Client, transfer: Transfer) -> JSONResponse:
    handle = client.get_workflow_handle(workflow_id(transfer.idempotency_key))
    try:
        await handle.signal(SIGNAL_PAYOUT_UPDATE, transfer)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    else:
        log.info("payout callback %s -> withdrawal %s", transfer.state, transfer.idempotency_key)
        return _answer(200, status="signalled")
    return await _not_running(client, transfer)


async def _not_running(client: Client, transfer: Transfer) -> JSONResponse:
    """Signalling failed with NOT_FOUND: a finished withdrawal, or none at all."""
    try:
        await client.get_workflow_handle(workflow_id(transfer.idempotency_key)).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        log.warning("payout callback for unknown withdrawal %s", transfer.idempotency_key)
        return _answer(404, reason="no such withdrawal")
    # A duplicate or late notice after the final state: nothing left to tell the workflow.
    log.info("payout callback after withdrawal %s finished: ignored", transfer.idempotency_key)
    return _answer(200, status="already finished")


def create_app(
    connect_client: Connect = connect,
    parse: ParseCallback | None = None,
    *,
    secret: str | None = None,
    engine: Engine | None = None,
    clock: Clock = _utc_now,
    max_forwarded: int = MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL,
) -> FastAPI:
    """The receiver; ``parse`` defaults to the configured provider's ``parse_callback``,
    ``secret`` (one, or a comma-separated list) to ``PAYOUT_CALLBACK_SECRET``
    (production: required), ``engine`` to ``DATABASE_URL``'s."""
    parse_callback = parse or payout_provider_from_env().parse_callback
    # A malformed or missing secret stops the start.
    callback_secrets = webhook_signature.split_secrets(secret or settings.payout_callback_secret())
    if not callback_secrets:
        raise ValueError("PAYOUT_CALLBACK_SECRET lists no secret")
    database = engine or get_engine()
    receipts = _Receipts(database)
    budget = CallbackBudget(database, max_forwarded)
    temporal = _TemporalLink(connect_client)
    app = FastAPI(title="Payout callback receiver")
    app.add_middleware(BodyLimit, limits={CALLBACK_PATH: MAX_CALLBACK_BYTES}, too_large=_too_large)

    async def database_away(request: Request, error: Exception) -> JSONResponse:
        # The receipts live in the ledger's database: while it is away, a 5xx makes the
        # provider retry later (never a 500's traceback); the workflow also polls.
        if not is_unavailable(error):
            raise error
        log.warning("payout callback not taken: database unavailable (%s)", type(error).__name__)
        return _answer(503, reason="database unavailable, try again")

    for database_failure in (DBAPIError, PoolTimeout):
        app.add_exception_handler(database_failure, database_away)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(CALLBACK_PATH)
    async def payout_callback(request: Request) -> JSONResponse:
        body = await request.body()  # within MAX_CALLBACK_BYTES: BodyLimit read it
        now = clock()
        try:
            webhook_id = webhook_signature.verify(callback_secrets, request.headers, body, now)
        except webhook_signature.WebhookVerificationError as refused:
            # Never the body: it names a withdrawal and a state an attacker chose.
            log.warning("payout callback refused (401): %s (%d bytes)", refused, len(body))
            return _answer(401, reason="not a signed, fresh payout callback")
        if not await receipts.remember(webhook_id, now):
            log.warning("payout callback refused (401): webhook-id %s replayed", webhook_id)
            return _answer(401, reason="not a signed, fresh payout callback")
        try:
            transfer = parse_callback(body)
        except ProviderError as error:
            log.warning("unreadable payout callback (%d bytes)", len(body))
            return _answer(400, reason=str(error))
        forwarding = await budget.take(transfer.idempotency_key)
        try:
            # A return (issue 25) starts whatever the forward cap says: it grows no
            # withdrawal's history, and a second start of the same return is refused.
            await start_return_on_callback(await temporal.client(), transfer)
            if not forwarding.forward:
                return _held_back(transfer.idempotency_key, forwarding)
            return await _signal(await temporal.client(), transfer)
        except (RPCError, RuntimeError, OSError) as error:
            # 5xx makes the provider retry later (same webhook-id: forget it, and the
            # count, so the retry counts); the workflow also polls, so nothing is lost.
            await receipts.forget(webhook_id)
            if forwarding.forward:
                await budget.give_back(transfer.idempotency_key)
            log.warning("payout callback not delivered: %s", type(error).__name__)
            return _answer(503, reason="workflow service unavailable, try again")

    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m callbacks", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    install_personal_data_filter()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    # Production: no secret, no receiver (rather than one that takes unsigned callbacks).
    settings.check_production_secrets(settings.payout_callback_secret)
    # No access log: it would add nothing to the lines above and cost a line per callback.
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        access_log=False,
        log_level=args.log_level,
    )
