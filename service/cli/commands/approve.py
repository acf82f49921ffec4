"""``approve WITHDRAWAL_ID --reviewer R [--comment TEXT]``: approve a reviewed withdrawal (R17)."""

from __future__ import annotations

import argparse

from models.messages import ReviewDecisionKind
from service.cli.command import Command, Context, Result
from service.cli.commands._decision import decide


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    parser.add_argument("--reviewer", required=True, metavar="R", help="registered reviewer id")
    parser.add_argument("--comment", default="", metavar="TEXT")


def _run(args: argparse.Namespace, context: Context) -> Result:
    return decide(
        context, args.withdrawal_id, ReviewDecisionKind.APPROVE, args.reviewer, args.comment
    )


COMMAND = Command(
    name="approve",
    help="approve a withdrawal under review; prints the resulting status",
    configure=_configure,
    run=_run,
)
