"""The withdrawal workflow as tests address it: its run by id, and its raw signals, named
as the product names them (``client.withdrawals``, ``workflows.contract``)."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle

from client.withdrawals import SIGNAL_APPROVE, SIGNAL_REJECT, workflow_id
from models.domain import WithdrawalStatusDoc
from workflows.contract import SIGNAL_PAYOUT_UPDATE

__all__ = [
    "SIGNAL_APPROVE",
    "SIGNAL_PAYOUT_UPDATE",
    "SIGNAL_REJECT",
    "workflow_handle",
    "workflow_id",
]


def workflow_handle(client: Client, withdrawal_id: str) -> WorkflowHandle[Any, WithdrawalStatusDoc]:
    """The run of ``withdrawal_id`` through ``client`` (the test's own, or an outsider's),
    for what ``WithdrawalClient`` deliberately does not offer: raw signals, describe,
    terminate, history."""
    return client.get_workflow_handle(workflow_id(withdrawal_id), result_type=WithdrawalStatusDoc)
