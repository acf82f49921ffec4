"""A short workflow that a Temporal Schedule starts periodically: anchor the audit chains.

Per-withdrawal chains let writers run in parallel; the anchor is what notices a chain
cut short or removed (``ledger.audit``). ``client.schedules`` creates the schedule.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.audit_anchor import AnchorResult, AuditAnchorActivities
    from models.limits import AUDIT_ANCHOR_TIMEOUT_SECONDS

ANCHOR_MAX_ATTEMPTS = 5


@workflow.defn(name="AuditAnchorWorkflow")
class AuditAnchorWorkflow:
    @workflow.run
    async def run(self) -> AnchorResult:
        return await workflow.execute_activity_method(
            AuditAnchorActivities.anchor_audit_chains,
            start_to_close_timeout=timedelta(seconds=AUDIT_ANCHOR_TIMEOUT_SECONDS),
            retry_policy=RetryPolicy(maximum_attempts=ANCHOR_MAX_ATTEMPTS),
        )
