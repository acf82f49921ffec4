"""Gathering what ``reconcile.compare.compare`` compares: workflows, ledger, provider.

The order matters (see ``gather``): each source is read after the one whose later
changes could otherwise look like a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from client.returns import start_return
from gateways.payout import PayoutProvider, Transfer, TransferState
from ledger import tables
from ledger.db import read_only_session
from ledger.tables import EntryType
from ledger.withdrawals import recorded_request
from models.domain import WORKFLOW_ID_PREFIX
from models.money import Money
from models.provider_record import ExpectedTransfer
from reconcile.compare import HoldView, LedgerView, RecordView, Report, compare

OPEN_WITHDRAWALS_QUERY = 'WorkflowType="WithdrawalWorkflow" AND ExecutionStatus="Running"'
# One listing page of the provider; a bigger book needs a paged provider API.
MAX_PROVIDER_TRANSFERS = 10_000
# The ledger is read whole: beyond this a reconciliation must run per period instead.
MAX_LEDGER_ROWS = 1_000_000


async def open_withdrawal_ids(client: Client) -> set[str]:
    """Withdrawal ids whose workflow is running now."""
    found = set()
    async for execution in client.list_workflows(OPEN_WITHDRAWALS_QUERY):
        if execution.id.startswith(WORKFLOW_ID_PREFIX):
            found.add(execution.id.removeprefix(WORKFLOW_ID_PREFIX))
    return found


def read_ledger(engine: Engine) -> LedgerView:
    """Holds, records and withdrawal debits in one transaction, so they agree."""
    with read_only_session(engine) as session:
        return _ledger_view(session)


def _ledger_view(session: Session) -> LedgerView:
    holds = [
        HoldView(
            withdrawal_id=hold.withdrawal_id,
            amount=Money(hold.amount_fen),
            state=hold.state,
            created_at=hold.created_at,
        )
        for hold in session.exec(select(tables.Hold).limit(MAX_LEDGER_ROWS))
    ]
    records = [
        RecordView(
            withdrawal_id=row.id,
            status=row.status,
            expected=ExpectedTransfer.of(recorded_request(row)),
        )
        for row in session.exec(select(tables.Withdrawal).limit(MAX_LEDGER_ROWS))
    ]
    debits: dict[str, list[Money]] = {}
    entries = session.exec(
        select(tables.LedgerEntry.withdrawal_id, tables.LedgerEntry.amount_fen)
        .where(tables.LedgerEntry.type == EntryType.WITHDRAWAL.value)
        .limit(MAX_LEDGER_ROWS)
    )
    for withdrawal_id, amount_fen in entries:
        if withdrawal_id is not None:
            debits.setdefault(withdrawal_id, []).append(Money(amount_fen))
    returned = select(tables.WithdrawalReturn.withdrawal_id, col(tables.WithdrawalReturn.state))
    returns = dict(session.exec(returned.limit(MAX_LEDGER_ROWS)).all())
    return LedgerView(holds=holds, records=records, debits=debits, returns=returns)


@dataclass(frozen=True)
class Sources:
    transfers: list[Transfer]
    ledger: LedgerView
    open_withdrawals: set[str]
    as_of: datetime
    provider_listing_full: bool  # the listing hit its limit: transfers may be missing


async def gather(client: Client, engine: Engine, provider: PayoutProvider) -> Sources:
    """Workflows first, then the ledger, then the provider.

    A workflow that closes after the listing has already resolved its hold by the time
    the ledger is read, and a hold posted before the ledger read was paid before the
    provider listing: reading in this order never invents a mismatch from a withdrawal
    that simply moved on in between.
    """
    as_of = datetime.now(UTC)
    open_ids = await open_withdrawal_ids(client)
    ledger = read_ledger(engine)
    transfers = await provider.list_transfers(MAX_PROVIDER_TRANSFERS)
    # Returns come weeks after the payout, past a capped listing: asked for by state.
    returned = await provider.list_transfers(MAX_PROVIDER_TRANSFERS, state=TransferState.RETURNED)
    listed = {t.idempotency_key for t in transfers}
    return Sources(
        transfers=transfers + [t for t in returned if t.idempotency_key not in listed],
        ledger=ledger,
        open_withdrawals=open_ids,
        as_of=as_of,
        provider_listing_full=len(transfers) >= MAX_PROVIDER_TRANSFERS,
    )


def report_of(sources: Sources) -> Report:
    report = compare(
        sources.transfers, sources.ledger, sources.open_withdrawals, as_of=sources.as_of
    )
    if sources.provider_listing_full:
        report.notes.append(
            f"the provider listed {MAX_PROVIDER_TRANSFERS} transfers, its limit: "
            "later transfers were not compared"
        )
    return report


async def start_missing_returns(client: Client, task_queue: str, report: Report) -> list[str]:
    """``reconcile --fix``: start the return of every withdrawal the provider returned and
    the ledger has not credited (a lost callback); nothing else. The ids started now."""
    started = []
    for withdrawal_id in report.returns_to_start:
        if await start_return(client, task_queue, withdrawal_id, "reconcile"):
            started.append(withdrawal_id)
    return started
