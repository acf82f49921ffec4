"""Start one delivery workflow per new status event (the outbox's reader, in the worker).

Events are written in the transaction that records the change (``ledger.events``); this
loop finds those not yet dispatched, records a delivery per URL in ``WEBHOOK_URLS`` and
starts ``WebhookDeliveryWorkflow`` under the event's id, then marks the event dispatched.
Starting is idempotent (the workflow id is the event id), so a crash between the start and
the mark, or two workers doing the same, delivers once. A commit that wrote events wakes
the loop at once (when there is a URL to post to); a poll every
``WEBHOOK_DISPATCH_POLL_SECONDS`` is the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from config import settings
from ledger import events
from ledger.db import is_unavailable, run_in_transaction
from ledger.tables import WebhookDelivery, WebhookEvent
from models.limits import WEBHOOK_DISPATCH_BATCH, WEBHOOK_DISPATCH_POLL_SECONDS
from models.webhooks import WebhookOrder
from workflows.webhook_delivery import WebhookDeliveryWorkflow, delivery_workflow_id

log = logging.getLogger("webhooks")


class WebhookDispatcher:
    def __init__(
        self,
        engine: Engine,
        client: Client,
        task_queue: str,
        *,
        urls: Callable[[], list[str]] = settings.webhook_urls,
        retry: Callable[[], tuple[float, float, float]] = settings.webhook_retry_seconds,
        poll_seconds: float = WEBHOOK_DISPATCH_POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._client = client
        self._task_queue = task_queue
        self._urls = urls
        self._retry = retry
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def wake_up() -> None:
            loop.call_soon_threadsafe(wake.set)

        stop_listening = events.on_commit(wake_up)
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    await self.dispatch_pending()
                except Exception as error:  # the database or Temporal is away: retried
                    if is_unavailable(error):  # an outage: one line a round, not a traceback
                        log.warning(
                            "webhook dispatch waits for the database: %s", type(error).__name__
                        )
                    else:
                        log.exception("webhook dispatch failed; retrying")
                # With no URL configured an event goes to nobody, so nothing is urgent:
                # marking waits for the poll instead of taking a write transaction after
                # every commit (at 5/s that was one more writer per status change).
                waiting = wake.wait() if self._urls() else stop.wait()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiting, self._poll_seconds)
        finally:
            stop_listening()

    async def dispatch_pending(self) -> int:
        """Dispatch every event not dispatched yet; how many were.

        A batch costs two transactions, not two per event: under load every commit wakes
        this loop, and per-event transactions queued behind the withdrawals' own writes
        for SQLite's one write lock.
        """
        dispatched = 0
        while True:
            urls = self._urls()
            claimed = await asyncio.to_thread(run_in_transaction, self._engine, _claim_batch, urls)
            if not claimed.event_ids:
                return dispatched
            if claimed.needs_start:
                for event_id in claimed.event_ids:
                    await self._start_delivery(event_id, urls)
                await asyncio.to_thread(
                    run_in_transaction, self._engine, _mark_dispatched, claimed.event_ids
                )
            dispatched += len(claimed.event_ids)
            if len(claimed.event_ids) < WEBHOOK_DISPATCH_BATCH:
                return dispatched

    async def _start_delivery(self, event_id: str, urls: list[str]) -> None:
        first, longest, window = self._retry()
        order = WebhookOrder(
            event_id=event_id,
            urls=urls,
            retry_initial_seconds=first,
            retry_max_interval_seconds=longest,
            retry_total_seconds=window,
        )
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                WebhookDeliveryWorkflow.run,
                order,
                id=delivery_workflow_id(event_id),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )


@dataclass(frozen=True)
class _Claimed:
    event_ids: list[str]
    needs_start: bool  # False: no URL configured, the events were marked dispatched already


def _claim_batch(session: Session, urls: list[str]) -> _Claimed:
    """The next undispatched events with a delivery row per URL; with no URL, they are
    dispatched (to nobody) in this same transaction."""
    event_ids = _undispatched(session)
    if not urls:
        _mark_dispatched(session, event_ids)
        return _Claimed(event_ids, needs_start=False)
    now = datetime.now(UTC)
    for event_id in event_ids:
        for url in urls:
            if session.get(WebhookDelivery, (event_id, url)) is None:
                session.add(WebhookDelivery(event_id=event_id, url=url, created_at=now))
    return _Claimed(event_ids, needs_start=True)


def _undispatched(session: Session) -> list[str]:
    return list(
        session.exec(
            select(WebhookEvent.id)
            .where(col(WebhookEvent.dispatched_at).is_(None))
            .order_by(col(WebhookEvent.created_at), col(WebhookEvent.sequence))
            .limit(WEBHOOK_DISPATCH_BATCH)
        ).all()
    )


def _mark_dispatched(session: Session, event_ids: list[str]) -> None:
    if not event_ids:
        return
    session.execute(
        update(WebhookEvent)
        .where(col(WebhookEvent.id).in_(event_ids), col(WebhookEvent.dispatched_at).is_(None))
        .values(dispatched_at=datetime.now(UTC))
    )
