"""Building the stacks the workflow tests drive: the real activities (or a subclass that
breaks some on purpose) on a worker of their own task queue, a ledger loaded with the
test accounts, providers (in-process fakes or the HTTP simulators) and the ``Stack``.

Every fixture that builds one (``fake_stack``, ``sim_stack``, the edge, tracing, metrics
and PostgreSQL stacks) goes through ``serving``, so they start, save histories and clean
up the same way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from client.withdrawals import WithdrawalClient
from gateways.http_payout import HttpPayoutProvider
from gateways.http_sms import HttpSmsProvider
from gateways.payout import PayoutProvider
from gateways.sms import SmsProvider
from ledger.db import get_engine
from models.money import Money
from observability.metrics import WithdrawalMetrics
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from standins.simulators.runner import RunningServer
from tests.workflows.harness import Stack, load_test_accounts
from tests.workflows.keys import review_verify_key
from worker import build_worker

HISTORIES = Path(__file__).parent / "histories"
TEST_CODE_KEY = b"k" * 32
# Low enough that a test account can cross it (four-eyes), above every other path's amount.
FOUR_EYES_TEST_THRESHOLD = Money.yuan("500.00")

A = TypeVar("A", bound=WithdrawalActivities)
CodeReader = Callable[[str], Awaitable[str | None]]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def sqlite_ledger(tmp_path: Path) -> Engine:
    """A SQLite ledger in ``tmp_path`` (``sqlite_url``) with the test accounts loaded."""
    return loaded_ledger(sqlite_url(tmp_path))


def loaded_ledger(url: str) -> Engine:
    engine = get_engine(url)
    load_test_accounts(engine)
    return engine


def fake_code_reader(sms: FakeSmsProvider) -> CodeReader:
    async def read_code(phone: str) -> str | None:
        return sms.last_code(phone)

    return read_code


def inbox_code_reader(sms: HttpSmsProvider) -> CodeReader:
    async def read_code(phone: str) -> str | None:
        inbox = await sms.inbox(phone)
        return inbox[0].code if inbox else None

    return read_code


def workerless_fake_stack(
    env: WorkflowEnvironment, tmp_path: Path
) -> tuple[Stack, FakePayoutProvider, FakeSmsProvider]:
    """A ``Stack`` on the fake providers and a fresh task queue, with no worker: for tests
    that run their own workers (redeploys, rotated keys, held activities)."""
    payout, sms = FakePayoutProvider(auto_settle=True), FakeSmsProvider()
    stack = Stack(
        env=env,
        client=WithdrawalClient(env.client, f"withdrawals-{uuid.uuid4().hex[:8]}"),
        engine=sqlite_ledger(tmp_path),
        payout=payout,
        sms=sms,
        read_code=fake_code_reader(sms),
    )
    return stack, payout, sms


@asynccontextmanager
async def serving(
    env: WorkflowEnvironment,
    activities: WithdrawalActivities,
    engine: Engine,
    payout: PayoutProvider,
    sms: SmsProvider,
    read_code: CodeReader,
    *,
    client: Client | None = None,
    save_as: str | None = None,
) -> AsyncIterator[Stack]:
    """A worker for ``activities`` on a fresh task queue and the ``Stack`` driving it.

    ``client`` replaces ``env.client`` (e.g. one with tracing interceptors). ``save_as``:
    with ``SAVE_HISTORIES`` set, the test's histories are saved under that name once it
    passed (new files only, see ``Stack.save_histories``). Runs left open are terminated.
    """
    client = client or env.client
    task_queue = f"withdrawals-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, activities, task_queue):
        stack = Stack(
            env=env,
            client=WithdrawalClient(client, task_queue),
            engine=engine,
            payout=payout,
            sms=sms,
            read_code=read_code,
        )
        try:
            yield stack
            if save_as is not None and os.environ.get("SAVE_HISTORIES"):
                await stack.save_histories(HISTORIES, save_as)
        finally:
            await stack.terminate_leftovers()


@asynccontextmanager
async def fake_provider_stack(
    env: WorkflowEnvironment,
    tmp_path: Path,
    activities_type: type[A],
    *,
    auto_settle: bool = True,
    metrics: WithdrawalMetrics | None = None,
    save_as: str | None = None,
) -> AsyncIterator[tuple[Stack, A]]:
    """A SQLite ledger, in-process fake providers and ``activities_type`` over them."""
    engine = sqlite_ledger(tmp_path)
    payout = FakePayoutProvider(auto_settle=auto_settle)
    sms = FakeSmsProvider()
    activities = activities_type(
        engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        metrics=metrics,
        review_verify_key=review_verify_key(),
    )
    read_code = fake_code_reader(sms)
    async with serving(env, activities, engine, payout, sms, read_code, save_as=save_as) as stack:
        yield stack, activities


@asynccontextmanager
async def simulator_stack(
    env: WorkflowEnvironment,
    simulators: tuple[RunningServer, RunningServer],
    tmp_path: Path,
    *,
    save_as: str | None = None,
) -> AsyncIterator[Stack]:
    """A SQLite ledger and the HTTP payout and SMS simulators (faults cleared) on ``env``."""
    payout_server, sms_server = simulators
    payout_server.set_faults()  # each test starts without faults
    engine = sqlite_ledger(tmp_path)
    payout = HttpPayoutProvider(payout_server.url)
    sms = HttpSmsProvider(sms_server.url)
    activities = WithdrawalActivities(
        engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        review_verify_key=review_verify_key(),
    )
    read_code = inbox_code_reader(sms)
    async with serving(env, activities, engine, payout, sms, read_code, save_as=save_as) as stack:
        yield stack
