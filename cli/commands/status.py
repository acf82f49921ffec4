"""``status WITHDRAWAL_ID``: status, amount, route, reason and timeline (R18).

A running withdrawal answers from its workflow (the live state, code attempts included),
a completed one with the workflow's result. When the workflow is gone (retention, a
wiped server), failed, or its worker does not answer, the database record answers: the
workflow wrote each status there as it went (``source`` says which was read).
"""

from __future__ import annotations

import argparse
from typing import Any

from application import withdrawals
from cli.command import Command, Context, Result
from cli.output import jsonable
from cli.records import status_text
from cli.temporal_calls import run_with_client


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")


def _run(args: argparse.Namespace, context: Context) -> Result:
    doc, source = run_with_client(
        lambda client: withdrawals.find_status(context.engine, client, args.withdrawal_id)
    )
    document: dict[str, Any] = {**jsonable(doc), "source": source}
    return Result(document=document, text=status_text(doc))


COMMAND = Command(
    name="status",
    help="a withdrawal's status, amount, route, reason and timeline",
    configure=_configure,
    run=_run,
)
