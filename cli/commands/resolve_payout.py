"""``resolve-payout WITHDRAWAL_ID (--paid REFERENCE | --not-paid) --evidence TEXT --reviewer R``.

Ends a payout whose outcome is unknown (``list --payout-unknown``), or a withdrawal whose
workflow was terminated with its money still held (``reconcile``: held without workflow).
Role ``ops`` or ``lead``; audited; the same reviewer again changes nothing. ``--paid``
posts the hold with the provider's reference; ``--not-paid`` releases the money only
after a second, different reviewer confirms it and the provider, asked once more, holds
no matching transfer (R19). A workflow that still runs is never bypassed: the ledger
resolves only a closed run's parked or terminated withdrawal (issue 22).
"""

from __future__ import annotations

import argparse

from application.payout_resolution import (
    RULE,
    NothingToResolve,
    Resolution,
    resolution_request,
    resolve_payout,
)
from cli.command import Command, Context, Result
from cli.commands._password import add_password_arguments, sign_in
from cli.temporal_calls import as_refusal, run_with_client
from gateways.http_payout import payout_provider_from_env
from models.errors import RuleRefusal
from models.messages import PayoutOutcome


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    outcome = parser.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--paid", metavar="REFERENCE", help="the provider's reference")
    outcome.add_argument("--not-paid", action="store_true", help="no money left (two reviewers)")
    parser.add_argument("--evidence", required=True, metavar="TEXT", help="what shows it")
    parser.add_argument("--reviewer", required=True, metavar="R", help="an ops or lead reviewer")
    add_password_arguments(parser)


def _run(args: argparse.Namespace, context: Context) -> Result:
    reviewer = sign_in(args, context, args.reviewer)  # exit 3 "authentication failed"
    request = resolution_request(
        reviewer,
        args.withdrawal_id,
        PayoutOutcome.NOT_PAID if args.not_paid else PayoutOutcome.PAID,
        args.evidence,
        args.paid,
    )
    provider = payout_provider_from_env()  # asked once more before a not_paid release
    try:
        resolution = run_with_client(
            lambda client: resolve_payout(client, context.engine, request, context.now(), provider)
        )
    except NothingToResolve as refused:
        raise as_refusal(str(refused), RULE) from None
    verdict = resolution.verdict
    if not verdict.accepted:
        raise RuleRefusal(RULE, f"resolution by {args.reviewer} refused: {verdict.why}")
    return Result(document=_document(args.withdrawal_id, resolution), text=_text(resolution))


def _document(withdrawal_id: str, resolution: Resolution) -> dict[str, object]:
    verdict = resolution.verdict
    return {
        "id": withdrawal_id,
        "outcome": verdict.outcome.value,
        "final": verdict.final,
        "reference": verdict.reference,
        "reviewers": verdict.reviewers,
        "why": verdict.why,
        "via_workflow": resolution.via_workflow,
    }


def _text(resolution: Resolution) -> str:
    verdict = resolution.verdict
    where = "" if resolution.via_workflow else " (no workflow runs: resolved in the ledger)"
    if verdict.final:
        return f"resolved: {verdict.why}{where}"
    return f"recorded: {verdict.why}{where}"


COMMAND = Command(
    name="resolve-payout",
    help="end a payout whose outcome is unknown (ops or lead, with evidence)",
    configure=_configure,
    run=_run,
)
