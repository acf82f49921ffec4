"""Starting a return workflow (issue 25), for the callback receiver, ``reconcile --fix``
and the withdrawal workflow's side: one return per withdrawal, started once.

The id is ``return-<withdrawal id>``; ``ALLOW_DUPLICATE_FAILED_ONLY`` refuses a second run
once one completed (credited or parked), and a run still going refuses one too: both
answer "already started", which is taken as done. Only a run that failed (the provider
did not confirm the return) may be followed by another.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.returns import RETURN_WORKFLOW_TYPE, ReturnNotice, ReturnRecorded, return_workflow_id


async def start_return(client: Client, task_queue: str, withdrawal_id: str, source: str) -> bool:
    """Start the return of ``withdrawal_id``; False when one was already started (done)."""
    try:
        await client.start_workflow(
            RETURN_WORKFLOW_TYPE,
            ReturnNotice(withdrawal_id=withdrawal_id, source=source),
            id=return_workflow_id(withdrawal_id),
            task_queue=task_queue,
            result_type=ReturnRecorded,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            static_summary=f"Return of withdrawal {withdrawal_id} ({source})",
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
