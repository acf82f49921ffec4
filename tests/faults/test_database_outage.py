"""The ledger's PostgreSQL stopped in the middle of a burst of withdrawals (issue 26, item 4).

Every withdrawal still ends exactly once: each paid once (succeeded) or its hold released,
holds and balances agree (``ledger verify``), reconciliation finds nothing, the audit
chains hold. While the database is away the HTTP API answers 503 with ``Retry-After`` as
problem+json, never a 500; once it is back the API and the worker carry on by themselves,
the same processes as before (no restart). ``make test`` runs it small (8 withdrawals,
10 s down); ``make soak`` at size (``FAULT_OUTAGE_*``, 30 s down). Figures in the summary.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from stack import Stack
from tests.faults.outage import OutageSettings, run_outage
from tests.faults.private_postgres import PrivatePostgres, missing_reason, private_postgres
from tests.faults.scenario import fault_stack

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MAX_SETTLE_SECONDS = 5.0  # payouts settle slowly enough to be in flight when it stops
# Once the database answers again, a probe of the API gets a 200 within this long
# (its pool checks each connection before use: nothing dead is handed out).
API_RECOVERY_SECONDS = 5.0
# ... and the withdrawals caught in flight are final within this long: their database
# steps poll for its return (activities.base.database_step) instead of waiting for
# Temporal's backed-off retries (31 s after a 30 s outage without it; 6 s with it).
STALLED_RECOVERY_SECONDS = 20.0


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI has the binaries: never pass by skipping
        pytest.skip(reason)
    with private_postgres() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres: PrivatePostgres
) -> AsyncIterator[Stack]:
    data_dir = tmp_path_factory.mktemp("outage")
    async with fault_stack(
        data_dir, max_settle_seconds=MAX_SETTLE_SECONDS, database_url=postgres.url
    ) as running:
        yield running


async def test_database_outage_loses_nothing_and_api_answers_503(
    stack: Stack, postgres: PrivatePostgres
) -> None:
    run = await run_outage(stack, postgres, OutageSettings())
    figures = run.figures
    assert figures.in_flight_at_stop > 0, f"not in the middle of the burst: {figures.line()}"
    # Every withdrawal final once, money moved once, books exact (check_books, verify).
    assert run.problems == [], f"{figures.line()}\n" + "\n".join(run.problems)
    assert figures.duplicates == 0 and figures.mismatches == 0, figures.line()
    # The API: 503 + Retry-After, problem+json, while the database was away; never a 500.
    wrong = Counter(problem for a in run.answers if (problem := a.problem()) is not None)
    assert not wrong, f"{figures.line()}\n" + "\n".join(f"{n}x {p}" for p, n in wrong.items())
    assert figures.answers_503_during > 0, figures.line()
    down, starting = run.outage.down_at, run.outage.starting_at
    assert down is not None and starting is not None
    during = [a for a in run.answers if down <= a.sent and a.received < starting]
    answered = [a for a in during if a.status != 503]
    assert during and not answered, f"{figures.line()}\nanswered while down: {answered[:5]}"
    # Recovered by themselves: the same worker and API processes, answering again.
    assert figures.worker_restarts == 0 and run.pids_after == run.pids_before, figures.line()
    assert figures.api_recovered_seconds is not None, figures.line()
    assert figures.api_recovered_seconds < API_RECOVERY_SECONDS, figures.line()
    assert figures.worker_recovered_seconds is not None, figures.line()
    assert figures.stalled_final_seconds is not None, figures.line()
    assert figures.stalled_final_seconds < STALLED_RECOVERY_SECONDS, figures.line()
