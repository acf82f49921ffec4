"""One workflow per returned withdrawal (issue 25): confirm the return, credit it once.

Its id is ``return-<withdrawal id>`` and it is started with a reuse policy that refuses a
second run once one has completed (``client/returns.py``), so a duplicate or late notice
of the same return starts nothing; a run that ended because the provider did not confirm
the return (a lying or early callback) fails, and a later, real return may run again.
The ledger's unique return row is the last word either way: a return is credited once.

A closed withdrawal workflow cannot change its result or search attributes, so this one
carries ``WithdrawalStatus=returned`` for the Web UI once the money is back; ``status``
reads the ledger's record.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models.domain import Status
    from models.limits import (
        DATABASE_ACTIVITY_TIMEOUT_SECONDS,
        PROVIDER_CALL_TIMEOUT_SECONDS,
        RETURN_CREDIT_RETRY_FIRST_SECONDS,
        RETURN_CREDIT_RETRY_MAX_INTERVAL_SECONDS,
        RETURN_CREDIT_WAIT_DAYS,
    )
    from models.returns import (
        RETURN_WORKFLOW_TYPE,
        ReturnNotice,
        ReturnOutcome,
        ReturnRecorded,
    )
    from workflows.search_attributes import WITHDRAWAL_STATUS

# A look-up that fails (provider down) is retried for this long before the run gives up;
# reconcile starts it again later.
CONFIRM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=5),
)
CONFIRM_TOTAL = timedelta(hours=24)
CREDIT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=RETURN_CREDIT_RETRY_FIRST_SECONDS),
    maximum_interval=timedelta(seconds=RETURN_CREDIT_RETRY_MAX_INTERVAL_SECONDS),
    non_retryable_error_types=["HoldConflict", "NotFound"],
)


@workflow.defn(name=RETURN_WORKFLOW_TYPE)
class WithdrawalReturnWorkflow:
    @workflow.run
    async def run(self, notice: ReturnNotice) -> ReturnRecorded:
        check = await workflow.execute_activity_method(
            WithdrawalActivities.confirm_return,
            notice,
            start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
            schedule_to_close_timeout=CONFIRM_TOTAL,
            retry_policy=CONFIRM_RETRY,
            summary="the provider's own record of the return",
        )
        if check.transfer is None:
            # Failed, not completed: a real return later may start a run of its own.
            raise ApplicationError(
                f"return not confirmed by the provider: {check.problem}",
                type="ReturnNotConfirmed",
                non_retryable=True,
            )
        recorded = await workflow.execute_activity_method(
            WithdrawalActivities.credit_return,
            check.transfer,
            start_to_close_timeout=timedelta(seconds=DATABASE_ACTIVITY_TIMEOUT_SECONDS),
            schedule_to_close_timeout=timedelta(days=RETURN_CREDIT_WAIT_DAYS),
            retry_policy=CREDIT_RETRY,
            summary="credit the return once (waits for the hold to be posted)",
        )
        if recorded.outcome is ReturnOutcome.CREDITED:
            workflow.upsert_search_attributes([WITHDRAWAL_STATUS.value_set(Status.RETURNED.value)])
        return recorded
