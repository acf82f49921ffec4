"""Waiting for something another process does: ask again every ``interval`` seconds until
the answer is good or ``timeout`` seconds have passed.

One loop for every face, the bench and the tests, so each waits the same way: the first
look is at once, the last one at or after the deadline, and a timeout either returns the
last answer (the caller says what it means) or raises the caller's own error. It sits with
the code that talks to other processes, not in ``models/`` (the domain: money, rules).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def found(value: object) -> bool:
    """The usual ``done``: an answer other than None."""
    return value is not None


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool] = found,
    *,
    timeout: float,
    interval: float,
    on_timeout: Callable[[T], BaseException] | None = None,
) -> T:
    """``fetch()`` until ``done`` says yes; the answer that was done, or at the deadline
    the last answer (or ``on_timeout(last answer)`` raised, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            if on_timeout is not None:
                raise on_timeout(value)
            return value
        await asyncio.sleep(interval)
