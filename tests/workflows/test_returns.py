"""Returns after success (issue 25), each path on the time-skipping server with the real
ledger and the in-process fake provider: a confirmed return is credited once (balance and
the order's remaining back to the fen, status ``returned``), a lying one changes nothing,
a duplicate starts nothing, a return of another amount is parked."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from application.returns import credit_parked_return
from application.reviews import authenticate
from application.withdrawals import status_document
from callbacks.receiver import CALLBACK_PATH, create_app
from client.polling import poll_until
from client.returns import start_return
from gateways import webhook_signature
from gateways.payout import ReturnReason
from ledger import tables
from ledger.db import get_engine
from ledger.tables import EntryType, HoldState, ReturnState
from models.domain import Status
from models.money import Money
from models.returns import ReturnOutcome, ReturnRecorded, return_workflow_id
from observability.attention import AttentionKind, from_database, returns_parked
from observability.runtime import free_loopback_address, start_telemetry
from reconcile.compare import MismatchKind, Report, compare
from reconcile.sources import read_ledger, start_missing_returns
from standins.fakes import FakePayoutProvider
from tests.observability.scrape import parse, total
from tests.workflows import data
from tests.workflows.harness import Stack, fen, now
from tests.workflows.stacks import fake_provider_stack, sqlite_url
from workflows.search_attributes import WITHDRAWAL_STATUS

ACCOUNT = "acct-auto"
ORDER = "R-ALIPAY"


def _fake(stack: Stack) -> FakePayoutProvider:
    assert isinstance(stack.payout, FakePayoutProvider)
    return stack.payout


async def _succeeded(stack: Stack, amount: str) -> str:
    wid = await stack.start(amount=amount, order_id=ORDER)
    await stack.verify(wid, ACCOUNT)
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    return wid


async def _start(stack: Stack, wid: str, source: str = "callback") -> bool:
    return await start_return(stack.env.client, stack.client.task_queue, wid, source)


def _handle(stack: Stack, wid: str) -> WorkflowHandle[object, ReturnRecorded]:
    return stack.env.client.get_workflow_handle(return_workflow_id(wid), result_type=ReturnRecorded)


async def _credit_refused_once(stack: Stack, wid: str) -> bool:
    """The return's credit activity has failed at least once (``HoldNotPosted``)."""
    described = await _handle(stack, wid).describe()
    return any(
        pending.HasField("last_failure") for pending in described.raw_description.pending_activities
    )


@asynccontextmanager
async def _settling_by_hand(
    env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """A stack whose fake provider settles only when told (its histories saved)."""
    async with fake_provider_stack(
        env, tmp_path, WithdrawalActivities, auto_settle=False, save_as=request.node.name
    ) as (stack, _):
        yield stack


async def _returned_while_running(stack: Stack, amount: str) -> str:
    """A withdrawal whose transfer is paid and returned before its run looked again."""
    fake = _fake(stack)
    wid = await stack.start(amount=amount, order_id=ORDER)
    await stack.verify(wid, ACCOUNT)
    await stack.wait_until(lambda: fake.request_for(wid) is not None)
    fake.settle(wid)
    fake.return_transfer(wid)
    return wid


def _order_withdrawn(stack: Stack) -> int:
    with Session(stack.engine) as session:
        order = session.get(tables.RechargeOrder, ORDER)
        assert order is not None
        return order.withdrawn_fen


def _credits(stack: Stack, wid: str) -> list[int]:
    return [
        entry.amount_fen
        for entry in stack.debits(wid)
        if entry.type == EntryType.WITHDRAWAL_RETURN.value
    ]


async def test_a_confirmed_return_credits_balance_and_order_back_to_the_fen(
    fake_stack: Stack,
) -> None:
    cash, withdrawn = fake_stack.account(ACCOUNT).cash_fen, _order_withdrawn(fake_stack)
    wid = await _succeeded(fake_stack, "88.88")
    _fake(fake_stack).return_transfer(wid, ReturnReason.ACCOUNT_CLOSED)

    assert await _start(fake_stack, wid) is True
    recorded = await _handle(fake_stack, wid).result()

    assert recorded.outcome is ReturnOutcome.CREDITED and recorded.credited == Money.yuan("88.88")
    assert fake_stack.account(ACCOUNT).cash_fen == cash  # back to the fen
    assert _order_withdrawn(fake_stack) == withdrawn  # R5/R14: the order may be applied again
    assert _credits(fake_stack, wid) == [fen("88.88")]
    record = fake_stack.record(wid)
    assert record.status is Status.RETURNED and record.reason and "closed" in record.reason
    assert fake_stack.timeline_statuses(wid)[-2:] == ["succeeded", "returned"]
    described = await _handle(fake_stack, wid).describe()
    assert described.typed_search_attributes.get(WITHDRAWAL_STATUS) == "returned"


async def test_a_lying_return_changes_nothing_and_a_real_one_later_still_counts(
    fake_stack: Stack,
) -> None:
    """Signed, but the provider's own record says succeeded: nothing moves."""
    wid = await _succeeded(fake_stack, "20.00")
    paid_cash = fake_stack.account(ACCOUNT).cash_fen

    assert await _start(fake_stack, wid) is True
    with pytest.raises(WorkflowFailureError):
        await _handle(fake_stack, wid).result()
    assert fake_stack.account(ACCOUNT).cash_fen == paid_cash
    assert fake_stack.record(wid).status is Status.SUCCEEDED
    assert _credits(fake_stack, wid) == []

    _fake(fake_stack).return_transfer(wid)  # the real return, later
    assert await _start(fake_stack, wid, "reconcile") is True  # a failed run may be followed
    assert (await _handle(fake_stack, wid).result()).outcome is ReturnOutcome.CREDITED
    assert fake_stack.account(ACCOUNT).cash_fen == paid_cash + fen("20.00")


async def test_a_duplicate_return_starts_nothing_and_credits_once(fake_stack: Stack) -> None:
    wid = await _succeeded(fake_stack, "30.00")
    _fake(fake_stack).return_transfer(wid)
    assert await _start(fake_stack, wid) is True
    await _handle(fake_stack, wid).result()
    credited_cash = fake_stack.account(ACCOUNT).cash_fen

    assert await _start(fake_stack, wid) is False  # "already started" is done
    assert await _start(fake_stack, wid, "reconcile") is False
    assert fake_stack.account(ACCOUNT).cash_fen == credited_cash
    assert _credits(fake_stack, wid) == [fen("30.00")]


async def test_a_return_of_another_amount_is_parked_not_credited(fake_stack: Stack) -> None:
    wid = await _succeeded(fake_stack, "40.00")
    paid_cash = fake_stack.account(ACCOUNT).cash_fen
    _fake(fake_stack).return_transfer(wid, amount=Money.yuan("39.00"))

    assert await _start(fake_stack, wid) is True
    recorded = await _handle(fake_stack, wid).result()

    assert recorded.outcome is ReturnOutcome.PARKED
    assert fake_stack.account(ACCOUNT).cash_fen == paid_cash  # never credited by guess
    assert fake_stack.record(wid).status is Status.SUCCEEDED
    with Session(fake_stack.engine) as session:
        parked = session.exec(
            select(tables.WithdrawalReturn).where(tables.WithdrawalReturn.withdrawal_id == wid)
        ).one()
        assert parked.state is ReturnState.PARKED and parked.returned_fen == fen("39.00")
    listed = from_database(fake_stack.engine, datetime.now(UTC), [returns_parked])
    assert [(i.kind, i.withdrawal_id) for i in listed] == [(AttentionKind.RETURN_PARKED, wid)]

    # credit-return: two different ops or lead reviewers, signed in, the same amount.
    def credit(reviewer_id: str) -> bool:
        reviewer = authenticate(fake_stack.engine, reviewer_id, data.PASSWORDS[reviewer_id])
        verdict = credit_parked_return(
            fake_stack.engine, reviewer, wid, Money.yuan("39.00"), "bank letter", now()
        )
        assert verdict.accepted, verdict.why
        return verdict.credited

    assert credit("ops-1") is False and credit("ops-1") is False
    assert fake_stack.account(ACCOUNT).cash_fen == paid_cash
    assert credit("lead-1") is True
    assert fake_stack.account(ACCOUNT).cash_fen == paid_cash + fen("39.00")
    assert fake_stack.record(wid).status is Status.RETURNED
    assert from_database(fake_stack.engine, datetime.now(UTC), [returns_parked]) == []


async def test_a_lost_return_callback_is_found_by_reconcile_and_fix_starts_it(
    fake_stack: Stack,
) -> None:
    """No callback reached us: ``reconcile`` reports the return, ``--fix`` starts it (and
    nothing else), and the next reconcile is clean."""
    wid = await _succeeded(fake_stack, "12.34")
    fake = _fake(fake_stack)
    fake.return_transfer(wid)  # and its callback was lost

    def reconciled() -> Report:
        return compare(
            fake.transfers(), read_ledger(fake_stack.engine), set(), as_of=datetime.now(UTC)
        )

    found = reconciled()
    assert [(m.kind, m.withdrawal_id) for m in found.mismatches] == [
        (MismatchKind.RETURN_NOT_CREDITED, wid)
    ]
    started = await start_missing_returns(
        fake_stack.env.client, fake_stack.client.task_queue, found
    )
    assert started == [wid]
    assert (await _handle(fake_stack, wid).result()).outcome is ReturnOutcome.CREDITED
    assert reconciled().clean
    assert (
        await start_missing_returns(fake_stack.env.client, fake_stack.client.task_queue, found)
        == []
    )  # a second --fix starts nothing
    assert _credits(fake_stack, wid) == [fen("12.34")]


async def test_a_parked_return_is_listed_by_reconcile(fake_stack: Stack) -> None:
    wid = await _succeeded(fake_stack, "15.00")
    fake = _fake(fake_stack)
    fake.return_transfer(wid, amount=Money.yuan("14.00"))
    await _start(fake_stack, wid)
    await _handle(fake_stack, wid).result()
    report = compare(
        fake.transfers(), read_ledger(fake_stack.engine), set(), as_of=datetime.now(UTC)
    )
    assert [(m.kind, m.withdrawal_id) for m in report.mismatches] == [
        (MismatchKind.RETURN_PARKED, wid)
    ]
    assert report.returns_to_start == []  # --fix never credits a parked return


async def test_a_withdrawal_still_running_that_sees_returned_posts_then_the_return_follows(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Paid, then returned before the workflow looked: it is paid (the hold posted, never
    voided), and the run starts the return, which credits it (patch
    ``return-follows-a-returned-payout``)."""
    async with _settling_by_hand(time_skipping_env, tmp_path, request) as stack:
        cash = stack.account(ACCOUNT).cash_fen
        wid = await _returned_while_running(stack, "66.60")  # no callback: its look-up finds it

        assert (await stack.client.result(wid)).status is Status.SUCCEEDED
        recorded = await _handle(stack, wid).result()

        assert recorded.outcome is ReturnOutcome.CREDITED
        hold = stack.hold(wid)
        assert hold is not None and hold.state == HoldState.POSTED.value  # never voided
        assert [(e.type, e.direction) for e in stack.debits(wid)] == [
            ("withdrawal", "debit"),
            ("withdrawal_return", "credit"),
        ]
        assert stack.account(ACCOUNT).cash_fen == cash
        assert stack.record(wid).status is Status.RETURNED
        shown = await status_document(stack.engine, stack.client, wid)
        assert shown.status is Status.RETURNED and shown.reason  # status reads the ledger


async def test_returns_are_counted_once_by_outcome_and_reason(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """``withdrawals_returned_total`` by outcome and reason (the alert's numerator): a
    duplicate start counts nothing more."""
    telemetry = start_telemetry(free_loopback_address(), set_default=False)
    assert telemetry.metrics_url is not None
    async with fake_provider_stack(
        time_skipping_env, tmp_path, WithdrawalActivities, metrics=telemetry.metrics
    ) as (stack, _):
        wid = await _succeeded(stack, "9.99")
        _fake(stack).return_transfer(wid, ReturnReason.NAME_MISMATCH)
        await _start(stack, wid)
        await _handle(stack, wid).result()
        assert await _start(stack, wid) is False
    samples = parse(httpx.get(telemetry.metrics_url, timeout=5).text)
    counted = total(
        samples, "withdrawals_returned_total", outcome="credited", reason="name_mismatch"
    )
    assert counted == 1


async def test_a_signed_returned_callback_starts_the_return(
    fake_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver, on a signed ``returned`` callback, starts ``return-<id>``; the same
    callback again (a new webhook-id: a duplicate delivery) starts nothing more."""
    await _returned_callbacks_credit_once(fake_stack, tmp_path, monkeypatch, max_forwarded=20)


async def test_a_returned_callback_past_the_forward_cap_still_starts_the_return(
    fake_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-withdrawal forward cap (issue 22) bounds the signals a withdrawal's history
    takes; a return grows no such history, so a callback held back by the cap still
    starts it (else it would wait for the next ``reconcile --fix``)."""
    await _returned_callbacks_credit_once(fake_stack, tmp_path, monkeypatch, max_forwarded=0)


async def _returned_callbacks_credit_once(
    fake_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_forwarded: int
) -> None:
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", fake_stack.client.task_queue)
    wid = await _succeeded(fake_stack, "7.77")
    fake = _fake(fake_stack)
    fake.return_transfer(wid)
    secret = "whsec_" + base64.b64encode(b"r" * 32).decode()

    async def connect() -> Client:
        return fake_stack.env.client

    app = create_app(
        connect,
        fake.parse_callback,
        secret=secret,
        engine=get_engine(sqlite_url(tmp_path)),
        max_forwarded=max_forwarded,
    )
    body = fake.callback_body(wid)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://receiver"
    ) as http:
        for delivery in ("msg_1", "msg_2"):
            headers = webhook_signature.signed_headers(secret, delivery, int(time.time()), body)
            answer = await http.post(CALLBACK_PATH, content=body, headers=headers)
            assert answer.status_code == 200, answer.text
    assert (await _handle(fake_stack, wid).result()).outcome is ReturnOutcome.CREDITED
    assert _credits(fake_stack, wid) == [fen("7.77")]


async def test_a_returned_callback_before_the_withdrawal_posted_waits_for_the_hold(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Out of order: the return is announced while the withdrawal still holds the money.
    The credit waits (retried) until the withdrawal posts the hold; the withdrawal's own
    start of the return finds it already started; the money comes back once."""
    async with _settling_by_hand(time_skipping_env, tmp_path, request) as stack:
        cash = stack.account(ACCOUNT).cash_fen
        # Time stands still until the return's first credit was refused: skipped ahead, the
        # withdrawal's next look could post the hold first, and nothing would have waited.
        with time_skipping_env.auto_time_skipping_disabled():
            wid = await _returned_while_running(stack, "55.50")
            assert await _start(stack, wid) is True  # the callback, before the run looked
            await poll_until(
                lambda: _credit_refused_once(stack, wid),
                bool,
                timeout=30,
                interval=0.05,
                on_timeout=lambda _: AssertionError("the return's credit was never refused"),
            )

        recorded = await _handle(stack, wid).result()
        assert (await stack.client.result(wid)).status is Status.SUCCEEDED

        assert recorded.outcome is ReturnOutcome.CREDITED
        history = await _handle(stack, wid).fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert attempts[-1] > 1  # credit_return was refused (HoldNotPosted), then retried
        assert _credits(stack, wid) == [fen("55.50")]
        assert stack.account(ACCOUNT).cash_fen == cash
        assert stack.record(wid).status is Status.RETURNED
