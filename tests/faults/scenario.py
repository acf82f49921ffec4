"""One fault run: load a generated fixture, drive a batch through a real stack while
breaking it, then check the books. Sizes come from the environment (``make soak``).

| variable | default | what |
| --- | --- | --- |
| ``FAULT_SEED`` | 20261001 | every random choice of a run (printed with its figures) |
| ``FAULT_BATCH`` | 60 | withdrawals in the worker-crash run |
| ``FAULT_KILLS`` | 4 | SIGKILLs of the worker in that run |
| ``FAULT_RESTART_BATCH`` | 30 | withdrawals in the server-restart run |
| ``FAULT_SERVER_RESTARTS`` | 1 | dev-server restarts in that run |
| ``FAULT_PER_KIND_BATCH`` | 5 | withdrawals per single provider fault |
| ``FAULT_MIXED_BATCH`` | 16 | withdrawals under mixed provider faults |
| ``FAULT_SPREAD_SECONDS`` | 10 | starts (and breakages) are spread over this long |
| ``FAULT_DEADLINE_SECONDS`` | 300 | every withdrawal must be final by then |
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ledger.db import dispose_engine, get_engine, session_scope
from ledger.loading import load_fixture
from models.fixtures import parse_fixture
from stack import REPO_ROOT, Ports, Stack, StackConfig
from tests.faults.books import check_books, payout_simulator
from tests.faults.chaos import kill_worker_at, moments, restart_server_at
from tests.faults.driver import Driver, StatusWatch
from tests.faults.figures import Figures
from tests.faults.plan import Planned, fixture_for, make_plan

# A killed worker is back within a few seconds; the first restart waits this long.
WORKER_RESTART_BACKOFF_SECONDS = 0.2
CLI_TIMEOUT_SECONDS = 60.0
MAX_PROBLEMS_SHOWN = 40


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


SEED = env_int("FAULT_SEED", 20261001)
SPREAD_SECONDS = float(env_int("FAULT_SPREAD_SECONDS", 10))
DEADLINE_SECONDS = float(env_int("FAULT_DEADLINE_SECONDS", 300))


@dataclass(frozen=True)
class RunSettings:
    name: str
    count: int
    seed: int = SEED
    kills: int = 0
    server_restarts: int = 0
    mix: bool = True  # review, rejection and bounce paths beside the automatic one
    bank_card_share: float = 0.2
    spread_seconds: float = SPREAD_SECONDS
    faults: dict[str, Any] | None = None  # payout simulator faults during the run
    bounces_injected: bool = False  # the faults may fail a payout after acceptance


@asynccontextmanager
async def fault_stack(
    data_dir: Path, *, max_settle_seconds: float, database_url: str | None = None
) -> AsyncIterator[Stack]:
    """The ``make run`` stack on free ports, the worker a separate process; its ledger in
    ``database_url`` (a SQLite file under ``data_dir`` by default)."""
    config = StackConfig.local(
        data_dir,
        Ports.free(),
        max_settle_seconds=max_settle_seconds,
        worker_restart_backoff_seconds=WORKER_RESTART_BACKOFF_SECONDS,
    )
    if database_url is not None:
        config = dataclasses.replace(config, database_url=database_url)
    stack = await Stack.start(config)
    try:
        yield stack
    finally:
        stack.stop()
        dispose_engine(config.database_url)


def load_plans(engine: Engine, plans: list[Planned]) -> None:
    """Their accounts and orders, through the same loader as ``starter.py load``."""
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture(fixture_for(plans)))


def _fault_delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Faults injected during this run (the simulator's counters are cumulative)."""
    delta = {name: count - before.get(name, 0) for name, count in after.items()}
    return {name: count for name, count in delta.items() if count}


async def _drive(stack: Stack, settings: RunSettings, engine: Engine, figures: Figures) -> None:
    rng = random.Random(settings.seed)
    plans = make_plan(
        settings.name,
        settings.count,
        rng,
        mix=settings.mix,
        bank_card_share=settings.bank_card_share,
    )
    load_plans(engine, plans)
    starts = moments(rng, len(plans), settings.spread_seconds)
    kills = moments(rng, settings.kills, settings.spread_seconds)
    restarts = moments(rng, settings.server_restarts, settings.spread_seconds)
    deadline = time.monotonic() + DEADLINE_SECONDS
    watch = StatusWatch(engine, settings.name)
    driver = Driver(stack, watch, deadline)
    watch.start()
    try:
        async with asyncio.TaskGroup() as group:
            driver.run_spread(group, plans, starts)
            killing = group.create_task(kill_worker_at(stack, kills))
            restarting = group.create_task(restart_server_at(stack, restarts, rng))
        figures.kills, figures.server_restarts = killing.result(), restarting.result()
        await watch.wait_all_final([p.withdrawal_id for p in plans], deadline)
    finally:
        await watch.stop()
        figures.retried_calls = driver.retried_calls
    figures.withdrawals = len(plans)
    if settings.faults:
        payout_simulator(stack).set_faults()  # the checks read the provider without faults
    checked = await check_books(stack, engine, plans, bounces_injected=settings.bounces_injected)
    figures.statuses = checked.statuses
    figures.duplicates = checked.duplicates
    figures.mismatches = len(checked.report.mismatches)
    if checked.problems:
        shown = "\n".join(checked.problems[:MAX_PROBLEMS_SHOWN])
        raise AssertionError(f"{len(checked.problems)} problems:\n{shown}")


async def run_withdrawals(stack: Stack, settings: RunSettings) -> Figures:
    """Run the batch and check the books; figures are printed whether it passes or not."""
    figures = Figures(run=settings.name, seed=settings.seed)
    payout = payout_simulator(stack)
    faults_before = payout.fault_stats()
    restarts_before = stack.worker_restarts
    if settings.faults:
        payout.set_faults(seed=settings.seed, **settings.faults)
    engine = get_engine(stack.config.database_url)
    started = time.monotonic()

    def measure() -> None:
        payout.set_faults()
        figures.seconds = time.monotonic() - started
        figures.faults = _fault_delta(payout.fault_stats(), faults_before)
        figures.worker_restarts = stack.worker_restarts - restarts_before

    try:
        await _drive(stack, settings, engine, figures)
    except Exception as error:
        measure()
        raise AssertionError(f"{figures.report()}\n{explain(error)}") from error
    measure()
    figures.report()
    return figures


def explain(error: Exception) -> str:
    """A TaskGroup's failure says only how many of its tasks failed: show each."""
    if isinstance(error, ExceptionGroup):
        return "\n".join(explain(inner) for inner in error.exceptions)
    return f"{type(error).__name__}: {error}"


def reconcile_cli(stack: Stack) -> subprocess.CompletedProcess[str]:
    """``starter.py reconcile --json`` against the stack, as ops would run it."""
    return subprocess.run(
        [sys.executable, "starter.py", "reconcile", "--json"],
        cwd=REPO_ROOT,
        env=stack.child_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
