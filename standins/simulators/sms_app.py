"""The SMS provider simulator: delivers nothing, remembers everything, per phone.

Endpoints
- ``POST /messages`` ``{phone, text, idempotency_key}``: 200 ``{"id", "duplicate"}``; the
  same key delivers once; an empty phone or text is 422 ``{"reason": ...}``.
- ``GET /messages?phone=...``: that phone's inbox, newest first, as ``[{at, text, code}]``
  (``code`` is the 6-digit number in the text, or null).
- ``GET /health``; ``POST /admin/faults`` / ``GET /admin/faults`` (``SmsFaults``:
  latency_ms, error_rate, seed; the posted document replaces the fault set);
  ``GET /admin/stats``; ``POST /admin/reset``.

Logs never show a phone number beyond its last four digits, nor a message's text (it
carries a verification code).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from datetime import UTC, datetime

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateways.sms_messages import InboxMessage
from models.masks import mask_phone
from standins.simulators.faults import FaultDice, SmsFaults, inject_latency

log = logging.getLogger("standins.simulators.sms")

MAX_MESSAGES_PER_PHONE = 200  # older messages fall off the inbox
MAX_REMEMBERED_KEYS = 200_000
MAX_PHONE_CHARS = 32
MAX_TEXT_CHARS = 1_000


class SmsSimulatorSettings(BaseModel):
    faults: SmsFaults = Field(default_factory=SmsFaults)


class OutgoingMessage(BaseModel):
    phone: str = Field(max_length=MAX_PHONE_CHARS)
    text: str = Field(max_length=MAX_TEXT_CHARS)
    idempotency_key: str


class Accepted(BaseModel):
    id: int
    duplicate: bool


class _Inboxes:
    def __init__(self) -> None:
        self.by_phone: dict[str, deque[InboxMessage]] = {}
        self.keys: dict[str, int] = {}
        self.ids = itertools.count(1)

    def deliver(self, message: OutgoingMessage) -> Accepted:
        known = self.keys.get(message.idempotency_key)
        if known is not None:
            return Accepted(id=known, duplicate=True)
        if len(self.keys) >= MAX_REMEMBERED_KEYS:
            self.keys.clear()  # bounded memory matters more here than dedup of ancient keys
        message_id = next(self.ids)
        self.keys[message.idempotency_key] = message_id
        inbox = self.by_phone.setdefault(message.phone, deque(maxlen=MAX_MESSAGES_PER_PHONE))
        inbox.appendleft(InboxMessage.of(message.text, datetime.now(UTC)))
        log.info("delivered message id=%d to phone=%s", message_id, mask_phone(message.phone))
        return Accepted(id=message_id, duplicate=False)


def create_sms_app(settings: SmsSimulatorSettings | None = None) -> FastAPI:
    base = settings or SmsSimulatorSettings()
    state = {"faults": base.faults}
    dice = FaultDice(base.faults.seed)
    inboxes = _Inboxes()
    app = FastAPI(title="SMS provider simulator")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/messages", response_model=None)
    async def send(message: OutgoingMessage) -> Accepted | JSONResponse:
        faults = state["faults"]
        await inject_latency(faults, dice)
        if dice.roll("error", faults.error_rate):
            return JSONResponse(status_code=503, content={"reason": "injected fault"})
        if not message.phone.strip() or not message.text.strip():
            return JSONResponse(status_code=422, content={"reason": "phone and text required"})
        return inboxes.deliver(message)

    @app.get("/messages")
    async def inbox(
        phone: str = Query(max_length=MAX_PHONE_CHARS),
        limit: int = Query(default=50, ge=1, le=MAX_MESSAGES_PER_PHONE),
    ) -> list[InboxMessage]:
        return list(itertools.islice(inboxes.by_phone.get(phone, ()), limit))

    @app.get("/admin/faults")
    async def get_faults() -> SmsFaults:
        return state["faults"]

    @app.post("/admin/faults")
    async def set_faults(faults: SmsFaults) -> SmsFaults:
        state["faults"] = faults
        dice.reseed(faults.seed)
        return faults

    @app.get("/admin/stats")
    async def fault_stats() -> dict[str, int]:
        return dice.snapshot()

    @app.post("/admin/reset")
    async def reset() -> dict[str, str]:
        nonlocal inboxes
        inboxes = _Inboxes()
        state["faults"] = base.faults
        dice.reseed(base.faults.seed)
        dice.reset_counters()
        return {"status": "reset"}

    return app
