"""Real Temporal servers for the workflow tests, started once per session."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from client.connection import data_converter
from client.withdrawals import WithdrawalClient
from gateways.fakes import FakePayoutProvider, FakeSmsProvider
from gateways.http_payout import HttpPayoutProvider
from gateways.http_sms import HttpSmsProvider
from gateways.simulators.runner import RunningServer, start_simulator
from ledger.db import get_engine
from models.money import Money
from tests.workflow.harness import Stack, load_test_accounts, register_search_attributes
from tests.workflow.keys import TEST_KEYS, review_verify_key
from worker import build_worker
from workflows.search_attributes import ALL_KEYS

BIN = Path(sys.executable).parent
TEST_CODE_KEY = b"k" * 32
# Low enough that a test account can cross it (four-eyes), above every other path's amount.
FOUR_EYES_TEST_THRESHOLD = Money.yuan("500.00")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(TEST_KEYS),
    )
    await register_search_attributes(env.client)
    async with env:
        yield env


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def edge_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own, for tests that move its clock by days or
    weeks: the session's server keeps the time the other tests expect."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(TEST_KEYS),
    )
    await register_search_attributes(env.client)
    async with env:
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


HISTORIES = Path(__file__).parent / "histories"


@pytest_asyncio.fixture(loop_scope="session")
async def fake_stack(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """Time-skipping server, real SQLite ledger, in-process fake providers."""
    engine = get_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    load_test_accounts(engine)
    payout = FakePayoutProvider(auto_settle=True)
    sms = FakeSmsProvider()
    task_queue = f"withdrawals-{uuid.uuid4().hex[:8]}"
    activities = WithdrawalActivities(
        engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        review_verify_key=review_verify_key(),
    )

    async def read_code(phone: str) -> str | None:
        return sms.last_code(phone)

    worker = build_worker(time_skipping_env.client, activities, task_queue)
    async with worker:
        stack = Stack(
            env=time_skipping_env,
            client=WithdrawalClient(time_skipping_env.client, task_queue),
            engine=engine,
            payout=payout,
            sms=sms,
            read_code=read_code,
        )
        yield stack
        if os.environ.get("SAVE_HISTORIES"):  # refresh with: SAVE_HISTORIES=1 pytest tests/workflow
            name = request.node.name.replace("[", "-").replace("]", "")
            await stack.save_histories(HISTORIES, name)
        await stack.terminate_leftovers()


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
    payout_server, sms_server = simulators
    payout_server.set_faults()  # each test starts without faults
    engine = get_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    load_test_accounts(engine)
    payout = HttpPayoutProvider(payout_server.url)
    sms = HttpSmsProvider(sms_server.url)
    task_queue = f"withdrawals-{uuid.uuid4().hex[:8]}"
    activities = WithdrawalActivities(
        engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        review_verify_key=review_verify_key(),
    )

    async def read_code(phone: str) -> str | None:
        inbox = await sms.inbox(phone)
        return inbox[0].code if inbox else None

    async with build_worker(dev_env.client, activities, task_queue):
        stack = Stack(
            env=dev_env,
            client=WithdrawalClient(dev_env.client, task_queue),
            engine=engine,
            payout=payout,
            sms=sms,
            read_code=read_code,
        )
        yield stack
        await stack.terminate_leftovers()


@pytest.fixture
def fakes(fake_stack: Stack) -> tuple[FakePayoutProvider, FakeSmsProvider]:
    assert isinstance(fake_stack.payout, FakePayoutProvider)
    assert isinstance(fake_stack.sms, FakeSmsProvider)
    return fake_stack.payout, fake_stack.sms
