"""Driving withdrawals the way a backend and its users would, and timing each one.

A real withdrawal is started with ``client.withdrawals``; its code is read from the SMS
simulator's inbox as soon as it arrives and submitted at once. The review path's reviewer
works as a reviewer does (issue 24): it reads the queue from the ledger, as the console
does (``application.review_queue``), and approves what it finds there; it never queries a
workflow (a query is a task on the worker, load a real reviewer does not add). The
baseline is started with the same options and its (fixed) code read and submitted the
same way; its review twin's reviewer reads the simulator inbox its workflow writes to
when the review starts (``bench.baseline_activities``).

Polling must not become the load: the first look at the inbox comes when codes have lately
been arriving (a running estimate), then every tenth of that estimate (``POLL_SECONDS`` at
least). Past capacity, waits grow and polls thin out instead of piling up.

Latency is start → final status *minus the user's part*: the time between the SMS
reaching the phone (the simulator's delivery time) and the code being submitted, which
here is only the inbox polling delay, and in life the time a person takes to type.

Each withdrawal runs under its deadline (``bench.deadlines``), sized from what its phase
has in flight; a driver names, before each wait, the state it waits for, so a withdrawal
past its deadline ends the run with its id, that state and the worker log to read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from application.review_queue import waiting_for_review
from application.reviews import AuthenticatedReviewer, issue_decision_proof
from bench import accounts
from bench.baseline_activities import review_inbox
from bench.baseline_workflow import BaselineReviewWorkflow, BaselineWorkflow
from bench.deadlines import (
    Describe,
    StuckWithdrawal,
    Watch,
    describe_workflow,
    every,
    wait_seconds,
    within,
)
from bench.progress import note
from client.withdrawals import WithdrawalClient, workflow_id
from gateways.sms_messages import InboxMessage
from ledger.db import get_engine
from models.domain import Status
from models.messages import CodeSubmission, ReviewDecision, ReviewDecisionKind
from workflows.contract import SIGNAL_APPROVE
from workflows.search_attributes import initial_search_attributes

POLL_SECONDS = 0.025
POLL_FRACTION = 0.1  # of the running estimate, between two looks
FIRST_LOOK_FRACTION = 0.8  # of the running estimate: early enough to rarely be late
ESTIMATE_WEIGHT = 0.1  # of each new observation in the running estimate
MAX_IN_FLIGHT = 5_000  # open loop: past this the offered rate is not being served anyway


def baseline_workflow_id(withdrawal_id: str) -> str:
    return f"baseline-{withdrawal_id}"


@dataclass(frozen=True)
class Sample:
    started: float  # time.monotonic()
    finished: float
    user_seconds: float  # SMS delivered → code submitted
    status: str

    @property
    def latency(self) -> float:
        return self.finished - self.started - self.user_seconds

    @property
    def raw_latency(self) -> float:
        return self.finished - self.started


# Withdrawal ``i``, driven to its end; before each wait it tells the watch what it waits for.
Driver = Callable[[int, Watch], Awaitable[Sample]]
T = TypeVar("T")

CODE_SMS = f"{Status.AWAITING_CODE.value} with its code SMS delivered"
CODE_ACCEPTED = "past its code (the submit_code update answered)"
REVIEW_APPROVED = f"{Status.UNDER_REVIEW.value} in the review queue, then approved"
FINAL = "at a final status"


class Waiter:
    """Polls for something that arrives after a delay similar to the last ones'."""

    def __init__(self) -> None:
        self.estimate_seconds = 0.0

    async def until(self, look: Callable[[], Awaitable[T | None]]) -> T:
        began = time.monotonic()
        await asyncio.sleep(self.estimate_seconds * FIRST_LOOK_FRACTION)
        while (found := await look()) is None:
            await asyncio.sleep(max(POLL_SECONDS, self.estimate_seconds * POLL_FRACTION))
        waited = time.monotonic() - began
        self.estimate_seconds += ESTIMATE_WEIGHT * (waited - self.estimate_seconds)
        return found


class Drivers:
    """One coroutine per path; each runs one withdrawal, index ``i``, to its end."""

    def __init__(
        self,
        client: Client,
        sms_url: str,
        http: httpx.AsyncClient,
        signing_key: Ed25519PrivateKey | None = None,
    ) -> None:
        self._client = client
        # The bench plays the reviewer's face: it holds the stack's dev signing key.
        self._signing_key = signing_key
        self._reviewer = AuthenticatedReviewer(
            reviewer_id=accounts.REVIEWERS[0],
            name=accounts.REVIEWERS[0],
            role="reviewer",
            authenticated_at=datetime.now(UTC),
        )
        self._sms_url = sms_url
        self._http = http
        self._codes = Waiter()
        self._reviews = Waiter()

    def baseline(
        self,
        tag: str,
        task_queue: str,
        *,
        review: bool = False,
        worker_logs: tuple[Path, ...] = (),
    ) -> Driver:
        """The baseline, or (``review``) its review twin, approved as soon as it waits."""
        shape = BaselineReviewWorkflow if review else BaselineWorkflow

        async def one(i: int, watch: Watch) -> Sample:
            request = accounts.request(tag, i)
            workflow = baseline_workflow_id(request.withdrawal_id)
            watch.follow(request.withdrawal_id, worker_logs, self.describer(workflow))
            started = time.monotonic()
            handle = await self._client.start_workflow(
                shape.run,
                request,
                id=workflow,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=initial_search_attributes(request),
                static_summary=f"Baseline {request.withdrawal_id}",
            )
            watch.waiting_for(CODE_SMS)
            message = await self._code(request.account_id)
            submitted_at = time.time()
            assert message.code is not None
            watch.waiting_for(CODE_ACCEPTED)
            await handle.execute_update(
                BaselineWorkflow.submit_code, CodeSubmission(code=message.code)
            )
            if review:
                watch.waiting_for(f"{Status.UNDER_REVIEW.value} (its note in the review inbox)")
                await self._inbox(review_inbox(request.account_id), self._reviews)
                # By name: the handle is typed for the auto shape it shares the code with.
                decision = self._decision(request.withdrawal_id)
                await handle.signal("approve", decision)
            watch.waiting_for(FINAL)
            status = await handle.result()
            user_seconds = max(0.0, submitted_at - message.at.timestamp())
            return Sample(started, time.monotonic(), user_seconds, status.value)

        return one

    def real(
        self,
        tag: str,
        tag_number: int,
        task_queue: str,
        *,
        review: bool,
        database_url: str | None = None,
        worker_logs: tuple[Path, ...] = (),
    ) -> Driver:
        client = WithdrawalClient(self._client, task_queue)
        desk = ReviewDesk(database_url, self._approve) if review and database_url else None

        async def one(i: int, watch: Watch) -> Sample:
            request = accounts.request(tag, i)
            workflow = workflow_id(request.withdrawal_id)
            watch.follow(request.withdrawal_id, worker_logs, self.describer(workflow))
            started = time.monotonic()
            await client.start(request)
            watch.waiting_for(CODE_SMS)
            message = await self._code(accounts.phone(tag_number, i))
            submitted_at = time.time()
            assert message.code is not None
            watch.waiting_for(CODE_ACCEPTED)
            await client.submit_code(request.withdrawal_id, message.code)
            if review:
                assert desk is not None, "the review path reads the ledger's queue"
                watch.waiting_for(REVIEW_APPROVED)
                await desk.approved(request.withdrawal_id)
            watch.waiting_for(FINAL)
            document = await client.result(request.withdrawal_id)
            user_seconds = max(0.0, submitted_at - message.at.timestamp())
            return Sample(started, time.monotonic(), user_seconds, document.status.value)

        return one

    def describer(self, workflow: str) -> Describe:
        """How Temporal sees ``workflow`` when its withdrawal is stuck."""
        return lambda: describe_workflow(self._client, workflow)

    async def code_message(self, phone: str) -> InboxMessage:
        """The newest text to ``phone`` that carries a code, as soon as it arrives."""
        return await self._code(phone)

    async def _code(self, phone: str) -> InboxMessage:
        return await self._inbox(phone, self._codes, code=True)

    async def _inbox(self, phone: str, waiter: Waiter, *, code: bool = False) -> InboxMessage:
        """The newest message to ``phone`` (``code``: one that carries a code) once it came."""

        async def look() -> InboxMessage | None:
            try:
                response = await self._http.get(
                    f"{self._sms_url}/messages", params={"phone": phone}
                )
            except httpx.TransportError:
                # The simulator closed a kept-alive connection as the driver reused it
                # (seen once in 300): the user's phone, not the withdrawal, missed a look.
                return None
            response.raise_for_status()
            inbox = response.json()
            if not inbox or (code and not inbox[0]["code"]):
                return None
            return InboxMessage.model_validate(inbox[0])

        return await waiter.until(look)

    def _decision(self, withdrawal_id: str) -> ReviewDecision:
        proof = issue_decision_proof(
            self._reviewer,
            withdrawal_id,
            ReviewDecisionKind.APPROVE,
            "bench",
            signing_key=self._signing_key,
        )
        return ReviewDecision(reviewer_id=accounts.REVIEWERS[0], comment="bench", proof=proof)

    async def _approve(self, withdrawal_id: str) -> None:
        handle = self._client.get_workflow_handle(workflow_id(withdrawal_id))
        await handle.signal(SIGNAL_APPROVE, self._decision(withdrawal_id))


class ReviewDesk:
    """The bench's reviewer on the real review path: one look at the ledger's queue (as the
    console's) for every withdrawal waiting on it, each found one approved at once."""

    def __init__(self, database_url: str, approve: Callable[[str], Awaitable[None]]) -> None:
        self._engine = get_engine(database_url)
        self._approve = approve
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def approved(self, withdrawal_id: str) -> None:
        """Once the withdrawal was in the queue and its approval signalled."""
        found: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[withdrawal_id] = found
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_queue())
        await found

    async def _read_queue(self) -> None:
        while self._waiting:
            queue = await asyncio.to_thread(waiting_for_review, self._engine, datetime.now(UTC))
            ready = [item.id for item in queue if item.id in self._waiting]
            outcomes = await asyncio.gather(
                *(self._approve(withdrawal_id) for withdrawal_id in ready),
                return_exceptions=True,
            )
            for withdrawal_id, outcome in zip(ready, outcomes, strict=True):
                found = self._waiting.pop(withdrawal_id)
                if found.done():  # its waiter was cancelled: its run ended
                    continue
                if isinstance(outcome, BaseException):
                    found.set_exception(outcome)
                else:
                    found.set_result(None)
            await asyncio.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class LoadResult:
    samples: list[Sample]
    failures: list[str]
    seconds: float  # first start → last final status


async def _guarded(driver: Driver, i: int, seconds: float) -> Sample | str:
    """Withdrawal ``i`` by its deadline; a failure is counted and reported, not fatal to
    the run; a withdrawal stuck past its deadline is (``bench.deadlines``)."""
    try:
        return await within(Watch(seconds), lambda watch: driver(i, watch))
    except StuckWithdrawal:
        raise
    except Exception as error:
        failure = f"{i}: {type(error).__name__}: {error}"
        note(f"withdrawal failed: {failure}")
        return failure


def _result(outcomes: list[Sample | str], began: float) -> LoadResult:
    samples = [o for o in outcomes if isinstance(o, Sample)]
    failures = [o for o in outcomes if isinstance(o, str)]
    end = max((s.finished for s in samples), default=time.monotonic())
    return LoadResult(samples, failures, end - began)


async def burst(driver: Driver, count: int, concurrency: int, *, beside: int = 0) -> LoadResult:
    """``count`` withdrawals, ``concurrency`` at a time: throughput, queueing included.
    ``beside``: withdrawals of another phase running meanwhile (their share of the worker
    lengthens each deadline)."""
    seconds = wait_seconds(min(count, concurrency) + beside)
    gate = asyncio.Semaphore(concurrency)

    async def gated(i: int) -> Sample | str:
        async with gate:
            return await _guarded(driver, i, seconds)

    began = time.monotonic()
    outcomes = await every(gated(i) for i in range(count))
    return _result(outcomes, began)


async def open_loop(driver: Driver, rate: float, seconds: float) -> LoadResult:
    """Start a withdrawal every 1/``rate`` s for ``seconds``, whether or not earlier ones
    finished: latency as a user sees it at that offered load, without queueing in the driver."""
    count = max(1, round(rate * seconds))
    deadline = wait_seconds(min(count, MAX_IN_FLIGHT))
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    began = time.monotonic()

    async def at_its_time(i: int) -> Sample | str:
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        async with gate:
            return await _guarded(driver, i, deadline)

    outcomes = await every(at_its_time(i) for i in range(count))
    return _result(outcomes, began)
