"""Drive each ``DemoPath`` through the running stack, as a backend and a reviewer would.

Paths run concurrently (the payouts settle in parallel), with one exception: a phone
has at most one verification code in flight, because the SMS inbox cannot say which
withdrawal a code belongs to. Between starting a withdrawal and reading its code, the
path holds its phone's lock, so the newest message after the start is its own (R15).
Every step prints one progress line; a path that breaks ends with an error in its
outcome instead of stopping the others.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from temporalio.service import RPCError

from application.reviews import AuthenticatedReviewer, send_decision
from client.polling import poll_until
from client.withdrawals import WithdrawalClient, workflow_id
from demo.paths import REJECTION_REASON, DemoPath, Review
from gateways.sms_messages import InboxMessage
from models.domain import Kind, Route, Status, WithdrawalStatusDoc
from models.messages import CodeVerdict, ReviewDecisionKind
from models.money import Money
from models.returns import RETURN_REASON_TEXT, ReturnOutcome, ReturnRecorded, return_workflow_id

# One wait for the stack to move (a status, an SMS). Generous: two cores, several workers.
STEP_TIMEOUT_SECONDS = 60.0
# A whole path, payout included: under `make run` a payout settles within 10 s.
PATH_TIMEOUT_SECONDS = 180.0
POLL_SECONDS = 0.2
INBOX_PEEK = 5  # newest messages read per poll; only one new one is expected

T = TypeVar("T")


class DemoStepFailed(Exception):
    """A step did not go the way the path needs (wrong code verdict, decision ignored)."""


class Inbox(Protocol):
    async def inbox(self, phone: str, limit: int = 50) -> list[InboxMessage]: ...


@dataclass(frozen=True)
class Outcome:
    """One row of the demo's table; ``ok`` when the path ended as expected."""

    path: str
    title: str
    withdrawal_id: str
    amount: Money
    kind: Kind
    route: Route
    expected_status: Status
    status: Status | None
    status_zh: str | None
    reason: str | None
    ok: bool
    workflow_url: str
    error: str | None = None


def new_run_id(now: datetime | None = None) -> str:
    """Fresh ids each run: a timestamp for people, a random tail against collisions."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def demo_withdrawal_id(run_id: str, path: DemoPath) -> str:
    return f"demo-{run_id}-{path.name}"


class DemoRunner:
    def __init__(
        self,
        client: WithdrawalClient,
        sms: Inbox,
        phones: Mapping[str, str],
        reviewer: AuthenticatedReviewer,
        ui_url: str,
        say: Callable[[str], None],
        run_id: str | None = None,
    ) -> None:
        self.client = client
        self.sms = sms
        self.phones = phones
        self.reviewer = reviewer  # signed in: each decision carries a fresh proof
        self.reviewer_id = reviewer.reviewer_id
        self.ui_url = ui_url.rstrip("/")
        self.say = say
        self.run_id = run_id or new_run_id()
        self._phone_locks: dict[str, asyncio.Lock] = {}

    def workflow_url(self, withdrawal_id: str) -> str:
        namespace = self.client.temporal.namespace
        return f"{self.ui_url}/namespaces/{namespace}/workflows/{workflow_id(withdrawal_id)}"

    async def run(self, paths: Sequence[DemoPath], proofs: list[str]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._run_path(p, proofs) for p in paths)))

    async def _run_path(self, path: DemoPath, proofs: list[str]) -> Outcome:
        withdrawal_id = demo_withdrawal_id(self.run_id, path)
        try:
            doc = await asyncio.wait_for(
                self._drive(path, withdrawal_id, proofs), PATH_TIMEOUT_SECONDS
            )
        except Exception as error:
            # Whatever broke this path (a refused update, a lost server), the other
            # paths' outcomes are still worth showing: report it in this row.
            problem = str(error) or f"{type(error).__name__} within {PATH_TIMEOUT_SECONDS:g} s"
            self._progress(path, f"did not finish: {problem}")
            return self._outcome(path, withdrawal_id, None, problem)
        return self._outcome(path, withdrawal_id, doc, None)

    def _outcome(
        self, path: DemoPath, withdrawal_id: str, doc: WithdrawalStatusDoc | None, error: str | None
    ) -> Outcome:
        status = doc.status if doc else None
        reason = doc.reason if doc else None
        ok = status is path.expected and (
            path.expected_reason is None or reason == path.expected_reason
        )
        return Outcome(
            path=path.name,
            title=path.title,
            withdrawal_id=withdrawal_id,
            amount=path.amount,
            kind=path.kind,
            route=path.route,
            expected_status=path.expected,
            status=status,
            status_zh=status.label_zh if status else None,
            reason=reason,
            ok=ok,
            workflow_url=self.workflow_url(withdrawal_id),
            error=error,
        )

    def _progress(self, path: DemoPath, text: str) -> None:
        self.say(f"[{path.name}] {text}")

    # ---- one path ---------------------------------------------------------------------
    async def _drive(
        self, path: DemoPath, withdrawal_id: str, proofs: list[str]
    ) -> WithdrawalStatusDoc:
        phone = self.phones[path.account_id]
        async with self._phone_locks.setdefault(phone, asyncio.Lock()):
            before = await self._newest_message(phone)
            await self.client.start(path.request(withdrawal_id, proofs))
            self._progress(path, f"started {withdrawal_id}: {_describe(path)}")
            doc = await self._wait(withdrawal_id, lambda d: d.status is not Status.VERIFYING)
            if doc.status.is_final:  # refused before the code: nothing was frozen
                return await self._finished(path, withdrawal_id)
            if not path.cancel:
                await self._enter_code(path, withdrawal_id, phone, before)
        if path.cancel:
            await self.client.cancel(withdrawal_id, by=path.account_id)
            self._progress(path, f"cancelled by {path.account_id} while the code was awaited")
        elif path.review is not Review.NONE:
            await self._review(path, withdrawal_id)
        return await self._finished(path, withdrawal_id)

    async def _enter_code(
        self, path: DemoPath, withdrawal_id: str, phone: str, before: InboxMessage | None
    ) -> None:
        code = await self._poll(lambda: self._new_code(phone, before), "the SMS code")
        self._progress(path, "code read from the SMS simulator inbox")
        result = await self.client.submit_code(withdrawal_id, code)
        if result.verdict is not CodeVerdict.VERIFIED:
            raise DemoStepFailed(f"code not accepted: {result.verdict.value}")
        self._progress(path, "code verified (R15)")

    async def _review(self, path: DemoPath, withdrawal_id: str) -> None:
        doc = await self._wait(
            withdrawal_id, lambda d: d.status is Status.UNDER_REVIEW or d.status.is_final
        )
        if doc.status.is_final:
            return
        self._progress(path, f"under review ({doc.status.label_zh})")
        if path.review is Review.APPROVE:
            kind, comment = ReviewDecisionKind.APPROVE, "demo"
        else:
            kind, comment = ReviewDecisionKind.REJECT, REJECTION_REASON
        decision = await send_decision(self.client, self.reviewer, withdrawal_id, kind, comment)
        if decision is None or not decision.accepted:
            why = decision.why if decision else "no answer"
            raise DemoStepFailed(f"{path.review.value} by {self.reviewer_id} not taken: {why}")
        self._progress(path, f"{path.review.past} by reviewer {self.reviewer_id}")

    async def _finished(self, path: DemoPath, withdrawal_id: str) -> WithdrawalStatusDoc:
        doc = await asyncio.wait_for(self.client.result(withdrawal_id), PATH_TIMEOUT_SECONDS)
        if path.expected is Status.RETURNED and doc.status is Status.SUCCEEDED:
            doc = await self._returned(path, withdrawal_id, doc)
        because = f": {doc.reason}" if doc.reason else ""
        self._progress(path, f"ended {doc.status.value} ({doc.status.label_zh}){because}")
        return doc

    async def _returned(
        self, path: DemoPath, withdrawal_id: str, paid: WithdrawalStatusDoc
    ) -> WithdrawalStatusDoc:
        """Paid; the provider returns it later and its callback starts the return workflow,
        whose result is the return credited (issue 25)."""
        self._progress(path, "paid; waiting for the bank to return it")
        handle = self.client.temporal.get_workflow_handle(
            return_workflow_id(withdrawal_id), result_type=ReturnRecorded
        )

        async def started() -> bool | None:
            try:
                await handle.describe()
            except RPCError:
                return None  # the return has not been announced yet
            return True

        await self._poll(started, f"the return of {withdrawal_id}")
        recorded = await asyncio.wait_for(handle.result(), STEP_TIMEOUT_SECONDS)
        self._progress(path, f"return {recorded.outcome.value}: {recorded.credited} back")
        if recorded.outcome is not ReturnOutcome.CREDITED:
            return paid
        return paid.model_copy(
            update={
                "status": Status.RETURNED,
                "status_zh": Status.RETURNED.label_zh,
                "reason": RETURN_REASON_TEXT[recorded.reason],
            }
        )

    # ---- waiting ----------------------------------------------------------------------
    async def _wait(
        self, withdrawal_id: str, done: Callable[[WithdrawalStatusDoc], bool]
    ) -> WithdrawalStatusDoc:
        async def check() -> WithdrawalStatusDoc | None:
            try:
                doc = await self.client.status(withdrawal_id)
            except RPCError:
                return None  # the first workflow task may not have run yet
            return doc if done(doc) else None

        return await self._poll(check, f"{withdrawal_id} to move on")

    async def _newest_message(self, phone: str) -> InboxMessage | None:
        messages = await self.sms.inbox(phone, limit=1)
        return messages[0] if messages else None

    async def _new_code(self, phone: str, before: InboxMessage | None) -> str | None:
        messages = await self.sms.inbox(phone, limit=INBOX_PEEK)
        newer = messages[: messages.index(before)] if before in messages else messages
        return next((m.code for m in newer if m.code), None)

    async def _poll(self, check: Callable[[], Awaitable[T | None]], what: str) -> T:
        found = await poll_until(
            check,
            timeout=STEP_TIMEOUT_SECONDS,
            interval=POLL_SECONDS,
            on_timeout=lambda _: DemoStepFailed(f"waited {STEP_TIMEOUT_SECONDS:g} s for {what}"),
        )
        assert found is not None
        return found


def _describe(path: DemoPath) -> str:
    """Amount, route and the masked payee: never a full account number."""
    parts = [f"{path.amount} CNY", path.kind.value, f"route {path.route.value}"]
    if path.order_id:
        parts.append(f"order {path.order_id}")
    if path.payee is not None:
        at = f" at {path.payee.branch_name}" if path.payee.branch_name else ""
        parts.append(f"to {path.payee.masked}{at}")
    return ", ".join(parts)
