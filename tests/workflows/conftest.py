"""Real Temporal servers for the workflow tests, started once per session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from client.connection import data_converter
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from standins.simulators.runner import RunningServer, start_simulator
from tests.workflows.harness import Stack, register_search_attributes
from tests.workflows.keys import TEST_KEYS
from tests.workflows.stacks import fake_provider_stack, simulator_stack
from workflows.search_attributes import ALL_KEYS

BIN = Path(sys.executable).parent


@asynccontextmanager
async def _time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(TEST_KEYS),
    )
    await register_search_attributes(env.client)
    async with env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    async with _time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def edge_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own, for tests that move its clock by days or
    weeks: the session's server keeps the time the other tests expect."""
    async with _time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=data_converter(TEST_KEYS),
        search_attributes=ALL_KEYS,
        ui=False,
    )
    async with env:
        yield env


@pytest_asyncio.fixture(loop_scope="session")
async def fake_stack(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """Time-skipping server, real SQLite ledger, in-process fake providers."""
    # refresh histories with: SAVE_HISTORIES=1 pytest tests/workflows
    name = request.node.name.replace("[", "-").replace("]", "")
    async with fake_provider_stack(
        time_skipping_env, tmp_path, WithdrawalActivities, save_as=name
    ) as (stack, _):
        yield stack


@pytest.fixture(scope="session")
def simulators() -> Iterator[tuple[RunningServer, RunningServer]]:
    """The HTTP payout and SMS simulators, settling at once (R7/R9 scaled to zero)."""
    with (
        start_simulator("payout", max_settle_seconds=0) as payout,
        start_simulator("sms") as sms,
    ):
        yield payout, sms


@pytest_asyncio.fixture(loop_scope="session")
async def sim_stack(
    dev_env: WorkflowEnvironment,
    simulators: tuple[RunningServer, RunningServer],
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The dev server, a real SQLite ledger, and the HTTP simulators end to end."""
    async with simulator_stack(dev_env, simulators, tmp_path) as stack:
        yield stack


@pytest.fixture
def fakes(fake_stack: Stack) -> tuple[FakePayoutProvider, FakeSmsProvider]:
    assert isinstance(fake_stack.payout, FakePayoutProvider)
    assert isinstance(fake_stack.sms, FakeSmsProvider)
    return fake_stack.payout, fake_stack.sms
