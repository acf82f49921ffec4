"""``status WITHDRAWAL_ID``: status, amount, route, reason and timeline (R18).

A running withdrawal answers from its workflow (the live state, code attempts included),
a completed one with the workflow's result. When the workflow is gone (retention, a
wiped server), failed, or its worker does not answer, the database record answers: the
workflow wrote each status there as it went (``source`` says which was read).
"""

from __future__ import annotations

import argparse
from typing import Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from ledger.db import read_only_session
from models.domain import WithdrawalStatusDoc
from service.cli.command import Command, Context, Result
from service.cli.output import jsonable
from service.cli.records import record_document, status_text
from service.cli.temporal_calls import (
    is_not_found,
    live_status,
    run_with_client,
    unknown_withdrawal,
)
from service.client import WithdrawalClient, workflow_id

SOURCE_WORKFLOW = "workflow"
SOURCE_DATABASE = "database"


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")


async def _from_temporal(
    client: WithdrawalClient, withdrawal_id: str
) -> WithdrawalStatusDoc | None:
    """The workflow's own document: queried while it runs, its result once it completed
    (the full timeline, code steps included, read from history without a worker)."""
    handle = client.temporal.get_workflow_handle(workflow_id(withdrawal_id))
    try:
        description = await handle.describe()
    except RPCError as error:
        if is_not_found(error):
            return None
        raise
    if description.status is WorkflowExecutionStatus.RUNNING:
        return await live_status(client, withdrawal_id)
    if description.status is WorkflowExecutionStatus.COMPLETED:
        return await client.result(withdrawal_id)
    return None  # failed, terminated, timed out: the database record is the truth


def find_status(context: Context, withdrawal_id: str) -> tuple[WithdrawalStatusDoc, str]:
    """The best status document there is, and where it came from."""
    found = run_with_client(lambda client: _from_temporal(client, withdrawal_id))
    if found is not None:
        return found, SOURCE_WORKFLOW
    with read_only_session(context.engine) as session:
        recorded = record_document(session, withdrawal_id)
    if recorded is None:
        raise unknown_withdrawal(withdrawal_id)
    return recorded, SOURCE_DATABASE


def _run(args: argparse.Namespace, context: Context) -> Result:
    doc, source = find_status(context, args.withdrawal_id)
    document: dict[str, Any] = {**jsonable(doc), "source": source}
    return Result(document=document, text=status_text(doc))


COMMAND = Command(
    name="status",
    help="a withdrawal's status, amount, route, reason and timeline",
    configure=_configure,
    run=_run,
)
