"""Waiting in tests for something another process or task does: poll, with a deadline.

Each helper fails with ``AssertionError`` naming what was awaited, so a timed-out test
says what never happened."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from client.polling import poll_until

T = TypeVar("T")

WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    timeout: float = WAIT_SECONDS,
    interval: float = POLL_SECONDS,
) -> T:
    """Await ``probe`` until it returns something (neither None nor False)."""
    found = await poll_until(
        probe,
        lambda value: value is not None and value is not False,
        timeout=timeout,
        interval=interval,
        on_timeout=lambda _: AssertionError(f"not within {timeout} s: {what}"),
    )
    assert found is not None
    return found


async def until(
    condition: Callable[[], object],
    what: str,
    *,
    timeout: float = WAIT_SECONDS,
    interval: float = POLL_SECONDS,
) -> None:
    """Await until the plain (synchronous) ``condition()`` is true."""

    async def check() -> bool:
        return bool(condition())

    await eventually(check, what, timeout=timeout, interval=interval)


def wait_for(
    probe: Callable[[], T | None],
    what: str,
    *,
    timeout: float = WAIT_SECONDS,
    interval: float = POLL_SECONDS,
) -> T:
    """``eventually`` for code with no event loop: blocks between polls."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)
