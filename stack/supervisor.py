"""While the stack runs: a dead worker is restarted with backoff, a dead server ends it.

The worker is the one part expected to crash now and then (and to be killed by the fault
tests); everything else dying means the stack cannot serve, so it stops loudly instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from stack.child_process import ChildProcess

if TYPE_CHECKING:
    from stack.running import Stack

SUPERVISE_INTERVAL_SECONDS = 0.25
WORKER_RESTART_MAX_BACKOFF_SECONDS = 30.0
# A worker that stayed up this long crashed for a new reason: start the backoff afresh.
WORKER_HEALTHY_UPTIME_SECONDS = 60.0
# Crash-looping this many times in a row means it will not recover by itself.
MAX_WORKER_QUICK_RESTARTS = 10


async def supervise(stack: Stack) -> None:
    """Restart a dead worker with backoff; a dead server or receiver ends the stack."""
    backoff = stack.config.worker_restart_backoff_seconds
    quick_restarts = 0
    while not stack.stopped:
        await asyncio.sleep(SUPERVISE_INTERVAL_SECONDS)
        if _essential_part_died(stack):
            return
        worker = stack.worker
        if stack.stopped or worker is None or worker.exit_code() is None:
            continue
        if worker.uptime_seconds() >= WORKER_HEALTHY_UPTIME_SECONDS:
            backoff, quick_restarts = stack.config.worker_restart_backoff_seconds, 0
        quick_restarts += 1
        if quick_restarts > MAX_WORKER_QUICK_RESTARTS:
            stack.mark_failed(
                f"the worker crashed {MAX_WORKER_QUICK_RESTARTS} times in a row", worker
            )
            return
        await _restart_worker(stack, worker, backoff)
        backoff = min(backoff * 2, WORKER_RESTART_MAX_BACKOFF_SECONDS)


def _essential_part_died(stack: Stack) -> bool:
    temporal = None if stack.temporal_restarting else stack.temporal
    for part in (temporal, stack.callbacks, stack.codec, stack.api):
        if not stack.stopped and part is not None and part.exit_code() is not None:
            stack.mark_failed(f"{part.name} exited (code {part.exit_code()})", part)
            return True
    return False


async def _restart_worker(stack: Stack, worker: ChildProcess, backoff: float) -> None:
    stack.echo(
        f"worker exited (code {worker.exit_code()}); restarting in {backoff:g} s "
        f"(log: {worker.log_path})"
    )
    await asyncio.sleep(backoff)
    if stack.stopped:
        return
    pid = worker.spawn()
    stack.worker_restarts += 1
    stack.echo(f"worker restarted (pid {pid})")
