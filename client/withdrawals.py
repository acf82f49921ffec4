"""A typed client for backends: start a withdrawal and drive it.

```python
client = await WithdrawalClient.connect()
withdrawal_id = await client.start(request)
result = await client.submit_code(withdrawal_id, "123456")
doc = await client.status(withdrawal_id)
```

The workflow is addressed by its names (``workflows.contract``: its type, update, query
and signal names), not through its class: importing ``workflows.withdrawal`` would load the
activities and the whole ledger into every command that only talks to Temporal.
tests/workflows/test_client_names.py keeps the names equal to the workflow's own.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from client.connection import connect
from client.polling import poll_until
from config import settings
from models import decision_proof
from models.domain import WORKFLOW_ID_PREFIX, WithdrawalRequest, WithdrawalStatusDoc
from models.messages import (
    CancelRequest,
    CodeResult,
    CodeSubmission,
    PayoutResolutionRequest,
    PayoutResolutionVerdict,
    RecordedDecision,
    ResendResult,
    ReviewDecision,
    ReviewDecisionKind,
)
from workflows.contract import (  # the names the workflow answers to; they never change
    QUERY_DECISIONS,
    QUERY_STATUS,
    SIGNAL_APPROVE,
    SIGNAL_REJECT,
    UPDATE_CANCEL,
    UPDATE_RESEND_CODE,
    UPDATE_RESOLVE_PAYOUT,
    UPDATE_SUBMIT_CODE,
    WORKFLOW_TYPE,
)
from workflows.search_attributes import initial_search_attributes

DECISION_WAIT_SECONDS = 10.0
DECISION_POLL_SECONDS = 0.1


def workflow_id(withdrawal_id: str) -> str:
    """The withdrawal id is the workflow id: no personal data in it."""
    return f"{WORKFLOW_ID_PREFIX}{withdrawal_id}"


class WithdrawalClient:
    def __init__(self, client: Client, task_queue: str | None = None) -> None:
        self.temporal = client
        self.task_queue = task_queue or settings.task_queue()

    @classmethod
    async def connect(cls) -> WithdrawalClient:
        return cls(await connect())

    def _handle(self, withdrawal_id: str) -> WorkflowHandle[Any, WithdrawalStatusDoc]:
        return self.temporal.get_workflow_handle(
            workflow_id(withdrawal_id), result_type=WithdrawalStatusDoc
        )

    async def start(self, request: WithdrawalRequest) -> str:
        """Start, or attach to the withdrawal already running under this id."""
        await self.temporal.start_workflow(
            WORKFLOW_TYPE,
            request,
            id=workflow_id(request.withdrawal_id),
            result_type=WithdrawalStatusDoc,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=initial_search_attributes(request),
            static_summary=(
                f"Withdrawal {request.withdrawal_id}: {request.amount} CNY, "
                f"{request.kind.value}, route {request.route.value}"
            ),
        )
        return request.withdrawal_id

    async def submit_code(
        self, withdrawal_id: str, code: str, *, update_id: str | None = None
    ) -> CodeResult:
        """``update_id``: the same id again (a retry) gets the first answer, not a new check."""
        return await self._handle(withdrawal_id).execute_update(
            UPDATE_SUBMIT_CODE, CodeSubmission(code=code), id=update_id, result_type=CodeResult
        )

    async def resend(self, withdrawal_id: str, *, update_id: str | None = None) -> ResendResult:
        return await self._handle(withdrawal_id).execute_update(
            UPDATE_RESEND_CODE, id=update_id, result_type=ResendResult
        )

    async def status(self, withdrawal_id: str) -> WithdrawalStatusDoc:
        return await self._handle(withdrawal_id).query(
            QUERY_STATUS, result_type=WithdrawalStatusDoc
        )

    async def result(self, withdrawal_id: str) -> WithdrawalStatusDoc:
        return await self._handle(withdrawal_id).result()

    async def cancel(
        self,
        withdrawal_id: str,
        by: str | None = None,
        *,
        reviewer_id: str | None = None,
        proof: str | None = None,
        update_id: str | None = None,
    ) -> WithdrawalStatusDoc:
        """Cancel ``by`` an account as the caller asserts it (R2), or as an authenticated
        reviewer (``application.reviews.cancel_as_reviewer`` makes the proof). ``update_id``
        makes a retry after a lost answer the same update (it gets the first answer)."""
        return await self._handle(withdrawal_id).execute_update(
            UPDATE_CANCEL,
            CancelRequest(by=by, reviewer_id=reviewer_id, proof=proof),
            id=update_id,
            result_type=WithdrawalStatusDoc,
        )

    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        """Send an ops resolution of an unknown payout outcome (the caller authenticated
        the reviewer); the workflow records it and ends the payout when it is final."""
        return await self._handle(request.withdrawal_id).execute_update(
            UPDATE_RESOLVE_PAYOUT, request, result_type=PayoutResolutionVerdict
        )

    async def run_status(self, withdrawal_id: str) -> WorkflowExecutionStatus | None:
        """How the withdrawal's workflow run stands (``describe``): running, or how it
        closed; None when Temporal knows no such run (never started, or past retention)."""
        try:
            described = await self._handle(withdrawal_id).describe()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
        return described.status

    async def decide(
        self,
        withdrawal_id: str,
        kind: ReviewDecisionKind,
        reviewer_id: str,
        comment: str = "",
        *,
        proof: str | None = None,
    ) -> RecordedDecision | None:
        """Send approve/reject and wait until the workflow has weighed it.

        Without ``proof`` (``application.reviews`` issues one) the decision is refused.
        With one, the answer is the decision carrying the proof's nonce, whatever else
        arrives meanwhile."""
        handle = self._handle(withdrawal_id)
        before = len(await self._decisions(handle))
        signal = SIGNAL_APPROVE if kind is ReviewDecisionKind.APPROVE else SIGNAL_REJECT
        await handle.signal(
            signal, ReviewDecision(reviewer_id=reviewer_id, comment=comment, proof=proof)
        )
        nonce = decision_proof.nonce_of(proof)

        async def weighed() -> RecordedDecision | None:
            try:
                recorded = await self._decisions(handle)
            except RPCError:
                recorded = []
            if nonce is not None:
                return next((d for d in recorded if d.nonce == nonce), None)
            return recorded[before] if len(recorded) > before else None

        return await poll_until(
            weighed, timeout=DECISION_WAIT_SECONDS, interval=DECISION_POLL_SECONDS
        )

    @staticmethod
    async def _decisions(handle: WorkflowHandle[Any, Any]) -> list[RecordedDecision]:
        decisions: list[RecordedDecision] = await handle.query(
            QUERY_DECISIONS, result_type=list[RecordedDecision]
        )
        return decisions

    async def approve(
        self, withdrawal_id: str, reviewer_id: str, comment: str = ""
    ) -> RecordedDecision | None:
        return await self.decide(withdrawal_id, ReviewDecisionKind.APPROVE, reviewer_id, comment)

    async def reject(
        self, withdrawal_id: str, reviewer_id: str, reason: str
    ) -> RecordedDecision | None:
        return await self.decide(withdrawal_id, ReviewDecisionKind.REJECT, reviewer_id, reason)
