"""The Temporal Schedule that anchors the audit chains every few minutes.

The worker makes sure it exists when it starts (``worker.main``), so every deployment
anchors without an extra step; ``AUDIT_ANCHOR_SECONDS`` sets the interval (0: no
schedule, e.g. when another deployment on the same database already anchors).
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from models.limits import AUDIT_ANCHOR_INTERVAL_SECONDS
from workflows.audit_anchor import AuditAnchorWorkflow

ANCHOR_SCHEDULE_ID = "audit-anchor"


def anchor_interval_seconds() -> int:
    return int(os.environ.get("AUDIT_ANCHOR_SECONDS") or AUDIT_ANCHOR_INTERVAL_SECONDS)


async def ensure_anchor_schedule(
    client: Client,
    task_queue: str,
    every_seconds: int | None = None,
    schedule_id: str = ANCHOR_SCHEDULE_ID,
) -> bool:
    """Create the schedule unless it exists; True when this call created it."""
    seconds = anchor_interval_seconds() if every_seconds is None else every_seconds
    if seconds <= 0:
        return False
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            AuditAnchorWorkflow.run, id=schedule_id, task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))]),
        # One anchor at a time: a slow one is not joined by the next.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        return False
    return True
