"""With no ``WEBHOOK_URLS`` an event goes to nobody: the dispatcher marks events in one
transaction per poll instead of one after every commit that wrote an event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlmodel import col, select
from temporalio.client import Client

from client.polling import poll_until
from ledger.db import get_engine, run_in_transaction, session_scope
from ledger.tables import WebhookEvent
from ledger.withdrawals import create_withdrawal
from models.domain import Kind, Route, WithdrawalRequest
from models.money import Money
from tests.ledger.data import load
from webhooks.dispatch import WebhookDispatcher

POLL_SECONDS = 0.5


def _undispatched(url: str) -> int:
    with session_scope(get_engine(url)) as session:
        rows = session.exec(select(WebhookEvent).where(col(WebhookEvent.dispatched_at).is_(None)))
        return len(rows.all())


@pytest.mark.asyncio
async def test_events_without_a_url_are_marked_at_the_poll_not_at_each_commit(
    sqlite_url: str,
) -> None:
    engine = get_engine(sqlite_url)
    load(engine)
    dispatcher = WebhookDispatcher(
        engine,
        cast(Client, None),  # never used: with no URL nothing is started
        "unused",
        urls=lambda: [],
        poll_seconds=POLL_SECONDS,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        await asyncio.sleep(0.1)  # its first sweep found nothing; now it waits for the poll
        request = WithdrawalRequest(
            withdrawal_id="w-dispatch-1",
            account_id="acct-plain",
            amount=Money.yuan("1.00"),
            kind=Kind.NON_RECHARGE,
            route=Route.ORIGINAL,
        )
        now = datetime.now(UTC)
        await asyncio.to_thread(run_in_transaction, engine, create_withdrawal, request, now)
        await asyncio.sleep(POLL_SECONDS / 5)
        assert _undispatched(sqlite_url) == 1, "the commit woke the dispatcher"

        async def marked() -> Any:
            return True if _undispatched(sqlite_url) == 0 else None

        assert await poll_until(marked, timeout=POLL_SECONDS * 4, interval=0.05) is True
    finally:
        stop.set()
        await asyncio.wait_for(running, POLL_SECONDS * 4)
