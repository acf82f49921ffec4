"""``credit-return WITHDRAWAL_ID --amount X --evidence TEXT --reviewer R``.

Credits a return parked because the provider returned another amount than it paid
(``attention`` and ``reconcile`` list them as ``return_parked``; issue 25). Role ``ops``
or ``lead``, signed in with ``REVIEWER_PASSWORD`` (or ``--password-stdin``, or a prompt);
the money moves only when a second, different person approves the same amount, never more
than the provider's record says came back. Audited; the same reviewer again changes nothing.
"""

from __future__ import annotations

import argparse

from application.returns import RULE, credit_parked_return
from cli.command import Command, Context, Result
from cli.commands._password import add_password_arguments, sign_in
from models.money import Money
from models.returns import ReturnCreditRefused


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    parser.add_argument("--amount", required=True, help="what to credit, e.g. 49.00")
    parser.add_argument("--evidence", required=True, metavar="TEXT", help="what shows it")
    parser.add_argument("--reviewer", required=True, metavar="R", help="an ops or lead reviewer")
    add_password_arguments(parser)


def _run(args: argparse.Namespace, context: Context) -> Result:
    amount = Money.parse(args.amount, "amount")  # exit 2 naming the field when malformed
    reviewer = sign_in(args, context, args.reviewer)  # exit 3 "authentication failed"
    verdict = credit_parked_return(
        context.engine, reviewer, args.withdrawal_id, amount, args.evidence, context.now()
    )
    if not verdict.accepted:
        raise ReturnCreditRefused(RULE, f"credit by {args.reviewer} refused: {verdict.why}")
    document = {
        "id": args.withdrawal_id,
        "amount": amount,
        "credited": verdict.credited,
        "reviewers": verdict.reviewers,
        "why": verdict.why,
    }
    text = f"{'credited' if verdict.credited else 'recorded'}: {verdict.why}"
    return Result(document=document, text=text)


COMMAND = Command(
    name="credit-return",
    help="credit a parked return (ops or lead; two reviewers, with evidence)",
    configure=_configure,
    run=_run,
)
