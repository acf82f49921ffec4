"""The use cases in application/ driven directly: a real SQLite ledger with the test
accounts, a real Temporal time-skipping server and a worker over in-process fake
providers (the same stack the workflow tests use), no HTTP and no CLI in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from tests.workflows.conftest import edge_env, time_skipping_env
from tests.workflows.harness import Stack
from tests.workflows.stacks import fake_provider_stack

# One shared server for this folder's session, and one of its own for a test that moves
# the clock (a shared server's clock may be held by another test's leftovers).
__all__ = ["edge_env", "time_skipping_env"]


@pytest_asyncio.fixture(loop_scope="session")
async def stack(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with fake_provider_stack(time_skipping_env, tmp_path, WithdrawalActivities) as (
        stack,
        _,
    ):
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def clock_stack(edge_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """``stack`` on a server of its own, whose clock a test may move (``env.sleep``)."""
    async with fake_provider_stack(edge_env, tmp_path, WithdrawalActivities) as (stack, _):
        yield stack
