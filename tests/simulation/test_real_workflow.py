"""The simulator's seeded scripts against the real workflow (issue 23 item 3): the
time-skipping server, the real activities and SQLite ledger, the in-process fake
providers. Each script's events become real actions (start, codes, signed and forged
decisions, cancels by everyone, lying callbacks, the provider settling, failing or
rewriting its record, every timer by skipping time); afterwards the ledger, the provider
and the history are checked against the same invariants, and the history is replayed
(a crash at any point replays it).

Outside ``make test``'s budget: ``make simulate`` runs it with ``SIMULATE_REAL_SCRIPTS``
(50 by default) and ``SIMULATE_SEED``; without them it is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.withdrawal import WithdrawalActivities
from client.connection import data_converter
from gateways.payout import Transfer, TransferState
from ledger import tables
from models.domain import Status, WithdrawalRequest
from models.messages import ReviewDecisionKind
from models.money import Money
from models.provider_record import ExpectedTransfer, check_record
from simulation.__main__ import run_seed_of
from simulation.script import run_seed
from simulation.world import Deliver, ProviderSet, Step
from standins.fakes import FakePayoutProvider
from tests.workflows.harness import Stack, make_request
from tests.workflows.keys import TEST_KEYS
from tests.workflows.stacks import fake_provider_stack
from workflows.contract import SIGNAL_PAYOUT_UPDATE
from workflows.core import decide
from workflows.core.history import HISTORY_BOUND_BASE, HISTORY_BOUND_PER_INPUT
from workflows.core.state import (
    CallbackArrived,
    CancelArrived,
    CodeChecked,
    DecisionArrived,
    Opened,
    OpenRefused,
    Proof,
    RecordState,
    TimerFired,
)
from workflows.withdrawal import WithdrawalWorkflow

SCRIPTS = int(os.environ.get("SIMULATE_REAL_SCRIPTS", "0"))
SEED = int(os.environ.get("SIMULATE_SEED", "1"))
pytestmark = pytest.mark.skipif(
    SCRIPTS == 0, reason="make simulate runs it (SIMULATE_REAL_SCRIPTS), outside make test"
)
ANSWER_SECONDS = 5.0  # an update that waits for the run's end (cancel) is left running
SAVED = Path(os.environ.get("SIMULATE_SAVED", ".data/simulate"))  # histories that fail
TIMER_SKIPS = {
    decide.CODE_EXPIRY: timedelta(minutes=11),
    decide.REVIEW_SLA: timedelta(hours=49),
    decide.ARRIVAL: timedelta(days=16),
}
REVIEWERS = {"rev-a": "rev-1", "rev-b": "rev-2", "ops-1": "ops-1", "ops-2": "lead-1"}
ACCOUNTS = {"applicant": None, "master": None, "stranger": "acct-member"}
OPEN = {  # (account, order): reviewed (R17, same real name owes) or not, refused (R1)
    "reviewed": ("acct-risk", "R-RISK"),
    "automatic": ("acct-auto", "R-ALIPAY"),
    "refused": ("acct-frozen", "R-FROZEN"),
}


class RealRun:
    """One seeded script played against the real workflow."""

    def __init__(self, stack: Stack, payout: FakePayoutProvider) -> None:
        self.stack, self.payout = stack, payout
        self.withdrawal_id: str | None = None
        self.request: WithdrawalRequest | None = None
        self.account = ""
        self.inputs = 0  # signals and updates sent (the bound's c)
        self.left_running: list[asyncio.Task[Any]] = []

    async def play(self, steps: list[Step]) -> None:
        for step in steps:
            if isinstance(step, ProviderSet):
                self._provider(step)
            elif isinstance(step, Deliver):
                await self._deliver(step)
            await asyncio.sleep(0.02)  # let the worker take what was sent

    async def _deliver(self, step: Deliver) -> None:
        event = step.event
        if isinstance(event, Opened | OpenRefused):
            kind = "refused" if isinstance(event, OpenRefused) else "automatic"
            if isinstance(event, Opened) and event.review_required:
                kind = "reviewed"
            self.account, order = OPEN[kind]
            self.request = make_request(account_id=self.account, amount="100.00", order_id=order)
            await self.stack.client.start(self.request)
            self.stack.started.append(self.request.withdrawal_id)  # terminated if left open
            self.withdrawal_id = self.request.withdrawal_id
            await self.stack.wait_until_doc(  # opened (or refused) before anything else
                self.withdrawal_id, lambda doc: doc.status is not Status.VERIFYING
            )
            return
        if self.withdrawal_id is None or step.answers is not None:
            return  # the run's own activities answer for themselves
        wid = self.withdrawal_id
        if isinstance(event, CodeChecked):
            await self._code(wid, event.right)
        elif isinstance(event, DecisionArrived):
            await self._decision(wid, event)
        elif isinstance(event, CancelArrived):
            by = ACCOUNTS.get(event.by, "acct-ent") or self.account
            self._send(self.stack.client.cancel(wid, by=by))
        elif isinstance(event, CallbackArrived):
            await self._callback(wid, event)
        elif isinstance(event, TimerFired):
            await self.stack.env.sleep(TIMER_SKIPS[event.name])

    async def _code(self, wid: str, right: bool) -> None:
        doc = await self.stack.client.status(wid)
        if doc.status is not Status.AWAITING_CODE:
            return
        code = await self.stack.code_for(self.account) if right else "000000"
        self._send(self.stack.client.submit_code(wid, code))

    async def _decision(self, wid: str, event: DecisionArrived) -> None:
        kind = ReviewDecisionKind.APPROVE if event.approve else ReviewDecisionKind.REJECT
        reviewer = REVIEWERS.get(event.identity, "rev-kin")  # rev-kin: the applicant's name
        if event.proof is Proof.VALID:
            self._send(self.stack.decide(wid, kind, reviewer, "simulated"))
        else:  # forged, stale, misdirected or missing: the raw signal anyone could send
            self._send(self.stack.client.decide(wid, kind, reviewer, "simulated"))

    async def _callback(self, wid: str, event: CallbackArrived) -> None:
        state = TransferState.SUCCEEDED if event.state is RecordState.RETURNED else event.state
        transfer = Transfer(
            idempotency_key=wid if event.for_this_withdrawal else "w-someone-else",
            state=TransferState(state.value),
            amount=Money.yuan("100.00"),
        )
        handle = self.stack.client.temporal.get_workflow_handle(f"withdrawal-{wid}")
        self._send(handle.signal(SIGNAL_PAYOUT_UPDATE, transfer))

    def _provider(self, step: ProviderSet) -> None:
        wid, record = self.withdrawal_id, step.record
        if wid is None or record is None or self.payout.request_for(wid) is None:
            return
        processing = any(
            t.idempotency_key == wid and t.state is TransferState.PROCESSING
            for t in self.payout.transfers()
        )
        if record.problem is not None and processing:  # a lying record, before it settles
            self.payout.rewrite(wid, amount=Money.yuan("100.01"))
        if record.state is RecordState.SUCCEEDED:
            self.payout.settle(wid)
        elif record.state is RecordState.FAILED:
            self.payout.fail(wid, "account closed")
        # ``returned``: the fake has no returns (the return workflow is issue 25's)

    def _send(self, call: Awaitable[Any]) -> None:
        """Signals and updates go out as a person would send them; a refusal is an
        answer, and an update that waits for the run's end is left running."""
        self.inputs += 1

        async def sent() -> None:
            with contextlib.suppress(Exception):
                await call

        self.left_running.append(asyncio.ensure_future(sent()))

    async def settle_in(self) -> None:
        if self.left_running:
            await asyncio.wait(self.left_running, timeout=ANSWER_SECONDS)
        for task in self.left_running:
            task.cancel()


async def check_invariants(
    run: RealRun, stack: Stack, payout: FakePayoutProvider, saved: Path
) -> list[str]:
    """The simulator's invariants, read from the history, the database and the provider.
    A history that does not replay is saved under ``saved`` (the path is in the failure)."""
    wid = run.withdrawal_id
    assert wid is not None
    broken: list[str] = []
    handle = stack.client.temporal.get_workflow_handle(f"withdrawal-{wid}")
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[WithdrawalWorkflow], data_converter=data_converter(TEST_KEYS))
    try:
        await replayer.replay_workflow(history)  # a crash anywhere replays to the same place
    except Exception as error:
        path = saved / f"{wid}.json"
        path.write_text(history.to_json())
        broken.append(f"a crash replays the recorded events to the same state: {error} ({path})")
        return broken
    bound = HISTORY_BOUND_BASE + HISTORY_BOUND_PER_INPUT * run.inputs
    if len(history.events) > bound:
        broken.append(f"history {len(history.events)} events over the bound {bound}")
    doc = await stack.client.status(wid)
    with Session(stack.engine) as session:
        hold = session.get(tables.Hold, wid)
    transfer = next((t for t in payout.transfers() if t.idempotency_key == wid), None)
    assert run.request is not None
    expected = ExpectedTransfer.of(run.request)
    matches = transfer is not None and check_record(transfer, expected).matches
    if hold is None:
        if doc.status is not Status.FAILED:
            broken.append("money in exactly one place: no hold, yet not refused at open")
    else:
        if doc.status.is_final and hold.state == tables.HoldState.HELD:
            broken.append("money in exactly one place: a finished run holds money")
        if hold.state == tables.HoldState.POSTED and not (
            matches and transfer is not None and transfer.state is TransferState.SUCCEEDED
        ):
            broken.append("posted only on a matching succeeded record")
        if hold.state == tables.HoldState.VOIDED and (
            matches and transfer is not None and transfer.state is not TransferState.FAILED
        ):
            broken.append("released only with no matching transfer")
    if payout.moved_count(wid) > 1:
        broken.append("never paid twice")
    if not doc.status.is_final and doc.status not in (
        Status.AWAITING_CODE,
        Status.UNDER_REVIEW,
        Status.APPROVED_AWAITING_PAYOUT,
    ):
        broken.append(f"every run ends or waits on a named thing: {doc.status}")
    held = hold.state if hold is not None else "none"
    print(f"{doc.status.value}, hold {held}, {len(history.events)} events, {run.inputs} inputs")
    return broken


@pytest.mark.parametrize("script", range(SCRIPTS))
async def test_a_seeded_script_keeps_the_invariants_on_the_real_workflow(
    edge_env: WorkflowEnvironment, tmp_path: Path, script: int
) -> None:
    SAVED.mkdir(parents=True, exist_ok=True)
    steps, violation = run_seed(run_seed_of(SEED, script))
    assert violation is None
    async with fake_provider_stack(edge_env, tmp_path, WithdrawalActivities, auto_settle=False) as (
        stack,
        _,
    ):
        assert isinstance(stack.payout, FakePayoutProvider)
        run = RealRun(stack, stack.payout)
        await run.play(steps)
        await run.settle_in()
        if run.withdrawal_id is None:
            return
        broken = await check_invariants(run, stack, stack.payout, SAVED)
        assert broken == [], (SEED, script, steps)
