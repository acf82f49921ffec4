"""The end-of-run checks: every withdrawal final, money moved once, books exact.

Each check returns problems as sentences rather than asserting on the first one, so a
failing run says everything that went wrong at once, with the run's figures.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from client.polling import poll_until
from gateways.http_payout import HttpPayoutProvider
from gateways.payout import Transfer, TransferState
from ledger import tables
from ledger.tables import EntryType, HoldState
from models.domain import Status
from reconcile.compare import Report, compare
from reconcile.sources import gather, open_withdrawal_ids
from stack import Stack
from standins.simulators.runner import RunningServer
from tests.faults.plan import CASH, EXPECTED_STATUS, Planned

WORKFLOWS_CLOSE_SECONDS = 60.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Checked:
    statuses: Counter[str]
    duplicates: int
    report: Report
    problems: list[str]


async def wait_workflows_closed(stack: Stack, withdrawal_ids: Collection[str]) -> None:
    """A final record is written by ``settle``; its workflow closes a moment later."""
    assert stack.client is not None
    wanted = set(withdrawal_ids)
    client = stack.client

    async def still_open() -> set[str]:
        return wanted & await open_withdrawal_ids(client)

    await poll_until(
        still_open,
        lambda still: not still,
        timeout=WORKFLOWS_CLOSE_SECONDS,
        interval=POLL_SECONDS,
        on_timeout=lambda still: AssertionError(
            f"{len(still)} workflows still running: {sorted(still)[:10]}"
        ),
    )


def payout_simulator(stack: Stack) -> RunningServer:
    payout = stack.simulators[0]
    assert payout.kind == "payout", "the launcher starts the payout simulator first"
    return payout


def _payout_movements(stack: Stack) -> dict[str, int]:
    moved: dict[str, int] = payout_simulator(stack).stats()["movements"]
    return moved


def _money_problems(
    plan: Planned, status: Status, transfer: Transfer | None, moved: int
) -> list[str]:
    """Paid exactly once if succeeded; never paid otherwise (a bounce moved and returned)."""
    wid = plan.withdrawal_id
    paid = transfer is not None and transfer.state is TransferState.SUCCEEDED
    if status is Status.SUCCEEDED:
        if not paid or moved != 1:
            return [f"{wid}: succeeded but the provider shows {transfer} moved {moved} times"]
        if transfer is not None and transfer.amount != plan.amount:
            return [f"{wid}: paid {transfer.amount}, withdrew {plan.amount}"]
        return []
    if paid or moved > 1:
        return [f"{wid}: {status.value} but the provider paid it (moved {moved} times)"]
    return []


def _ledger_problems(session: Session, plan: Planned, status: Status) -> list[str]:
    """Hold resolved the right way, one debit per posted hold, balances to the fen."""
    wid, succeeded = plan.withdrawal_id, status is Status.SUCCEEDED
    problems = []
    hold = session.get(tables.Hold, wid)
    want = HoldState.POSTED if succeeded else HoldState.VOIDED
    if hold is None or hold.state != want.value or hold.resolved_at is None:
        problems.append(f"{wid}: {status.value}, hold {hold.state if hold else None}")
    debits = session.exec(
        select(tables.LedgerEntry.amount_fen).where(
            tables.LedgerEntry.withdrawal_id == wid,
            tables.LedgerEntry.type == EntryType.WITHDRAWAL.value,
        )
    ).all()
    if list(debits) != ([plan.amount.fen] if succeeded else []):
        problems.append(f"{wid}: {status.value} with withdrawal debits {list(debits)}")
    taken = plan.amount.fen if succeeded else 0
    account = session.get(tables.Account, plan.account_id)
    order = session.get(tables.RechargeOrder, plan.order_id)
    assert account is not None and order is not None
    if (account.cash_fen, account.held_fen) != (CASH.fen - taken, 0):
        problems.append(
            f"{plan.account_id}: cash {account.cash_fen} held {account.held_fen} fen, "
            f"expected {CASH.fen - taken} and 0"
        )
    if (order.withdrawn_fen, order.held_fen) != (taken, 0):
        problems.append(f"{plan.order_id}: withdrawn {order.withdrawn_fen} held {order.held_fen}")
    return problems


def _status_problem(plan: Planned, status: Status, bounces_injected: bool) -> str | None:
    expected = {EXPECTED_STATUS[plan.path]}
    if bounces_injected and Status.SUCCEEDED in expected:
        expected.add(Status.FAILED)  # fail_after_accept turns a payout into a bounce
    if status not in expected:
        return f"{plan.withdrawal_id} ({plan.path.value}): {status.value}, expected {expected}"
    return None


async def check_books(
    stack: Stack, engine: Engine, plans: list[Planned], *, bounces_injected: bool = False
) -> Checked:
    """Everything the issue asks of a finished run, as a list of problems (empty: good)."""
    await wait_workflows_closed(stack, [p.withdrawal_id for p in plans])
    provider = HttpPayoutProvider(stack.urls.payout)
    movements = await asyncio.to_thread(_payout_movements, stack)
    transfers = {t.idempotency_key: t for t in await provider.list_transfers(10_000)}
    problems: list[str] = []
    statuses: Counter[str] = Counter()
    with Session(engine) as session:
        records = {
            r.id: Status(r.status)
            for r in session.exec(
                select(tables.Withdrawal).where(
                    col(tables.Withdrawal.id).in_([p.withdrawal_id for p in plans])
                )
            )
        }
        for plan in plans:
            status = records.get(plan.withdrawal_id)
            if status is None or not status.is_final:
                problems.append(f"{plan.withdrawal_id}: not final ({status})")
                continue
            statuses[status.value] += 1
            wrong_status = _status_problem(plan, status, bounces_injected)
            problems += [wrong_status] if wrong_status else []
            moved = movements.get(plan.withdrawal_id, 0)
            transfer = transfers.get(plan.withdrawal_id)
            problems += _money_problems(plan, status, transfer, moved)
            problems += _ledger_problems(session, plan, status)
    duplicates = sum(1 for n in movements.values() if n > 1)
    assert stack.client is not None
    sources = await gather(stack.client, engine, provider)
    report = compare(
        sources.transfers,
        sources.ledger,
        sources.open_withdrawals,
        as_of=sources.as_of,
        movements=movements,
    )
    problems += [
        f"reconcile: {m.kind.value} {m.withdrawal_id}: {m.detail}" for m in report.mismatches
    ]
    if report.in_flight:
        problems.append(f"reconcile: still settling after the run: {report.in_flight}")
    return Checked(statuses=statuses, duplicates=duplicates, report=report, problems=problems)
