"""Driving planned withdrawals through a running stack the way users and reviewers do.

A user starts the withdrawal, reads the code from the SMS inbox and types it in; a
reviewer approves or rejects once the record says ``under_review``. Faults can swallow
any answer, so every step is retried until the ledger shows it took effect, within a
deadline. Progress is read from the ledger, not from workflow queries: a query needs a
live worker, and killing the worker is the point of these runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select
from temporalio.client import RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from application.reviews import AuthenticatedReviewer, authenticate, issue_decision_proof
from client.polling import poll_until
from client.withdrawals import WithdrawalClient
from gateways.http_sms import HttpSmsProvider
from ledger import tables
from ledger.db import get_engine
from models.domain import Status
from models.messages import CodeVerdict, ReviewDecisionKind
from stack import Stack
from tests.faults.plan import REVIEWER_ID, REVIEWER_PASSWORD, Path, Planned

STATUS_POLL_SECONDS = 0.5
STEP_RETRY_SECONDS = 0.5
# One attempt at a Temporal call; a call stuck on a restarting server is tried again.
# Longer than an activity's 30 s timeout: an update waits that long for an activity
# that died with a killed worker.
CALL_TIMEOUT_SECONDS = 45.0
# Everything a stuck call may raise while a worker, the server or the database is down.
TRANSIENT = (
    RPCError,
    RPCTimeoutOrCancelledError,
    RuntimeError,
    TimeoutError,
    OSError,
    DBAPIError,
)


class StatusWatch:
    """The ledger's status of each planned withdrawal, refreshed in the background."""

    def __init__(self, engine: Engine, run: str) -> None:
        self._engine = engine
        self._prefix = f"{run}-"
        self.statuses: dict[str, Status] = {}
        self._task: asyncio.Task[None] | None = None

    def _read(self) -> dict[str, Status]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(tables.Withdrawal.id, tables.Withdrawal.status).where(
                    col(tables.Withdrawal.id).startswith(self._prefix)
                )
            )
            return {withdrawal_id: Status(status) for withdrawal_id, status in rows}

    async def _refresh_forever(self) -> None:
        while True:
            # The database away (an outage run): keep what was read last.
            with contextlib.suppress(DBAPIError):
                self.statuses = await asyncio.to_thread(self._read)
            await asyncio.sleep(STATUS_POLL_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_forever(), name=f"watch {self._prefix}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(
        self, withdrawal_id: str, reached: Callable[[Status], bool], deadline: float, what: str
    ) -> Status:

        async def status() -> Status | None:
            return self.statuses.get(withdrawal_id)

        found = await poll_until(
            status,
            lambda status: status is not None and reached(status),
            timeout=deadline - time.monotonic(),
            interval=STATUS_POLL_SECONDS,
            on_timeout=lambda status: AssertionError(
                f"{withdrawal_id} never reached {what} (is {status})"
            ),
        )
        assert found is not None
        return found

    async def wait_all_final(self, withdrawal_ids: Iterable[str], deadline: float) -> None:
        wanted = list(withdrawal_ids)

        async def open_ones() -> list[str]:
            return [w for w in wanted if not self._final(w)]

        def not_final(open_ones: list[str]) -> AssertionError:
            shown = {w: str(self.statuses.get(w)) for w in open_ones[:10]}
            return AssertionError(f"{len(open_ones)} withdrawals not final: {shown}")

        await poll_until(
            open_ones,
            lambda open_ones: not open_ones,
            timeout=deadline - time.monotonic(),
            interval=STATUS_POLL_SECONDS,
            on_timeout=not_final,
        )

    def _final(self, withdrawal_id: str) -> bool:
        status = self.statuses.get(withdrawal_id)
        return status is not None and status.is_final


@dataclass
class Driver:
    stack: Stack
    watch: StatusWatch
    deadline: float  # time.monotonic() by which every step must have taken effect
    retried_calls: int = 0  # Temporal calls that failed and were tried again
    wrong_codes: int = 0  # a newer code had replaced the one typed in
    _sms: HttpSmsProvider = field(init=False)
    _signed_in: AuthenticatedReviewer | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._sms = HttpSmsProvider(self.stack.urls.sms)

    def _reviewer(self) -> AuthenticatedReviewer:
        if self._signed_in is None:
            engine = get_engine(self.stack.urls.database_url)
            self._signed_in = authenticate(engine, REVIEWER_ID, REVIEWER_PASSWORD)
        return self._signed_in

    def _client(self) -> WithdrawalClient:
        # Read each time: restarting the server gives the stack a new client.
        assert self.stack.client is not None
        return WithdrawalClient(self.stack.client, self.stack.config.task_queue)

    def _check_deadline(self, plan: Planned, step: str) -> None:
        if time.monotonic() > self.deadline:
            status = self.watch.statuses.get(plan.withdrawal_id)
            raise AssertionError(f"{plan.withdrawal_id}: {step} not done in time (is {status})")

    async def _retry_pause(self) -> None:
        self.retried_calls += 1
        await asyncio.sleep(STEP_RETRY_SECONDS)

    def run_spread(
        self, group: asyncio.TaskGroup, plans: list[Planned], offsets: list[float]
    ) -> None:
        """Run each plan in ``group``, starting at its offset (seconds from now)."""
        begun = time.monotonic()

        async def one(plan: Planned, offset: float) -> None:
            await asyncio.sleep(max(0.0, begun + offset - time.monotonic()))
            await self.run(plan)

        for plan, offset in zip(plans, offsets, strict=True):
            group.create_task(one(plan, offset))

    async def run(self, plan: Planned) -> None:
        await self._start(plan)
        await self._verify(plan)
        if plan.reviewed:
            await self._review(plan)

    async def _start(self, plan: Planned) -> None:
        # The client attaches to a running workflow of the same id: starting is idempotent.
        while True:
            self._check_deadline(plan, "start")
            try:
                await asyncio.wait_for(self._client().start(plan.request()), CALL_TIMEOUT_SECONDS)
                return
            except TRANSIENT:
                await self._retry_pause()

    async def _newest_code(self, plan: Planned) -> str | None:
        try:
            inbox = await self._sms.inbox(plan.phone)
        except Exception:  # the SMS simulator answering slowly is not the point here
            return None
        return inbox[0].code if inbox else None

    def _verified(self, plan: Planned) -> bool:
        # The record moves past ``awaiting_code`` only once the code was accepted (R15).
        status = self.watch.statuses.get(plan.withdrawal_id)
        return status is not None and status not in (Status.VERIFYING, Status.AWAITING_CODE)

    async def _verify(self, plan: Planned) -> None:
        """Type the newest code in until the ledger shows the withdrawal moved on."""
        typed_wrong: set[str] = set()
        while not self._verified(plan):
            self._check_deadline(plan, "verification")
            code = await self._newest_code(plan)
            if code is None or code in typed_wrong:
                await asyncio.sleep(STEP_RETRY_SECONDS)
                continue
            try:
                result = await asyncio.wait_for(
                    self._client().submit_code(plan.withdrawal_id, code), CALL_TIMEOUT_SECONDS
                )
            except (WorkflowUpdateFailedError, *TRANSIENT):
                # Refused (the code is not awaited yet, or was already accepted and the
                # answer lost) or unanswered: look at the ledger and the inbox again.
                await self._retry_pause()
                continue
            if result.verdict is CodeVerdict.VERIFIED:
                return
            # A retried send_code texted a newer code after this one: read it again.
            self.wrong_codes += 1
            typed_wrong.add(code)

    async def _review(self, plan: Planned) -> None:
        await self.watch.wait_for(
            plan.withdrawal_id,
            lambda s: s is Status.UNDER_REVIEW or s.is_final,
            self.deadline,
            "under_review",
        )
        approve = plan.path is Path.APPROVED
        kind = ReviewDecisionKind.APPROVE if approve else ReviewDecisionKind.REJECT
        comment = "proof checked" if approve else "proof does not match the payer"
        while True:
            self._check_deadline(plan, "review")
            try:
                # Signed in (which reads the database); each attempt carries a fresh
                # proof (R17).
                proof = issue_decision_proof(
                    self._reviewer(),
                    plan.withdrawal_id,
                    kind,
                    comment,
                    signing_key=self.stack.review_signing_key(),
                )
                # As the console does: ``WithdrawalClient.decide`` signals and waits until
                # the decision is weighed. A signal repeated after a lost answer is
                # harmless: the first decision by an authorised reviewer ends the review.
                await asyncio.wait_for(
                    self._client().decide(
                        plan.withdrawal_id, kind, REVIEWER_ID, comment, proof=proof
                    ),
                    CALL_TIMEOUT_SECONDS,
                )
                return
            except TRANSIENT:
                await self._retry_pause()
