"""A whole stack started by ``stack`` as ``make run`` starts it, for the suites
that drive it from outside (the CLI, the HTTP API, the reviewer console), and what they
share: how long a simulated payout takes, how they wait for a status, unique ids.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from ledger.db import dispose_engine
from stack import Ports, Stack, StackConfig

# The slowest simulated route (designated, 15 business days) settles in this many seconds.
SETTLE_SECONDS = 2.0
STATUS_WAIT_SECONDS = 40.0
STATUS_POLL_SECONDS = 0.3
HTTP_TIMEOUT_SECONDS = 60.0


@asynccontextmanager
async def launched_stack(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """The stack on free ports in a fresh data directory. ``API_KEYS`` is unset while it
    starts (its own dev key, as under ``make run``), ``settings`` set; both only for the
    stack's processes: this process's environment is restored once they run."""
    settings = dict(settings or {})
    config = StackConfig.local(
        tmp_path_factory.mktemp(name), Ports.free(), max_settle_seconds=SETTLE_SECONDS
    )
    saved = {key: os.environ.pop(key, None) for key in ("API_KEYS", *settings)}
    os.environ.update(settings)
    try:
        stack = await Stack.start(config)
    finally:
        for key in settings:
            os.environ.pop(key, None)
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
    try:
        yield stack
    finally:
        stack.stop()
        dispose_engine(stack.urls.database_url)


def wait_for_status(document: Callable[[], dict[str, Any]], *statuses: str) -> dict[str, Any]:
    """Read the status ``document`` until it is in one of ``statuses`` (asserted)."""
    deadline = time.monotonic() + STATUS_WAIT_SECONDS
    while True:
        found = document()
        if found["status"] in statuses or time.monotonic() > deadline:
            assert found["status"] in statuses, found
            return found
        time.sleep(STATUS_POLL_SECONDS)


def new_id(prefix: str) -> str:
    """Unique; the hex is split so it never holds 11 digits in a row (ids refuse those:
    they could be a phone or a card number)."""
    token = os.urandom(6).hex()
    return f"{prefix}-{token[:6]}-{token[6:]}"
