"""Exactly-once payouts under each payout-provider fault alone, then mixed at random.

The simulator's ``/stats`` counts money movements per key; its ``/admin/stats`` counts
the faults it injected. A commit whose answer is lost must be found by the look-up that
precedes every resubmission, never paid a second time.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from stack import Stack
from tests.faults.scenario import (
    SEED,
    RunSettings,
    env_int,
    fault_stack,
    run_withdrawals,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

# The slowest route settles in 30 s, so a bank-card original route takes 4 s (R7: 2 of
# 15 business days) and stays ``processing`` long enough for callbacks to matter.
MAX_SETTLE_SECONDS = 30.0
PER_KIND = env_int("FAULT_PER_KIND_BATCH", 5)

# (name, faults, counter that must show the fault happened, or None when it is a dice
# roll a small batch may miss). Rates stay low where each hit costs a retry backoff
# (1 s doubling): 0.2 already fails a look-up-then-submit attempt a third of the time.
SINGLE_FAULTS: list[tuple[str, dict[str, Any], str | None]] = [
    ("error", {"error_rate": 0.2}, None),
    ("drop", {"drop_rate": 0.2}, None),
    ("commit-then-drop", {"commit_then_drop_rate": 1.0}, "commit_then_drop"),
    (
        "commit-then-503",
        {"commit_then_drop_rate": 1.0, "commit_then_drop_as_503": True},
        "commit_then_drop",
    ),
    ("fail-after-accept", {"fail_after_accept_rate": 0.5}, None),
    ("callback-duplicate", {"callback_duplicate_rate": 1.0}, "callback_duplicated"),
    ("callback-out-of-order", {"callback_out_of_order": True}, "callback_out_of_order"),
    ("latency", {"latency_ms": 300}, "latency"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    data_dir = tmp_path_factory.mktemp("provider")
    async with fault_stack(data_dir, max_settle_seconds=MAX_SETTLE_SECONDS) as running:
        yield running


@pytest.mark.parametrize(
    ("name", "faults", "must_count"), SINGLE_FAULTS, ids=[f[0] for f in SINGLE_FAULTS]
)
async def test_single_provider_fault_pays_exactly_once(
    stack: Stack, name: str, faults: dict[str, Any], must_count: str | None
) -> None:
    callbacks_matter = name.startswith("callback")
    settings = RunSettings(
        name=f"fault-{name}",
        count=PER_KIND,
        seed=SEED + [f[0] for f in SINGLE_FAULTS].index(name),  # a different mix per fault
        faults=faults,
        # Bank-card routes stay 'processing' for 4 s, long enough for callbacks to race
        # the workflow's look-ups; elsewhere they would only make the run longer.
        bank_card_share=0.5 if callbacks_matter else 0.0,
        spread_seconds=2.0,
        bounces_injected="fail_after_accept_rate" in faults,
    )
    figures = await run_withdrawals(stack, settings)
    assert (figures.duplicates, figures.mismatches) == (0, 0), figures.line()
    if must_count is not None:
        assert figures.faults.get(must_count, 0) > 0, figures.line()


def mixed_faults(rng: random.Random) -> dict[str, Any]:
    """Every fault at once, at rates drawn from the seed (printed with the figures)."""
    return {
        "error_rate": round(rng.uniform(0.05, 0.2), 2),
        "drop_rate": round(rng.uniform(0.05, 0.2), 2),
        "commit_then_drop_rate": round(rng.uniform(0.1, 0.3), 2),
        "commit_then_drop_as_503": rng.random() < 0.5,
        "fail_after_accept_rate": round(rng.uniform(0.05, 0.2), 2),
        "callback_lose_rate": round(rng.uniform(0.1, 0.5), 2),
        "callback_duplicate_rate": round(rng.uniform(0.1, 0.5), 2),
        "callback_out_of_order": rng.random() < 0.5,
        "latency_ms": rng.randint(0, 150),
    }


async def test_mixed_provider_faults_pay_exactly_once(stack: Stack) -> None:
    faults = mixed_faults(random.Random(SEED))
    print(f"\nmixed faults (seed {SEED}): {faults}")
    settings = RunSettings(
        name="fault-mixed",
        count=env_int("FAULT_MIXED_BATCH", 16),
        faults=faults,
        spread_seconds=4.0,
        bounces_injected=True,
    )
    figures = await run_withdrawals(stack, settings)
    assert (figures.duplicates, figures.mismatches) == (0, 0), f"{faults}\n{figures.line()}"


async def test_lost_callbacks_still_settle_by_polling(stack: Stack) -> None:
    """Every callback lost, bank-card routes still processing when the submit answers:
    the workflow's own look-ups find the final state (R7 arrival, no callback)."""
    settings = RunSettings(
        name="fault-callback-lost",
        count=max(3, PER_KIND // 2),
        faults={"callback_lose_rate": 1.0},
        mix=False,
        bank_card_share=1.0,
        spread_seconds=1.0,
    )
    figures = await run_withdrawals(stack, settings)
    assert figures.statuses == {"succeeded": settings.count}, figures.line()
    assert figures.faults.get("callback_lost") == settings.count, figures.line()
    assert "callbacks_delivered" not in figures.faults, figures.line()
    assert (figures.duplicates, figures.mismatches) == (0, 0), figures.line()
