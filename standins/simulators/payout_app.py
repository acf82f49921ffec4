"""The payout provider simulator: a small FastAPI app with settlement and fault injection.

Endpoints
- ``POST /transfers`` (a ``TransferRequest``): 200 with the ``Transfer``; the same key
  returns the first result and never moves money twice; the same key with another
  amount, route or payee is 409 ``{"reason": "idempotency key reused with different
  details"}``; a refusal by the magic payee rules (``standins.magic_payees``) is 422
  ``{"reason": ...}``; a malformed body is 400 ``{"reason": "malformed request: ..."}``.
- ``GET /transfers/{key}``: the ``Transfer``, or 404.
- ``GET /transfers?limit=N[&state=S][&updated_since=ISO]``: transfers in acceptance
  order (reconciliation), only those in state ``S`` and updated at or after the time
  when given: a return comes long after the payout, past any capped listing.
- ``GET /stats``: ``{transfers, total_movements, movements: {key: n}, by_state}``.
- ``GET /health``: readiness.
- ``POST /admin/faults`` (a ``PayoutFaults``; the posted document replaces the whole fault
  set and reseeds the dice), ``GET /admin/faults``, ``GET /admin/stats`` (faults injected
  and callbacks sent, by name), ``POST /admin/reset`` (forget transfers, faults, counters).

Settlement follows R7/R9 (original via Alipay or online banking 1 hour, bank card 2
business days, designated 7–15 business days), scaled so the longest route takes
``max_settle_seconds`` of real time (or by ``settle_scale`` real seconds per simulated
second). With a delay of 0 a transfer settles before the submit answers. On settlement
the final ``Transfer`` JSON is POSTed to the request's ``callback_url``, best-effort.

Returns (issue 25): a succeeded transfer to a magic returned payee (``standins.magic_payees``)
turns ``returned`` a nominal 30 days after it settled, scaled like settlement (or after
``return_after_seconds`` when given), and the returned record is POSTed the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from gateways import webhook_signature
from gateways.http_payout import MAX_LIST_LIMIT  # the bound our client assumes
from gateways.payout import Transfer, TransferRequest, TransferState
from standins.magic_payees import (
    LONGEST_NOMINAL_SETTLE_DELAY,
    NOMINAL_RETURN_DELAY,
    nominal_settle_delay,
)
from standins.simulators.dropped import DroppedResponse, hide_injected_drop_errors
from standins.simulators.faults import FaultDice, PayoutFaults, inject_latency
from standins.simulators.payout_book import PayoutBook, Record, Refused

log = logging.getLogger("standins.simulators.payout")

DEFAULT_MAX_SETTLE_SECONDS = 10.0  # docs/interface.md: `make run` settles every route within 10 s
MAX_SETTLE_SECONDS_LIMIT = 24 * 3600.0
CALLBACK_TIMEOUT_SECONDS = 2.0
MAX_CALLBACK_ATTEMPTS = 3
CALLBACK_RETRY_FIRST_SECONDS = 0.1
# callback_out_of_order: how late the final callback comes before its stale echo.
CALLBACK_OUT_OF_ORDER_DELAY_SECONDS = 0.2
INJECTED_FAILURE_REASON = "payee bank returned the transfer (injected fault)"


class PayoutSimulatorSettings(BaseModel):
    max_settle_seconds: float = Field(
        default=DEFAULT_MAX_SETTLE_SECONDS, ge=0.0, le=MAX_SETTLE_SECONDS_LIMIT
    )
    # Real seconds per simulated second; when given it wins over max_settle_seconds.
    settle_scale: float | None = Field(default=None, ge=0.0)
    # Real seconds from success to return for the magic returned payees; None: the
    # nominal 30 days scaled like settlement (about 20 s under `make run`).
    return_after_seconds: float | None = Field(default=None, ge=0.0, le=MAX_SETTLE_SECONDS_LIMIT)
    faults: PayoutFaults = Field(default_factory=PayoutFaults)
    # Standard Webhooks secret (``whsec_…``) its callbacks are signed with; None: the
    # ``PAYOUT_CALLBACK_SECRET`` environment variable, else unsigned (a receiver refuses).
    # A comma-separated list (a rotation) signs with the first listed secret.
    callback_secret: str | None = Field(default=None, repr=False)

    def real_delay_seconds(self, nominal: timedelta) -> float:
        scale = (
            self.settle_scale
            if self.settle_scale is not None
            else self.max_settle_seconds / LONGEST_NOMINAL_SETTLE_DELAY.total_seconds()
        )
        return nominal.total_seconds() * scale

    def real_return_delay_seconds(self) -> float:
        if self.return_after_seconds is not None:
            return self.return_after_seconds
        return self.real_delay_seconds(NOMINAL_RETURN_DELAY)


def _reason(status: int, reason: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"reason": reason})


class _Simulator:
    """The app's state: the book, the fault dice, and the background work it started."""

    def __init__(self, settings: PayoutSimulatorSettings) -> None:
        self.settings = settings
        self.faults = settings.faults
        self.dice = FaultDice(self.faults.seed)
        self.book = PayoutBook()
        self.tasks: set[asyncio.Task[None]] = set()
        self.http: httpx.AsyncClient | None = None

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)  # keep a reference so the task is not collected mid-flight
        task.add_done_callback(self.tasks.discard)

    def reset(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.faults = self.settings.faults
        self.dice = FaultDice(self.faults.seed)
        self.book = PayoutBook()

    # ---- settlement and callbacks -------------------------------------------------------
    def settle(self, key: str) -> None:
        if self.book.settle_if_due(key):
            self._announce(key)
            record = self.book.get(key)
            if record is not None and record.return_due_monotonic is not None:
                self.spawn(self.return_later(key, record.return_after_seconds))
        elif self.book.return_if_due(key):
            self._announce(key)

    def _announce(self, key: str) -> None:
        record = self.book.get(key)
        if record is not None and record.request.callback_url:
            self.spawn(self._notify(record))

    def settle_due(self) -> None:
        for key in self.book.due_keys() + self.book.returns_due():
            self.settle(key)

    async def settle_later(self, key: str, delay_seconds: float) -> None:
        await asyncio.sleep(delay_seconds)
        self.settle(key)

    async def return_later(self, key: str, delay_seconds: float) -> None:
        await asyncio.sleep(delay_seconds)
        if self.book.return_if_due(key):
            self._announce(key)

    async def _notify(self, record: Record) -> None:
        url = record.request.callback_url
        assert url is not None
        final, faults = record.transfer, self.faults
        if self.dice.roll("callback_lost", faults.callback_lose_rate):
            return
        duplicate = self.dice.roll("callback_duplicated", faults.callback_duplicate_rate)
        if faults.callback_out_of_order:
            self.dice.count("callback_out_of_order")
            await asyncio.sleep(CALLBACK_OUT_OF_ORDER_DELAY_SECONDS)
        await self._post(url, final)
        if duplicate:
            await self._post(url, final)
        if faults.callback_out_of_order:
            await self._post(url, record.accepted)  # stale 'processing' after the final one

    async def _post(self, url: str, transfer: Transfer) -> None:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_SECONDS)
        body = transfer.model_dump_json().encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"  # the same on every retry of this callback
        configured = self.settings.callback_secret or os.environ.get("PAYOUT_CALLBACK_SECRET")
        listed = webhook_signature.split_secrets(configured or "")
        secret = listed[0] if listed else None  # a rotation's new secret comes first
        wait = CALLBACK_RETRY_FIRST_SECONDS
        for attempt in range(1, MAX_CALLBACK_ATTEMPTS + 1):
            headers = {"content-type": "application/json"}
            if secret:  # signed afresh on each attempt, with that attempt's time
                stamp = int(time.time())
                headers.update(webhook_signature.signed_headers(secret, webhook_id, stamp, body))
            try:
                response = await self.http.post(url, content=body, headers=headers)
                if response.status_code < 500:
                    self.dice.count("callbacks_delivered")
                    return
            except httpx.HTTPError as error:
                log.info("callback attempt %d failed: %s", attempt, type(error).__name__)
            if attempt < MAX_CALLBACK_ATTEMPTS:
                await asyncio.sleep(wait)
                wait *= 2
        self.dice.count("callbacks_failed")


def create_payout_app(settings: PayoutSimulatorSettings | None = None) -> FastAPI:
    sim = _Simulator(settings or PayoutSimulatorSettings())
    hide_injected_drop_errors()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(sim.tasks):
            task.cancel()
        if sim.http is not None:
            await sim.http.aclose()

    app = FastAPI(title="Payout provider simulator", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        # Only the field and the complaint: the input itself may carry personal data.
        problems = "; ".join(
            ".".join(str(part) for part in problem["loc"]) + ": " + problem["msg"]
            for problem in error.errors()
        )
        return _reason(400, f"malformed request: {problems}")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/transfers", response_model=None)
    async def submit(request: TransferRequest) -> Response | Transfer:
        faults = sim.faults
        await inject_latency(faults, sim.dice)
        if sim.dice.roll("error", faults.error_rate):
            return _reason(503, "injected fault: provider unavailable")
        if sim.dice.roll("drop", faults.drop_rate):
            log.info("dropping a submit without committing (injected fault)")
            return DroppedResponse()
        commit_then_drop = sim.dice.roll("commit_then_drop", faults.commit_then_drop_rate)
        injected_failure = (
            INJECTED_FAILURE_REASON
            if sim.dice.roll("fail_after_accept", faults.fail_after_accept_rate)
            else None
        )
        delay = sim.settings.real_delay_seconds(nominal_settle_delay(request))
        try:
            record, is_new = sim.book.accept(
                request, delay, injected_failure, sim.settings.real_return_delay_seconds()
            )
        except Refused as refusal:
            return _reason(refusal.status, refusal.reason)
        if is_new:
            if delay <= 0:
                sim.settle(request.idempotency_key)
            else:
                sim.spawn(sim.settle_later(request.idempotency_key, delay))
        if commit_then_drop:
            log.info("committed a submit, then dropping its answer (injected fault)")
            if faults.commit_then_drop_as_503:
                return _reason(503, "injected fault: provider unavailable")
            return DroppedResponse()
        return record.transfer

    @app.get("/transfers/{key}", response_model=None)
    async def lookup(key: str) -> Response | Transfer:
        faults = sim.faults
        await inject_latency(faults, sim.dice)
        if sim.dice.roll("error", faults.error_rate):
            return _reason(503, "injected fault: provider unavailable")
        if sim.dice.roll("drop", faults.drop_rate):
            return DroppedResponse()
        sim.settle(key)  # a look-up never shows a transfer older than its due time
        record = sim.book.get(key)
        if record is None:
            return _reason(404, "unknown transfer")
        return record.transfer

    @app.get("/transfers")
    async def list_transfers(
        limit: int = Query(default=1000, ge=1, le=MAX_LIST_LIMIT),
        state: TransferState | None = None,
        updated_since: datetime | None = None,
    ) -> list[Transfer]:
        sim.settle_due()
        return sim.book.transfers(limit, state, updated_since)

    @app.get("/stats")
    async def stats() -> dict[str, object]:
        return sim.book.stats()

    @app.get("/admin/faults")
    async def get_faults() -> PayoutFaults:
        return sim.faults

    @app.post("/admin/faults")
    async def set_faults(faults: PayoutFaults) -> PayoutFaults:
        sim.faults = faults
        sim.dice.reseed(faults.seed)
        log.info("fault settings replaced")
        return faults

    @app.get("/admin/stats")
    async def fault_stats() -> dict[str, int]:
        return sim.dice.snapshot()

    @app.post("/admin/reset")
    async def reset() -> dict[str, str]:
        sim.reset()
        return {"status": "reset"}

    return app
