"""How long the bench waits for one withdrawal, and what it says when one is stuck.

Every wait on a withdrawal (its code SMS, its code accepted, under review, its approval
weighed, its final status) runs under that withdrawal's deadline: ``WAIT_BASE_SECONDS``
plus ``WAIT_SECONDS_PER_WITHDRAWAL`` for each withdrawal its phase may have in flight
(they share one worker and one server). At the smoke tests' toy sizes that is about half
a minute, well inside their 120 s; at the README's sizes it grows with the phase.

A withdrawal past its deadline ends the run with ``StuckWithdrawal``: its id, the state it
waited for, how Temporal last saw it (a workflow task attempt above 1 is a task failing
again and again) and the worker log to read. Counting it as failed and going on would
only add one more deadline per later withdrawal, and a run with a stuck withdrawal has
no figures worth keeping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client

from workflows.search_attributes import WITHDRAWAL_STATUS

# One withdrawal alone on a loaded two-core machine, the first of a fresh worker (sandbox
# imports, connections) included: a few seconds; this leaves room for a CPU-bound neighbour.
# BENCH_WAIT_BASE_SECONDS sets another (the harness's stuck-run test: a shorter wait).
WAIT_BASE_SECONDS = float(os.environ.get("BENCH_WAIT_BASE_SECONDS", "30"))
# Each withdrawal in flight beside it: the slowest rate measured (1.1/s, auto withdrawals
# beside 10 000 approvals, bench/README.md) is about one second each.
WAIT_SECONDS_PER_WITHDRAWAL = 1.0
DESCRIBE_TIMEOUT_SECONDS = 5.0
NONDETERMINISM = "Nondeterminism"  # how the SDK's worker logs a replay that diverged
LOG_FINDINGS_TAIL_LINES = 10
LOG_LINE_MAX_CHARACTERS = 300  # a traceback's line can be long; the file has it whole

T = TypeVar("T")


def wait_seconds(in_flight: int, base: float = WAIT_BASE_SECONDS) -> float:
    """The deadline of one withdrawal in a phase with ``in_flight`` at most at once."""
    return base + WAIT_SECONDS_PER_WITHDRAWAL * max(1, in_flight)


class StuckWithdrawal(RuntimeError):
    """A withdrawal that did not reach the state the bench waited for by its deadline."""

    def __init__(
        self,
        withdrawal_id: str,
        state: str,
        seconds: float,
        last_seen: str,
        worker_logs: tuple[Path, ...],
    ) -> None:
        self.withdrawal_id = withdrawal_id
        self.state = state
        self.seconds = seconds
        self.last_seen = last_seen
        self.worker_logs = worker_logs
        logs = ", ".join(str(path) for path in worker_logs) or "(no worker log known)"
        super().__init__(
            f"withdrawal {withdrawal_id} stuck: not {state} within its deadline of "
            f"{seconds:.0f} s; Temporal: {last_seen}; worker log: {logs}"
        )


Describe = Callable[[], Awaitable[str]]


@dataclass
class Watch:
    """What one withdrawal waits for now: its driver says so before each wait, and the
    bench reads it when the withdrawal's deadline passes."""

    seconds: float
    withdrawal_id: str = "(not chosen yet)"
    state: str = "started"
    worker_logs: tuple[Path, ...] = ()
    describe: Describe | None = field(default=None, repr=False)

    def follow(self, withdrawal_id: str, worker_logs: tuple[Path, ...], describe: Describe) -> None:
        self.withdrawal_id = withdrawal_id
        self.worker_logs = worker_logs
        self.describe = describe

    def waiting_for(self, state: str) -> None:
        self.state = state

    async def stuck(self) -> StuckWithdrawal:
        last_seen = "not described" if self.describe is None else await self.describe()
        return StuckWithdrawal(
            self.withdrawal_id, self.state, self.seconds, last_seen, self.worker_logs
        )


async def within(watch: Watch, driving: Callable[[Watch], Awaitable[T]]) -> T:
    """``driving(watch)`` by ``watch.seconds``, or ``StuckWithdrawal`` for what it waited
    for then. Its own errors (a ``TimeoutError`` of its own included) pass through."""
    try:
        async with asyncio.timeout(watch.seconds) as scope:
            return await driving(watch)
    except TimeoutError:
        if not scope.expired():
            raise
    raise await watch.stuck()


async def every(coroutines: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Each coroutine's result, in order. The first ``StuckWithdrawal`` cancels the others
    and is raised as itself (not in a group), so the run ends with its message."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coroutine) for coroutine in coroutines]
    except BaseExceptionGroup as failed:
        stuck, _ = failed.split(StuckWithdrawal)
        if stuck is None:
            raise
        raise _first(stuck) from None
    return [task.result() for task in tasks]


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


async def describe_workflow(client: Client, workflow_id: str) -> str:
    """How Temporal sees a run now, from the server alone (a query would need the worker,
    which may be the stuck part): run status, WithdrawalStatus, events, and the pending
    workflow task's attempt."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe(
            rpc_timeout=timedelta(seconds=DESCRIBE_TIMEOUT_SECONDS)
        )
    except Exception as error:  # a diagnosis, never a second failure
        return f"describe {workflow_id} failed: {type(error).__name__}: {error}"
    status = described.typed_search_attributes.get(WITHDRAWAL_STATUS)
    run = described.status.name.lower() if described.status is not None else "unknown"
    found = [f"run {run}", f"WithdrawalStatus {status}", f"{described.history_length} events"]
    raw = described.raw_description
    if raw.HasField("pending_workflow_task"):
        found.append(f"workflow task attempt {raw.pending_workflow_task.attempt}")
    return ", ".join(found)


def log_findings(path: Path) -> str:
    """What a worker log says about a stuck run: its ``Nondeterminism`` lines (how many,
    and the last) and its last lines."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        return f"{path}: unreadable ({error})"
    diverged = [line for line in lines if NONDETERMINISM in line]
    said = f"{path}: {len(diverged)} lines with {NONDETERMINISM!r}"
    if diverged:
        said += f"; the last: {diverged[-1][:LOG_LINE_MAX_CHARACTERS]}"
    tail = "\n".join(line[:LOG_LINE_MAX_CHARACTERS] for line in lines[-LOG_FINDINGS_TAIL_LINES:])
    return f"{said}\nits last {LOG_FINDINGS_TAIL_LINES} lines:\n{tail}"
