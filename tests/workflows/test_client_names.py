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


def test_the_contract_names_every_handler_the_workflow_has() -> None:
    """Issue 23: one module (``workflows.contract``) holds the names; the callback
    receiver signals by ``SIGNAL_PAYOUT_UPDATE`` without importing the workflow."""
    from workflows import contract

    definition = workflow._Definition.must_from_class(WithdrawalWorkflow)
    assert definition.name == contract.WORKFLOW_TYPE
    assert contract.SIGNAL_PAYOUT_UPDATE in definition.signals
    named = {
        value
        for key, value in vars(contract).items()
        if key.startswith(("UPDATE_", "QUERY_", "SIGNAL_"))
    }
    assert named == set(definition.updates) | set(definition.queries) | set(definition.signals)


def test_nothing_outside_the_worker_imports_the_workflow_class() -> None:
    """Issue 23 item 2: the receiver, the client and the bench use the contract's names."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    importers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not path.is_relative_to(root / ".venv")
        and not path.is_relative_to(root / "tests")
        and "from workflows.withdrawal import" in path.read_text(encoding="utf-8")
    )
    assert importers == ["worker.py"]
