"""Issue 24, item 2: a status change is written in the transaction of the step that causes
it (``status-written-with-its-step``): the code check writes the status the run takes
next, the deciding approval writes "approved, paying out".

The new paths run on the time-skipping server (their histories saved once); each path
also runs with the patch forced off (``workflow.patched`` answering False for it, as a
run recorded before the patch replays), and the ledger after both must be the same:
status, timeline, webhook events, audit trail (timestamps and ids aside), with fewer
transactions on the new path.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from client.polling import poll_until
from ledger import audit, status_changes
from ledger.events import EVENTS
from ledger.tables import Withdrawal, WithdrawalEvent
from models.domain import DesignatedReason, Kind, Route, Status
from models.messages import (
    CodeAnswer,
    CodeCheck,
    CodeVerdict,
    ReviewDecision,
    ReviewerCheck,
    ReviewerVerdict,
)
from tests.support.withdrawals import SIGNAL_REJECT, workflow_handle
from tests.workflows.harness import Stack, alipay_payee, bank_payee
from tests.workflows.stacks import fake_provider_stack
from workflows.withdrawal import PATCH_CARRIED_STATUS_ACKNOWLEDGED, PATCH_STATUS_WITH_STEP

HELD_CHECK_SECONDS = 25  # below the check's start-to-close timeout of 30 s
SETTLE_SECONDS = 1.0
P = ParamSpec("P")
T = TypeVar("T")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}[\d:.]*(\+\d{2}:\d{2}|Z)?")


class CountingActivities(WithdrawalActivities):
    """The real activities, counting the ledger transactions they run, by ledger function."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transactions: Counter[str] = Counter()

    async def _in_transaction(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        self.transactions[f"{fn.__module__}.{fn.__name__}"] += 1
        return await super()._in_transaction(fn, *args, **kwargs)

    async def _read_only(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        self.transactions[f"{fn.__module__}.{fn.__name__} (read only)"] += 1
        return await super()._read_only(fn, *args, **kwargs)

    @property
    def record_status_runs(self) -> int:
        return self.transactions[f"{status_changes.__name__}.record_status"]


Counted = tuple[Stack, CountingActivities]


@contextmanager
def patch_forced_off(forced: str = PATCH_STATUS_WITH_STEP) -> Iterator[None]:
    """``workflow.patched`` answers False for ``forced`` (this file's patch unless told),
    as when a run recorded before it replays: the run takes the old branch live (the
    sandbox passes ``temporalio`` through, so the workflow sees this module attribute)."""
    real = workflow.patched

    def patched(patch_id: str) -> bool:
        return False if patch_id == forced else real(patch_id)

    workflow.patched = patched  # type: ignore[assignment]
    try:
        yield
    finally:
        workflow.patched = real


class HeldCheckActivities(CountingActivities):
    """The code check waits, once it is asked, until the test lets it go on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checking = asyncio.Event()
        self.go_on = asyncio.Event()

    @activity.defn(name="check_code")
    async def check_code(self, check: CodeCheck) -> bool:
        await self._held()
        return await super().check_code(check)

    @activity.defn(name="check_code_answered")
    async def check_code_answered(self, check: CodeCheck) -> CodeAnswer:
        await self._held()  # the check new runs take (code-check-answered)
        return await super().check_code_answered(check)

    async def _held(self) -> None:
        self.checking.set()
        await asyncio.wait_for(self.go_on.wait(), timeout=HELD_CHECK_SECONDS)


class HeldApprovalActivities(CountingActivities):
    """The review decision that carries the approval waits until the test lets it go on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deciding = asyncio.Event()
        self.go_on = asyncio.Event()

    @activity.defn(name="review_decision")
    async def review_decision(self, check: ReviewerCheck) -> ReviewerVerdict:
        if check.then is not None:
            self.deciding.set()
            await asyncio.wait_for(self.go_on.wait(), timeout=HELD_CHECK_SECONDS)
        return await super().review_decision(check)


H = TypeVar("H", HeldCheckActivities, HeldApprovalActivities)


@asynccontextmanager
async def held_stack(
    env: WorkflowEnvironment, tmp_path: Path, save_as: str, held: type[H]
) -> AsyncIterator[tuple[Stack, H]]:
    async with fake_provider_stack(env, tmp_path, held, save_as=save_as) as stack:
        yield stack


@asynccontextmanager
async def counted_stack(
    env: WorkflowEnvironment, tmp_path: Path, save_as: str | None = None
) -> AsyncIterator[Counted]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    async with fake_provider_stack(env, tmp_path, CountingActivities, save_as=save_as) as counted:
        yield counted


@pytest_asyncio.fixture(loop_scope="session")
async def counted(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Counted]:
    """Like ``fake_stack`` (histories saved under the test's name), counting transactions."""
    name = request.node.name.replace("[", "-").replace("]", "")
    async with counted_stack(time_skipping_env, tmp_path, save_as=name) as stack:
        yield stack


# ---- the scenarios, each run on both paths ------------------------------------------------
Scenario = Callable[[Stack], Awaitable[str]]


async def auto_paid(stack: Stack) -> str:
    wid = await stack.start(amount="120.50")
    await stack.verify(wid, "acct-auto")
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


def _designated(stack: Stack, payee_route: Route = Route.ALIPAY, **fields: Any) -> Any:
    payee = alipay_payee() if payee_route is Route.ALIPAY else bank_payee(**fields)
    return stack.start(
        amount="200.00",
        route=payee_route,
        order_id="R-ICBC-OLD",  # past its 30-day ICBC limit (R8): designated, reviewed
        reason=DesignatedReason.LIMIT_PASSED,
        payee=payee,
    )


async def reviewed_paid(stack: Stack) -> str:
    wid = await _designated(stack)
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    await stack.approve(wid, "rev-1", "proof matches")
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


async def reviewed_cancelled(stack: Stack) -> str:
    wid = await _designated(stack)
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    assert (await stack.client.cancel(wid, by="acct-auto")).status is Status.CANCELLED
    return wid


async def approved_then_failed(stack: Stack) -> str:
    # the provider says: invalid account, after the approval was written
    wid = await _designated(stack, Route.BANK, account_number="6222020200112230000")
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    await stack.approve(wid, "rev-1")
    assert (await stack.client.result(wid)).status is Status.FAILED
    return wid


async def reviewed_rejected(stack: Stack) -> str:
    wid = await _designated(stack)
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    await stack.reject(wid, "rev-2", "proof material does not match the payer")
    assert (await stack.client.result(wid)).status is Status.REJECTED
    return wid


SCENARIOS: dict[str, Scenario] = {
    "auto": auto_paid,
    "review": reviewed_paid,
    "cancelled": reviewed_cancelled,
    "failed": approved_then_failed,
    "rejected": reviewed_rejected,
}
# ``record_status`` runs the patch saves per withdrawal, and so the transactions it saves:
# the approval on the auto path; under review and the approval on a review path that
# reaches the approval; under review alone when the review ends otherwise.
SAVED = {"auto": 1, "review": 2, "cancelled": 1, "failed": 2, "rejected": 1}


# ---- what the ledger holds of one withdrawal, timestamps and ids aside ------------------
def _plain(value: Any, wid: str) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, wid) for k, v in value.items() if k not in ("timestamp", "at")}
    if isinstance(value, list):
        return [_plain(v, wid) for v in value]
    if isinstance(value, str):
        return ISO_TIME.sub("<time>", value).replace(wid, "<id>")
    return value


def ledger_of(stack: Stack, wid: str) -> dict[str, Any]:
    with Session(stack.engine) as session:
        record = session.get(Withdrawal, wid)
        assert record is not None
        timeline = session.execute(
            select(WithdrawalEvent.status, WithdrawalEvent.note)  # type: ignore[call-overload]
            .where(WithdrawalEvent.withdrawal_id == wid)
            .order_by(WithdrawalEvent.id)
        ).all()
        events = session.execute(
            select(EVENTS.c.sequence, EVENTS.c.type, EVENTS.c.body)
            .where(EVENTS.c.withdrawal_id == wid)
            .order_by(EVENTS.c.sequence)
        ).all()
        trail = [
            (e.actor, e.action, e.outcome, _plain(e.detail, wid))
            for e in audit.entries(session, wid)
        ]
        assert audit.verify(session).ok
    return {
        "record": (record.status, record.reason, record.review_overdue, record.payout_unknown),
        "timeline": [(status, _plain(note, wid)) for status, note in timeline],
        "events": [(seq, kind, _plain(json.loads(body), wid)) for seq, kind, body in events],
        "audit": trail,
    }


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_ledger_is_the_same_with_the_status_written_by_its_step(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, scenario: str
) -> None:
    """The same scenario, recorded separately (patch off) and with its step (patch on):
    the same rows, the audit chain verifying, and ``SAVED[scenario]`` fewer transactions,
    each one a ``record_status`` no longer run."""
    run = SCENARIOS[scenario]
    with patch_forced_off():
        async with counted_stack(time_skipping_env, tmp_path / "old") as (old, old_counts):
            old_wid = await run(old)
            before = ledger_of(old, old_wid)
    async with counted_stack(time_skipping_env, tmp_path / "new") as (new, new_counts):
        new_wid = await run(new)
        after = ledger_of(new, new_wid)

    for key in before:
        assert after[key] == before[key], (key, before[key], after[key])
    old_total = sum(old_counts.transactions.values())
    new_total = sum(new_counts.transactions.values())
    print(f"{scenario}: {old_total} transactions recorded separately, {new_total} with the step")
    assert old_total - new_total == SAVED[scenario], (old_counts.transactions, new_counts)
    assert old_counts.record_status_runs - new_counts.record_status_runs == SAVED[scenario]
    assert new_counts.record_status_runs == 0


# ---- the new paths, histories saved once (docs/changing-the-workflow.md, step 3) ----------
async def test_the_code_check_writes_the_approval_of_an_auto_withdrawal(
    counted: Counted,
) -> None:
    stack, activities = counted
    wid = await auto_paid(stack)
    doc = await stack.client.status(wid)
    statuses = [entry.status for entry in doc.timeline]
    assert Status.APPROVED_AWAITING_PAYOUT in statuses
    assert activities.record_status_runs == 0
    ledger = ledger_of(stack, wid)
    assert (Status.APPROVED_AWAITING_PAYOUT, "approved, paying out") in ledger["timeline"]
    assert ledger["record"][0] is Status.SUCCEEDED


async def test_the_code_check_and_the_deciding_approval_write_their_statuses(
    counted: Counted,
) -> None:
    stack, activities = counted
    wid = await reviewed_paid(stack)
    assert activities.record_status_runs == 0
    ledger = ledger_of(stack, wid)
    under_review = [note for status, note in ledger["timeline"] if status is Status.UNDER_REVIEW]
    doc = await stack.client.status(wid)
    noted = [entry.note for entry in doc.timeline if entry.status is Status.UNDER_REVIEW]
    assert under_review[0] == noted[0]  # the review reasons, as await_review notes them
    assert (Status.APPROVED_AWAITING_PAYOUT, "approved, paying out") in ledger["timeline"]
    kinds = [kind for _, kind, _ in ledger["events"]]
    assert kinds.count("withdrawal.under_review") == 1
    assert kinds.count("withdrawal.approved_awaiting_payout") == 1


async def test_a_cancel_under_review_after_the_check_wrote_the_review_status(
    counted: Counted,
) -> None:
    stack, activities = counted
    wid = await reviewed_cancelled(stack)
    assert activities.record_status_runs == 0
    ledger = ledger_of(stack, wid)
    assert ledger["record"][0] is Status.CANCELLED
    assert [status for status, _ in ledger["timeline"]][-2:] == [
        Status.UNDER_REVIEW,
        Status.CANCELLED,
    ]


async def test_four_eyes_only_the_second_approval_writes_the_approval(
    counted: Counted,
) -> None:
    stack, activities = counted
    wid = await stack.start(
        account_id="acct-ent",
        amount="600.00",  # above the test stack's four-eyes threshold of 500.00
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-ent")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    first = await stack.approve(wid, "rev-1", "proof matches")
    again = await stack.approve(wid, "rev-1", "still fine")  # the same eyes: not deciding
    assert first is not None and first.accepted
    assert again is not None and not again.accepted
    assert stack.record(wid).status == Status.UNDER_REVIEW.value  # one approval: no status
    second = await stack.approve(wid, "rev-2", "agreed")
    assert second is not None and second.accepted
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    assert activities.record_status_runs == 0
    timeline = ledger_of(stack, wid)["timeline"]
    assert [status for status, _ in timeline].count(Status.APPROVED_AWAITING_PAYOUT) == 1


def _worker_saw_the_cancel(history: WorkflowHistory) -> bool:
    """The cancel's ``authorize_cancel`` completed and a workflow task after it started:
    the worker has the activation that takes the cancel (``cancel.requested``) while the
    check is held (that task completes only at the held check's next heartbeat)."""
    authorised = False
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
            kind = history.events[scheduled - 1].activity_task_scheduled_event_attributes
            authorised = authorised or kind.activity_type.name == "authorize_cancel"
        elif authorised and event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            return True
    return False


async def test_a_cancel_while_the_check_writes_the_approval_waits_for_its_answer(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A cancel taken while a right code's check (which writes "approved, paying out") is
    in flight: the run waits for the check's answer, so it takes the approval the ledger
    was given, then ends cancelled at the payout's first look (``StatusRoom.carry``).
    Without the wait it would end cancelled in the code phase, leaving the ledger an
    approval the run never took."""
    name = "test_a_cancel_while_the_check_writes_the_approval_waits_for_its_answer"
    async with held_stack(time_skipping_env, tmp_path, name, HeldCheckActivities) as (
        stack,
        activities,
    ):
        wid = await stack.start(amount="120.50")
        await stack.wait_status(wid, Status.AWAITING_CODE)
        code = await stack.code_for("acct-auto")
        submitted = asyncio.create_task(stack.client.submit_code(wid, code))
        await asyncio.wait_for(activities.checking.wait(), timeout=HELD_CHECK_SECONDS)
        cancelled = asyncio.create_task(stack.client.cancel(wid, by="acct-auto"))
        handle = workflow_handle(stack.env.client, wid)
        await poll_until(
            handle.fetch_history,
            _worker_saw_the_cancel,
            timeout=HELD_CHECK_SECONDS,
            interval=0.2,
            on_timeout=lambda _: AssertionError("the cancel never reached the run"),
        )
        await asyncio.sleep(SETTLE_SECONDS)  # the worker runs that activation meanwhile
        activities.go_on.set()
        result = await submitted
        doc = await cancelled

    assert result.verdict is CodeVerdict.VERIFIED
    assert doc.status is Status.CANCELLED
    approval = (Status.APPROVED_AWAITING_PAYOUT, "approved, paying out")
    ledger = ledger_of(stack, wid)["timeline"]
    assert ledger[-2:] == [approval, (Status.CANCELLED, "cancelled by acct-auto")]
    # the approval the check wrote is one the run took, before it ended
    taken = [(entry.status, entry.note) for entry in doc.timeline]
    assert taken[-2:] == ledger[-2:]
    assert activities.record_status_runs == 0


async def test_a_refusal_counted_after_the_deciding_approval_puts_the_ledger_back_in_step(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A run under status-written-with-its-step alone (recorded before
    carried-status-acknowledged, forced off here as its replay answers): a decision
    refused while the deciding approval is weighed is noted after it with a
    ``record_status`` of its own (under review): it is recorded as before, and the step to
    the payout records "approved, paying out" again, so the ledger ends where the run is
    (``StatusRoom.carry``). Such runs keep this sequence; since the later patch the count
    is filed under the approval (tests/workflows/test_status_with_step_review.py)."""
    name = "test_a_refusal_counted_after_the_deciding_approval_puts_the_ledger_back_in_step"
    with patch_forced_off(PATCH_CARRIED_STATUS_ACKNOWLEDGED):
        async with held_stack(time_skipping_env, tmp_path, name, HeldApprovalActivities) as (
            stack,
            activities,
        ):
            wid = await _designated(stack)
            await stack.verify(wid, "acct-auto")
            await stack.wait_status(wid, Status.UNDER_REVIEW)
            approved = asyncio.create_task(stack.approve(wid, "rev-1", "proof matches"))
            await asyncio.wait_for(activities.deciding.wait(), timeout=HELD_CHECK_SECONDS)
            handle = workflow_handle(stack.env.client, wid)
            raw = ReviewDecision(reviewer_id="rev-kin", comment="no", proof=None)
            await handle.signal(SIGNAL_REJECT, raw)  # refused by the handler, counted
            await asyncio.sleep(SETTLE_SECONDS)  # the handler has queued it meanwhile
            activities.go_on.set()
            decision = await approved
            doc = await stack.client.result(wid)

    assert decision is not None and decision.accepted
    assert doc.status is Status.SUCCEEDED
    approval = (Status.APPROVED_AWAITING_PAYOUT, "approved, paying out")
    counted = (
        Status.UNDER_REVIEW,
        "1 more decisions without a valid proof refused (counted only)",
    )
    ledger = ledger_of(stack, wid)
    assert ledger["timeline"][-4:] == [
        approval,
        counted,
        approval,
        (Status.SUCCEEDED, "money sent"),
    ]
    taken = [(entry.status, entry.note) for entry in doc.timeline]
    assert taken.index(counted) < taken.index(approval)
    assert activities.record_status_runs == 2  # the count, then the approval again
