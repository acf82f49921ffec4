"""Two workers on one task queue: who did what, and that nothing was done twice.

Read from the withdrawals' histories (the identity, ``pid@host``, that started each
workflow and activity task), the payout simulator's money movements per withdrawal and
the ledger's debits per withdrawal.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from ledger.db import dispose_engine, get_engine, read_only_session
from ledger.tables import LedgerEntry

SETTLE_ACTIVITY = "settle"


def _worker(identity: str, pids: list[int]) -> str:
    if not identity:
        return "unrecorded"  # a task the server started without a worker's identity
    pid = identity.partition("@")[0]
    return f"worker-{pids.index(int(pid)) + 1}" if pid.isdigit() and int(pid) in pids else identity


async def split(client: Client, workflow_ids: list[str], pids: list[int]) -> dict[str, Any]:
    workflow_tasks: Counter[str] = Counter()
    activity_tasks: Counter[str] = Counter()
    settled_by: Counter[str] = Counter()
    retried = 0
    for workflow in workflow_ids:
        scheduled: dict[int, str] = {}
        async for event in client.get_workflow_handle(workflow).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                workflow_tasks[
                    _worker(event.workflow_task_started_event_attributes.identity, pids)
                ] += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled[event.event_id] = (
                    event.activity_task_scheduled_event_attributes.activity_type.name
                )
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                started = event.activity_task_started_event_attributes
                worker = _worker(started.identity, pids)
                activity_tasks[worker] += 1
                retried += started.attempt > 1
                if scheduled.get(started.scheduled_event_id) == SETTLE_ACTIVITY:
                    settled_by[worker] += 1
    return {
        "workflow_tasks": dict(workflow_tasks),
        "activity_tasks": dict(activity_tasks),
        "settled_by": dict(settled_by),
        "activity_retries": retried,
    }


def done_twice(
    database_url: str, withdrawal_ids: list[str], movements: dict[str, int]
) -> dict[str, Any]:
    """Withdrawals paid or debited other than once (both lists empty: nothing twice)."""
    engine = get_engine(database_url)
    with read_only_session(engine) as session:
        rows = session.exec(
            select(LedgerEntry.withdrawal_id, func.count())
            .where(col(LedgerEntry.withdrawal_id).in_(withdrawal_ids))
            .group_by(LedgerEntry.withdrawal_id)
        ).all()
    dispose_engine(database_url)
    debits = {str(withdrawal): int(count) for withdrawal, count in rows}
    return {
        "withdrawals": len(withdrawal_ids),
        "paid_other_than_once": [w for w in withdrawal_ids if movements.get(w, 0) != 1],
        "debited_other_than_once": [w for w in withdrawal_ids if debits.get(w, 0) != 1],
    }
