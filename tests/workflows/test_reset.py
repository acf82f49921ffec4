"""An operator's reset (docs/changing-the-workflow.md): a run whose workflow task fails on
every replay is moved on with ``temporal workflow reset``. The reset run replays the
history up to the chosen workflow task with today's code and goes on from there; every
activity is keyed by the withdrawal id, so a step already done answers as it did. Here on
the dev server (the time-skipping server has no reset), with the real ledger and the
in-process fake providers: reset while the run waits for its code, and reset a paid run
to before its payout. Either way the money moves once (R19: frozen money ends in one
place).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from models.domain import Status, WithdrawalStatusDoc
from standins.fakes import FakePayoutProvider
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack
from tests.workflows.stacks import fake_provider_stack
from tests.workflows.test_paths_time_skipping import assert_paid

TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
ACTIVITY_SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED


async def _reset(stack: Stack, withdrawal_id: str, task_completed_event_id: int) -> str:
    """What ``temporal workflow reset --event-id`` asks: the new run's id."""
    client = stack.env.client
    handle = workflow_handle(client, withdrawal_id)
    run_id = (await handle.describe()).run_id
    answer = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id, run_id=run_id),
            reason="rehearsal of the reset in docs/changing-the-workflow.md",
            workflow_task_finish_event_id=task_completed_event_id,
            request_id=str(uuid.uuid4()),
        )
    )
    assert answer.run_id and answer.run_id != run_id
    return answer.run_id


def _last_task_completed(history: WorkflowHistory) -> int:
    """``--type LastWorkflowTask``: the last completed workflow task."""
    return max(e.event_id for e in history.events if e.event_type == TASK_COMPLETED)


def _task_before_submit(history: WorkflowHistory) -> int:
    """The completed workflow task that scheduled the payout's submit."""
    submit = next(
        e.event_id
        for e in history.events
        if e.event_type == ACTIVITY_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name.startswith("submit")
    )
    return max(
        e.event_id for e in history.events if e.event_type == TASK_COMPLETED and e.event_id < submit
    )


def _payout(stack: Stack) -> FakePayoutProvider:
    assert isinstance(stack.payout, FakePayoutProvider)
    return stack.payout


async def test_a_run_reset_while_it_waits_for_its_code_goes_on_and_pays_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with fake_provider_stack(dev_env, tmp_path, WithdrawalActivities) as (stack, _):
        wid = await stack.start(amount="30.00")
        await stack.wait_status(wid, Status.AWAITING_CODE)
        history = await workflow_handle(stack.env.client, wid).fetch_history()
        await _reset(stack, wid, _last_task_completed(history))
        await stack.verify(wid, "acct-auto")  # to the reset run: the workflow id's latest
        doc = await stack.client.result(wid)

        assert doc.status is Status.SUCCEEDED
        assert _payout(stack).moved_count(wid) == 1
        assert_paid(stack, wid, "acct-auto", "970.00")


async def test_a_paid_run_reset_to_before_its_payout_pays_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with fake_provider_stack(dev_env, tmp_path, WithdrawalActivities) as (stack, _):
        wid = await stack.start(amount="40.00")
        await stack.verify(wid, "acct-auto")
        assert (await stack.client.result(wid)).status is Status.SUCCEEDED
        history = await workflow_handle(stack.env.client, wid).fetch_history()
        before_submit = _task_before_submit(history)
        new_run = await _reset(stack, wid, before_submit)
        handle = workflow_handle(stack.env.client, wid)
        reset_run = stack.env.client.get_workflow_handle(
            handle.id, run_id=new_run, result_type=WithdrawalStatusDoc
        )
        doc = await reset_run.result()
        again = await reset_run.fetch_history()

        assert _task_before_submit(again) > before_submit  # the reset run submitted anew

        assert doc.status is Status.SUCCEEDED
        assert _payout(stack).moved_count(wid) == 1  # the submit answered as it did
        assert_paid(stack, wid, "acct-auto", "960.00")  # one debit, the hold posted once
