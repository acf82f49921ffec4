"""Exactly-once payouts while the processes under the service die (R19).

Killed worker: SIGKILLed at random moments, restarted by the launcher. Restarted server:
the Temporal dev server (file-backed) stopped and started again mid-run; workflows,
timers and pending activities survive in its file. Either way every withdrawal ends
final, the provider moves money once per succeeded withdrawal and never for another,
every hold is posted or voided once with one debit per posted hold, balances are exact
to the fen, and reconciliation finds nothing. Both runs share one stack (starting one
costs ~15 s on a small machine); each checks the whole ledger, earlier runs included.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from stack import Stack
from tests.faults.scenario import (
    SEED,
    RunSettings,
    env_int,
    fault_stack,
    reconcile_cli,
    run_withdrawals,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    data_dir = tmp_path_factory.mktemp("processes")
    async with fault_stack(data_dir, max_settle_seconds=10.0) as running:
        yield running


async def test_killed_worker_pays_each_withdrawal_exactly_once(stack: Stack) -> None:
    settings = RunSettings(
        name="crash", count=env_int("FAULT_BATCH", 60), kills=env_int("FAULT_KILLS", 4)
    )
    figures = await run_withdrawals(stack, settings)
    assert figures.kills == settings.kills, figures.line()
    assert figures.worker_restarts >= settings.kills, figures.line()
    assert (figures.duplicates, figures.mismatches) == (0, 0), figures.line()


async def test_server_restart_pays_each_withdrawal_exactly_once(stack: Stack) -> None:
    settings = RunSettings(
        name="restart",
        count=env_int("FAULT_RESTART_BATCH", 30),
        seed=SEED + 1,  # another mix of paths than the crash run's
        server_restarts=env_int("FAULT_SERVER_RESTARTS", 1),
    )
    figures = await run_withdrawals(stack, settings)
    assert figures.server_restarts == settings.server_restarts == stack.temporal_restarts
    assert (figures.duplicates, figures.mismatches) == (0, 0), figures.line()


async def test_reconcile_command_finds_the_books_clean(stack: Stack) -> None:
    done = reconcile_cli(stack)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary["clean"] is True and summary["mismatches"] == 0
    assert summary["open_workflows"] == 0
