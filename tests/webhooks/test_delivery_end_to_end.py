"""Webhooks end to end (CONTRACT.md, "Webhooks"): the real stack as ``make run`` starts it,
a receiver that fails its first deliveries and is down while the worker is killed and
restarted. Every status event arrives, in ``sequence`` order per withdrawal, each
signature verifies with the ``standardwebhooks`` package, and an event keeps its id on
every retry."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
import pytest_asyncio

from client.polling import poll_until
from gateways.webhooks import new_secret
from ledger.db import dispose_engine
from stack import Ports, Stack, StackConfig
from tests.api.conftest import ROOT_WAIT_SECONDS, Api
from tests.launched import new_id
from tests.support.ports import free_port
from tests.webhooks.receiver import Receiver

FAIL_FIRST = 3
DELIVERY_WAIT_SECONDS = 60.0
WEBHOOK_ENV = {
    "WEBHOOK_RETRY_INITIAL_SECONDS": "0.5",
    "WEBHOOK_RETRY_MAX_INTERVAL_SECONDS": "2",
    "WEBHOOK_RETRY_TOTAL_SECONDS": "600",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    hooks = Receiver(secret=new_secret(), port=free_port(), fail_first=FAIL_FIRST)
    hooks.start()
    yield hooks
    hooks.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def webhook_stack(
    receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    env = {**WEBHOOK_ENV, "WEBHOOK_URLS": receiver.url, "WEBHOOK_SECRET": receiver.secret}
    saved = {name: os.environ.get(name) for name in [*env, "API_KEYS"]}
    os.environ.update(env)
    os.environ.pop("API_KEYS", None)
    config = StackConfig.local(
        tmp_path_factory.mktemp("webhook-stack"),
        Ports.free(),
        max_settle_seconds=1.0,
        worker_restart_backoff_seconds=0.5,
    )
    try:
        stack = await Stack.start(config)
        yield stack
        stack.stop()
        dispose_engine(stack.urls.database_url)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def api(webhook_stack: Stack) -> Iterator[Api]:
    key = webhook_stack.api_key
    assert key is not None
    with httpx.Client(
        base_url=webhook_stack.urls.http,
        headers={"Authorization": f"Bearer {key}"},
        timeout=ROOT_WAIT_SECONDS,
    ) as http:
        yield Api(http=http, stack=webhook_stack, key=key)


async def _wait(condition: Callable[[], bool], seconds: float = DELIVERY_WAIT_SECONDS) -> None:
    """Polls with the event loop free: the launcher's supervisor runs on it."""

    async def check() -> bool:
        return condition()

    await poll_until(
        check,
        bool,
        timeout=seconds,
        interval=0.2,
        on_timeout=lambda _: AssertionError("timed out waiting"),
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_every_status_event_arrives_signed_through_failures_and_a_worker_restart(
    api: Api, receiver: Receiver, webhook_stack: Stack
) -> None:
    withdrawal_id = new_id("hook")
    created = await asyncio.to_thread(
        api.post,
        "/v1/withdrawals",
        json={
            "id": withdrawal_id,
            "account_id": "acct-personal",
            "order_id": "R-P-ALIPAY",
            "amount": "4.56",
        },
    )
    assert created.status_code == 201, created.text
    # Down while the worker dies and comes back: the events wait, none is lost.
    receiver.stop()
    worker = webhook_stack.worker
    assert worker is not None and worker.pid is not None
    restarts = webhook_stack.worker_restarts
    os.kill(worker.pid, signal.SIGKILL)
    await _wait(lambda: webhook_stack.worker_restarts > restarts)
    code = await asyncio.to_thread(api.latest_code, "acct-personal")
    answer = await asyncio.to_thread(
        api.post, f"/v1/withdrawals/{withdrawal_id}/code", json={"code": code}
    )
    assert answer.json()["verdict"] == "verified"
    await asyncio.to_thread(api.wait_for_status, withdrawal_id, "succeeded")
    await asyncio.sleep(1.0)  # retries meet a closed port meanwhile
    receiver.start()

    def all_arrived() -> bool:
        mine = [e for e in receiver.delivered().values() if e["data"]["id"] == withdrawal_id]
        last = max((e["data"]["sequence"] for e in mine), default=0)
        finished = any(e["type"] == "withdrawal.succeeded" for e in mine)
        return finished and {e["data"]["sequence"] for e in mine} == set(range(1, last + 1))

    await _wait(all_arrived)
    mine = {i: e for i, e in receiver.delivered().items() if e["data"]["id"] == withdrawal_id}
    ordered = sorted(mine.values(), key=lambda e: e["data"]["sequence"])
    assert [e["data"]["sequence"] for e in ordered] == list(range(1, len(ordered) + 1))
    types = [e["type"] for e in ordered]
    assert types[0] == "withdrawal.verifying" and types[-1] == "withdrawal.succeeded", types
    for status in ("awaiting_code", "approved_awaiting_payout"):
        assert f"withdrawal.{status}" in types, types
    assert {e["data"]["status"] for e in ordered} >= {"verifying", "awaiting_code", "succeeded"}
    assert ordered[-1]["data"]["amount"] == "4.56"  # the status document, amounts as strings
    attempts = [a for a in receiver.attempts if a.id in mine]
    assert all(a.verified for a in attempts), "every attempt's signature verifies"
    failed_ids = {a.id for a in receiver.attempts[:FAIL_FIRST]}
    assert failed_ids <= set(receiver.delivered()), "a failed event arrives later, same id"
    for event_id in failed_ids:
        tries = [a for a in receiver.attempts if a.id == event_id]
        assert len({a.signature for a in tries}) == len(tries), "each attempt signed afresh"

    listing = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "starter.py", "webhooks", "--withdrawal", withdrawal_id, "--json"],
        env=webhook_stack.child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    deliveries = json.loads(listing.stdout)
    assert {d["event_id"] for d in deliveries} == set(mine)
    assert all(d["state"] == "delivered" for d in deliveries)
    assert sum(d["attempts"] for d in deliveries) >= len(deliveries) + 1
