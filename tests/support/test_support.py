"""The shared helpers say what the workflow answers to (issue 23)."""

from __future__ import annotations

from temporalio import workflow

from tests.support.withdrawals import SIGNAL_PAYOUT_UPDATE
from workflows.withdrawal import WithdrawalWorkflow


def test_the_payout_update_signal_is_the_workflows_own() -> None:
    definition = workflow._Definition.must_from_class(WithdrawalWorkflow)
    assert SIGNAL_PAYOUT_UPDATE in definition.signals
