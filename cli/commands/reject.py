"""``reject WITHDRAWAL_ID --reviewer R --reason TEXT``: reject a reviewed withdrawal (R17, R18).

The reason is shown to the user with the ``rejected`` status (R18), and the frozen money
returns to the withdrawable balance (R19).
"""

from __future__ import annotations

import argparse

from cli.command import Command, Context, Result
from cli.commands._decision import decide
from cli.commands._password import add_password_arguments, sign_in
from models.errors import InputError
from models.messages import ReviewDecisionKind

MAX_REASON_CHARS = 500


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    parser.add_argument("--reviewer", required=True, metavar="R", help="registered reviewer id")
    add_password_arguments(parser)
    parser.add_argument("--reason", required=True, metavar="TEXT", help="shown to the user (R18)")


def _run(args: argparse.Namespace, context: Context) -> Result:
    reason = " ".join(args.reason.split())
    if not reason:
        raise InputError("reason", "say why the withdrawal is rejected; the user sees it (R18)")
    if len(reason) > MAX_REASON_CHARS:
        raise InputError("reason", f"at most {MAX_REASON_CHARS} characters")
    reviewer = sign_in(args, context, args.reviewer)  # exit 3 "authentication failed"
    return decide(context, args.withdrawal_id, ReviewDecisionKind.REJECT, reviewer, reason)


COMMAND = Command(
    name="reject",
    help="reject a withdrawal under review; prints the resulting status",
    configure=_configure,
    run=_run,
)
