"""A delivery's retries on a real Temporal dev server with an in-process worker whose clock
the test moves: a retry sent more than five minutes after the first attempt is signed
afresh and verifies (``standardwebhooks``, its five-minute tolerance read on the same
clock), where the first attempt's signature would now be refused; past the retry window
the delivery is marked failed and ``webhooks --failed`` lists it."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import standardwebhooks.webhooks
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities
from cli.app import main as cli_main
from cli.command import Context
from client.connection import data_converter
from gateways.webhooks import new_secret, secret_keys
from ledger.db import dispose_engine, get_engine, run_in_transaction
from ledger.tables import WebhookDelivery
from models.webhooks import WebhookOrder
from tests.support.polling import until
from tests.support.ports import free_port
from tests.webhooks.receiver import Receiver, stored_event
from tests.workflows.keys import TEST_KEYS
from workflows.webhook_delivery import WebhookDeliveryWorkflow, delivery_workflow_id

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"

BIN = Path(sys.executable).parent
SIX_MINUTES = 6 * 60
WAIT_SECONDS = 30.0


class Clock:
    """Wall time plus an offset the test sets: what both the signer and the receiver read."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def time(self) -> float:
        return time.time() + self.offset_seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    shared = Clock()

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> ShiftedDatetime:
            moment = datetime.now(tz) + timedelta(seconds=shared.offset_seconds)
            return cls.fromtimestamp(moment.timestamp(), tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ShiftedDatetime)
    return shared


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        ui=False,
        data_converter=data_converter(TEST_KEYS),  # encrypted, as the real worker's
    )
    async with env:
        yield env


async def _save_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With SAVE_HISTORIES=1, keep the run's history for the replay test (new files only:
    a committed history is never re-saved, docs/changing-the-workflow.md)."""
    path = HISTORIES / f"{name}-0.json"
    if os.environ.get("SAVE_HISTORIES") and not path.exists():
        path.write_text((await handle.fetch_history()).to_json())


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    yield get_engine(url)
    dispose_engine(url)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_retry_six_minutes_later_is_signed_afresh_and_verifies(
    dev_server: WorkflowEnvironment, engine: Engine, clock: Clock
) -> None:
    receiver = Receiver(secret=new_secret(), port=free_port(), fail_first=1)
    receiver.start()
    event_id = stored_event(engine)
    queue = f"webhooks-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            activities = WebhookActivities(
                engine, secret_keys(receiver.secret), http, clock=clock.time
            )
            async with Worker(
                dev_server.client,
                task_queue=queue,
                workflows=[WebhookDeliveryWorkflow],
                activities=[activities.deliver_webhook, activities.give_up_webhook],
            ):
                handle = await dev_server.client.start_workflow(
                    WebhookDeliveryWorkflow.run,
                    WebhookOrder(
                        event_id=event_id,
                        urls=[receiver.url],
                        retry_initial_seconds=2,
                        retry_max_interval_seconds=2,
                        retry_total_seconds=60,
                    ),
                    id=delivery_workflow_id(event_id),
                    task_queue=queue,
                )
                await until(
                    lambda: len(receiver.attempts) == 1, "the first attempt", timeout=WAIT_SECONDS
                )
                clock.offset_seconds = SIX_MINUTES  # the retry comes six minutes later
                outcomes = await handle.result()
                await _save_history(handle, "webhook_delivery_retried_then_delivered")
    finally:
        receiver.stop()
    assert [o.delivered for o in outcomes] == [True]
    first, retry = receiver.attempts
    assert (first.answered, retry.answered) == (500, 200)
    assert first.verified and retry.verified
    assert first.id == retry.id == event_id and first.body == retry.body  # same event, same id
    assert retry.timestamp - first.timestamp >= SIX_MINUTES - 1
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(receiver.secret).verify(
            first.body,
            {
                "webhook-id": first.id,
                "webhook-timestamp": str(first.timestamp),
                "webhook-signature": first.signature,
            },
        )
    delivery = run_in_transaction(
        engine, lambda s: s.get(WebhookDelivery, (event_id, receiver.url))
    )
    assert delivery is not None and (delivery.state, delivery.attempts) == ("delivered", 2)


@pytest.mark.asyncio(loop_scope="session")
async def test_past_the_retry_window_a_delivery_is_failed_and_listed(
    dev_server: WorkflowEnvironment, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    event_id = stored_event(engine)
    queue = f"webhooks-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=2) as http:
        activities = WebhookActivities(engine, secret_keys(new_secret()), http)
        async with Worker(
            dev_server.client,
            task_queue=queue,
            workflows=[WebhookDeliveryWorkflow],
            activities=[activities.deliver_webhook, activities.give_up_webhook],
        ):
            handle = await dev_server.client.start_workflow(
                WebhookDeliveryWorkflow.run,
                WebhookOrder(
                    event_id=event_id,
                    urls=[url],
                    retry_initial_seconds=0.2,
                    retry_max_interval_seconds=0.5,
                    retry_total_seconds=2,
                ),
                id=delivery_workflow_id(event_id),
                task_queue=queue,
            )
            outcomes = await handle.result()
            await _save_history(handle, "webhook_delivery_given_up")
    assert [o.delivered for o in outcomes] == [False]
    context = Context(database_url=str(engine.url))
    assert cli_main(["webhooks", "--failed", "--json"], context) == 0
    listed = capsys.readouterr().out
    assert event_id in listed and '"state": "failed"' in listed and "ConnectError" in listed
