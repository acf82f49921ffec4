"""Webhook deliveries' side effects: one signed POST per attempt, each recorded.

An attempt reads the event's stored body (the same bytes every time), signs it with this
attempt's timestamp, posts it and records the outcome; a failure raises so that Temporal
retries it with backoff. A delivery already delivered is not posted again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from gateways.webhooks import post_event
from ledger.db import run_in_transaction
from ledger.tables import WebhookDelivery, WebhookDeliveryState, WebhookEvent
from models.webhooks import WebhookGiveUp, WebhookTarget

MAX_ERROR_CHARS = 500


class WebhookActivities:
    def __init__(
        self,
        engine: Engine,
        secret_keys: Sequence[bytes],
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._keys = list(secret_keys)  # every listed WEBHOOK_SECRET signs (rotation)
        self._http = http
        self._clock = clock  # seconds since the epoch; a test may move it

    @activity.defn
    async def deliver_webhook(self, target: WebhookTarget) -> None:
        def load(session: Session) -> tuple[str, bool]:
            event = session.get(WebhookEvent, target.event_id)
            if event is None:
                raise ApplicationError(
                    f"no webhook event {target.event_id}", type="NotFound", non_retryable=True
                )
            delivery = _delivery(session, target)
            return event.body, delivery.state == WebhookDeliveryState.DELIVERED.value

        body, done = await asyncio.to_thread(run_in_transaction, self._engine, load)
        if done:
            return
        timestamp = int(self._clock())
        result = await post_event(
            self._http, target.url, self._keys, target.event_id, timestamp, body
        )

        def record(session: Session) -> None:
            delivery = _delivery(session, target)
            delivery.attempts += 1
            delivery.last_attempt_at = datetime.fromtimestamp(timestamp, UTC)
            if result.delivered:
                delivery.state = WebhookDeliveryState.DELIVERED.value
                delivery.delivered_at = delivery.last_attempt_at
            else:
                delivery.last_error = (result.error or "")[:MAX_ERROR_CHARS]
            session.add(delivery)

        await asyncio.to_thread(run_in_transaction, self._engine, record)
        if not result.delivered:
            raise ApplicationError(f"{target.url}: {result.error}", type="WebhookNotDelivered")

    @activity.defn
    async def give_up_webhook(self, failure: WebhookGiveUp) -> None:
        """The retry window passed: mark the delivery failed (``webhooks --failed``)."""

        def record(session: Session) -> None:
            delivery = _delivery(session, WebhookTarget(event_id=failure.event_id, url=failure.url))
            if delivery.state != WebhookDeliveryState.DELIVERED.value:
                delivery.state = WebhookDeliveryState.FAILED.value
                delivery.last_error = delivery.last_error or failure.error[:MAX_ERROR_CHARS]
                session.add(delivery)

        await asyncio.to_thread(run_in_transaction, self._engine, record)


def _delivery(session: Session, target: WebhookTarget) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, (target.event_id, target.url))
    if delivery is None:  # the dispatcher writes it first; a direct start still works
        delivery = WebhookDelivery(
            event_id=target.event_id, url=target.url, created_at=datetime.now(UTC)
        )
        session.add(delivery)
        session.flush()
    return delivery
