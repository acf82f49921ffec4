"""The client reaches the workflow by name, without importing it (a quick CLI): each name
it uses must be one the workflow answers to, or every command would fail at run time."""

from __future__ import annotations

from temporalio import workflow

from client import withdrawals as client
from workflows.withdrawal import WithdrawalWorkflow


def test_client_names_are_the_workflows_own() -> None:
    definition = workflow._Definition.must_from_class(WithdrawalWorkflow)
    assert definition.name == client.WORKFLOW_TYPE
    assert {
        client.UPDATE_SUBMIT_CODE,
        client.UPDATE_RESEND_CODE,
        client.UPDATE_CANCEL,
        client.UPDATE_RESOLVE_PAYOUT,
    } <= set(definition.updates)
    assert {client.QUERY_STATUS, client.QUERY_DECISIONS} <= set(definition.queries)
    assert {client.SIGNAL_APPROVE, client.SIGNAL_REJECT} <= set(definition.signals)
