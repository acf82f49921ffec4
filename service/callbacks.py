"""The payout provider's callback receiver: ``POST /payout-callback`` → workflow signal.

The provider POSTs its view of a transfer when it settles. The body is read with the
configured provider's ``parse_callback`` and sent as the ``payout_update`` signal to the
withdrawal whose id is the transfer's idempotency key. The workflow ignores duplicates and
stale notices, so this receiver stays stateless.

    python -m service.callbacks --port 8803

Answers: 200 signalled (or the withdrawal already finished: a late duplicate is harmless);
400 unreadable body; 404 no such withdrawal; 413 body too large; 503 Temporal unreachable,
which the provider retries. Logs carry withdrawal ids and states only, never a payee.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from gateways.http_payout import payout_provider_from_env
from gateways.payout import ProviderError, Transfer
from service.client import workflow_id
from service.temporal_client import connect
from workflows.withdrawal import WithdrawalWorkflow

log = logging.getLogger("service.callbacks")

CALLBACK_PATH = "/payout-callback"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8803
MAX_CALLBACK_BYTES = 64 * 1024  # a Transfer is a few hundred bytes; more is not a callback

Connect = Callable[[], Awaitable[Client]]
ParseCallback = Callable[[bytes], Transfer]


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


async def _signal(client: Client, transfer: Transfer) -> JSONResponse:
    handle = client.get_workflow_handle(workflow_id(transfer.idempotency_key))
    try:
        await handle.signal(WithdrawalWorkflow.payout_update, transfer)
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


def create_app(connect_client: Connect = connect, parse: ParseCallback | None = None) -> FastAPI:
    """The receiver; ``parse`` defaults to the configured provider's ``parse_callback``."""
    parse_callback = parse or payout_provider_from_env().parse_callback
    temporal = _TemporalLink(connect_client)
    app = FastAPI(title="Payout callback receiver")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(CALLBACK_PATH)
    async def payout_callback(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_CALLBACK_BYTES:
            return _answer(413, reason=f"larger than {MAX_CALLBACK_BYTES} bytes")
        try:
            transfer = parse_callback(body)
        except ProviderError as error:
            log.warning("unreadable payout callback (%d bytes)", len(body))
            return _answer(400, reason=str(error))
        try:
            return await _signal(await temporal.client(), transfer)
        except (RPCError, RuntimeError, OSError) as error:
            # 5xx makes the provider retry later; the workflow also polls, so nothing is lost.
            log.warning("payout callback not delivered: %s", type(error).__name__)
            return _answer(503, reason="workflow service unavailable, try again")

    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service.callbacks", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    # No access log: it would add nothing to the lines above and cost a line per callback.
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        access_log=False,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
