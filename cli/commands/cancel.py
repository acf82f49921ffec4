"""``cancel WITHDRAWAL_ID [--by ACCOUNT | --reviewer R]``: cancel before payout (R2, R18, R19).

``--by`` is asserted by the caller and recorded as asserted; the workflow's activity lets
it cancel only for the applying account or its master account (R2). ``--reviewer`` signs
the reviewer in (as ``approve`` does); only ``ops`` and ``lead`` may cancel. Anyone else,
or a withdrawal already paid out or ended: exit 3 with why, and the audit trail records
the attempt. The frozen money returns to the withdrawable balance (R19).
"""

from __future__ import annotations

import argparse

from application import withdrawals
from application.reviews import cancel_as_reviewer
from cli.command import Command, Context, Result
from cli.commands._password import add_password_arguments, sign_in
from cli.output import jsonable
from cli.records import status_text
from cli.temporal_calls import run_update, run_with_client

RULE = "R18"


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--by", metavar="ACCOUNT", help="the account that cancels (default: the applicant)"
    )
    who.add_argument("--reviewer", metavar="R", help="an ops or lead reviewer (authenticates)")
    add_password_arguments(parser)


def _run(args: argparse.Namespace, context: Context) -> Result:
    if args.reviewer is not None:
        reviewer = sign_in(args, context, args.reviewer)  # exit 3 "authentication failed"
        doc = run_update(
            context,
            args.withdrawal_id,
            RULE,
            lambda client: cancel_as_reviewer(
                client, reviewer, args.withdrawal_id, engine=context.engine
            ),
        )
    else:
        doc = run_with_client(
            lambda client: withdrawals.cancel(context.engine, client, args.withdrawal_id, args.by)
        )
    return Result(document=jsonable(doc), text=status_text(doc))


COMMAND = Command(
    name="cancel",
    help="cancel a withdrawal before it is paid out",
    configure=_configure,
    run=_run,
)
