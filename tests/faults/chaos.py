"""Breaking a running stack on purpose: SIGKILL the worker, restart the Temporal server.

Moments come from a seeded ``random.Random``, so a failing run can be replayed with the
seed its figures print (the interleaving with real processes still varies a little).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time

from stack import Stack

RESTART_WAIT_SECONDS = 90.0  # a restart backoff doubles per quick crash (launcher)
POLL_SECONDS = 0.1


def moments(rng: random.Random, count: int, within_seconds: float) -> list[float]:
    """``count`` sorted offsets (seconds from now) spread over ``within_seconds``."""
    return sorted(rng.uniform(1.0, max(1.0, within_seconds)) for _ in range(count))


async def _sleep_until(started: float, offset: float) -> None:
    await asyncio.sleep(max(0.0, started + offset - time.monotonic()))


async def kill_worker_at(stack: Stack, offsets: list[float]) -> int:
    """SIGKILL the worker at each offset and wait until the launcher brought it back."""
    started, kills = time.monotonic(), 0
    for offset in offsets:
        await _sleep_until(started, offset)
        worker = stack.worker
        assert worker is not None and worker.pid is not None
        killed, restarts = worker.pid, stack.worker_restarts
        os.kill(killed, signal.SIGKILL)  # no goodbye: activities die mid-flight
        kills += 1
        deadline = time.monotonic() + RESTART_WAIT_SECONDS
        while stack.worker_restarts == restarts or worker.pid == killed:
            if time.monotonic() > deadline or stack.failure:
                raise AssertionError(f"the launcher did not restart the worker: {stack.failure}")
            await asyncio.sleep(POLL_SECONDS)
        assert worker.pid is not None
        await stack.wait_for_worker(worker.pid, timeout_seconds=RESTART_WAIT_SECONDS)
    return kills


async def restart_server_at(
    stack: Stack, offsets: list[float], rng: random.Random, max_down_seconds: float = 2.0
) -> int:
    """Stop the Temporal dev server at each offset and start it again on its state file."""
    started, restarts = time.monotonic(), 0
    for offset in offsets:
        await _sleep_until(started, offset)
        await stack.restart_temporal(down_seconds=rng.uniform(0.2, max_down_seconds))
        restarts += 1
    return restarts
