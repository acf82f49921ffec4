"""``approve WITHDRAWAL_ID --reviewer R [--comment TEXT] [--password-stdin]``: approve (R17).

The reviewer authenticates first (``REVIEWER_PASSWORD``, ``--password-stdin`` or a prompt);
the approval travels with a signed proof that the workflow's activity verifies."""

from __future__ import annotations

import argparse

from cli.command import Command, Context, Result
from cli.commands._decision import decide
from cli.commands._password import add_password_arguments, sign_in
from models.messages import ReviewDecisionKind


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    parser.add_argument("--reviewer", required=True, metavar="R", help="registered reviewer id")
    add_password_arguments(parser)
    parser.add_argument("--comment", default="", metavar="TEXT")


def _run(args: argparse.Namespace, context: Context) -> Result:
    reviewer = sign_in(args, context, args.reviewer)  # exit 3 "authentication failed"
    return decide(context, args.withdrawal_id, ReviewDecisionKind.APPROVE, reviewer, args.comment)


COMMAND = Command(
    name="approve",
    help="approve a withdrawal under review; prints the resulting status",
    configure=_configure,
    run=_run,
)
