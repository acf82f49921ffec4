"""Driving withdrawals the way a backend and its users would, and timing each one.

A real withdrawal is started with ``client.withdrawals``; its code is read from the SMS
simulator's inbox as soon as it arrives and submitted at once; the review path's approval
is signalled as soon as a status query says ``under_review``. The baseline is started with
the same options and its (fixed) code read and submitted the same way.

Polling must not become the load: the first look at the inbox comes when codes have lately
been arriving (a running estimate), then every tenth of that estimate (``POLL_SECONDS`` at
least). Past capacity, waits grow and polls thin out instead of piling up.

Latency is start → final status *minus the user's part*: the time between the SMS
reaching the phone (the simulator's delivery time) and the code being submitted, which
here is only the inbox polling delay, and in life the time a person takes to type.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from application.reviews import AuthenticatedReviewer, issue_decision_proof
from bench import accounts
from bench.baseline_workflow import BaselineWorkflow
from client.withdrawals import WithdrawalClient, workflow_id
from gateways.sms_messages import InboxMessage
from models.domain import Status
from models.messages import CodeSubmission, ReviewDecision, ReviewDecisionKind
from workflows.contract import SIGNAL_APPROVE
from workflows.search_attributes import initial_search_attributes

WITHDRAWAL_DEADLINE_SECONDS = 120.0  # one withdrawal slower than this counts as failed
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


Driver = Callable[[int], Awaitable[Sample]]
T = TypeVar("T")


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

    def baseline(self, tag: str, task_queue: str) -> Driver:
        async def one(i: int) -> Sample:
            request = accounts.request(tag, i)
            started = time.monotonic()
            handle = await self._client.start_workflow(
                BaselineWorkflow.run,
                request,
                id=baseline_workflow_id(request.withdrawal_id),
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=initial_search_attributes(request),
                static_summary=f"Baseline {request.withdrawal_id}",
            )
            message = await self._code(request.account_id)
            submitted_at = time.time()
            assert message.code is not None
            await handle.execute_update(
                BaselineWorkflow.submit_code, CodeSubmission(code=message.code)
            )
            status = await handle.result()
            user_seconds = max(0.0, submitted_at - message.at.timestamp())
            return Sample(started, time.monotonic(), user_seconds, status.value)

        return one

    def real(self, tag: str, tag_number: int, task_queue: str, *, review: bool) -> Driver:
        client = WithdrawalClient(self._client, task_queue)

        async def one(i: int) -> Sample:
            request = accounts.request(tag, i)
            started = time.monotonic()
            await client.start(request)
            message = await self._code(accounts.phone(tag_number, i))
            submitted_at = time.time()
            assert message.code is not None
            await client.submit_code(request.withdrawal_id, message.code)
            if review:
                await self._approve(client, request.withdrawal_id)
            document = await client.result(request.withdrawal_id)
            user_seconds = max(0.0, submitted_at - message.at.timestamp())
            return Sample(started, time.monotonic(), user_seconds, document.status.value)

        return one

    async def code_message(self, phone: str) -> InboxMessage:
        """The newest text to ``phone`` that carries a code, as soon as it arrives."""
        return await self._code(phone)

    async def _code(self, phone: str) -> InboxMessage:
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
            return InboxMessage.model_validate(inbox[0]) if inbox and inbox[0]["code"] else None

        return await self._codes.until(look)

    async def _approve(self, client: WithdrawalClient, withdrawal_id: str) -> None:
        async def look() -> bool | None:
            status = (await client.status(withdrawal_id)).status
            return True if status is Status.UNDER_REVIEW else None

        await self._reviews.until(look)
        handle = self._client.get_workflow_handle(workflow_id(withdrawal_id))
        proof = issue_decision_proof(
            self._reviewer,
            withdrawal_id,
            ReviewDecisionKind.APPROVE,
            "bench",
            signing_key=self._signing_key,
        )
        await handle.signal(
            SIGNAL_APPROVE,
            ReviewDecision(reviewer_id=accounts.REVIEWERS[0], comment="bench", proof=proof),
        )


@dataclass(frozen=True)
class LoadResult:
    samples: list[Sample]
    failures: list[str]
    seconds: float  # first start → last final status


async def _guarded(driver: Driver, i: int) -> Sample | str:
    try:
        return await asyncio.wait_for(driver(i), WITHDRAWAL_DEADLINE_SECONDS)
    except Exception as error:  # a failure is counted and reported, not fatal to the run
        return f"{i}: {type(error).__name__}: {error}"


def _result(outcomes: list[Sample | str], began: float) -> LoadResult:
    samples = [o for o in outcomes if isinstance(o, Sample)]
    failures = [o for o in outcomes if isinstance(o, str)]
    end = max((s.finished for s in samples), default=time.monotonic())
    return LoadResult(samples, failures, end - began)


async def burst(driver: Driver, count: int, concurrency: int) -> LoadResult:
    """``count`` withdrawals, ``concurrency`` at a time: throughput, queueing included."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(i: int) -> Sample | str:
        async with gate:
            return await _guarded(driver, i)

    began = time.monotonic()
    outcomes = await asyncio.gather(*(gated(i) for i in range(count)))
    return _result(list(outcomes), began)


async def open_loop(driver: Driver, rate: float, seconds: float) -> LoadResult:
    """Start a withdrawal every 1/``rate`` s for ``seconds``, whether or not earlier ones
    finished: latency as a user sees it at that offered load, without queueing in the driver."""
    count = max(1, round(rate * seconds))
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    began = time.monotonic()

    async def at_its_time(i: int) -> Sample | str:
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        async with gate:
            return await _guarded(driver, i)

    tasks = [asyncio.create_task(at_its_time(i)) for i in range(count)]
    outcomes = await asyncio.gather(*tasks)
    return _result(list(outcomes), began)
