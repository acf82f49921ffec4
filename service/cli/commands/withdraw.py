"""``withdraw``: start a withdrawal; print its id and the next step (the code was texted).

A bad request is refused here, before the workflow freezes anything: malformed input is
exit 2 (``_withdraw_request``); a rule saying no is exit 3 (R1, R2, R5, R8, R9 through
``check_eligibility``, and R12/R14 read from the ledger). The workflow checks again under
the account lock, since only that check is authoritative against concurrent withdrawals.

``--id`` is the idempotency key: the same request under the same id attaches to the first
withdrawal instead of freezing money twice; a different request under it is refused.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sqlmodel import Session
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.eligibility import check_eligibility
from gateways.sms_messages import mask_phone
from ledger.accounts import balance_breakdown, get_account, remaining_of
from ledger.db import read_only_session
from ledger.tables import Withdrawal
from ledger.withdrawals import matches_request
from models.domain import DesignatedReason, Route, Status, WithdrawalRequest, WithdrawalStatusDoc
from models.errors import HoldConflict, InsufficientWithdrawable
from service.cli.command import Command, Context, Result
from service.cli.commands._withdraw_request import build_request
from service.cli.output import jsonable
from service.cli.records import record_document, status_with_reason, when
from service.cli.temporal_calls import as_refusal, fail, live_status, run_with_client
from service.client import WithdrawalClient

# Long enough for the worker to freeze the money and text the code on a busy machine.
START_SETTLE_SECONDS = 15.0
START_POLL_SECONDS = 0.2
CLI = "starter.py"


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, metavar="A", help="the account withdrawn from")
    parser.add_argument("--amount", required=True, metavar="X", help='CNY, e.g. "100.00"')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--order", metavar="ORDER", help="recharge order drawn on (R5)")
    source.add_argument(
        "--non-recharge", action="store_true", help="a non-recharge application (R6)"
    )
    parser.add_argument(
        "--to", choices=[r.value for r in Route], default=Route.ORIGINAL.value, help="route (R7/R9)"
    )
    parser.add_argument(
        "--reason",
        type=DesignatedReason,
        choices=list(DesignatedReason),
        metavar="REASON",
        help=f"why a designated account (R9): {', '.join(r.value for r in DesignatedReason)}",
    )
    parser.add_argument("--payee-account", metavar="N", help="designated account number (R9)")
    parser.add_argument("--payee-name", metavar="NAME", help="designated payee name (R9)")
    parser.add_argument(
        "--branch", metavar="BRANCH_ID", help="bank branch from the directory (R10)"
    )
    parser.add_argument(
        "--proof", action="append", default=[], metavar="FILE", help="proof material (R9)"
    )
    parser.add_argument("--id", metavar="WITHDRAWAL_ID", help="idempotency key (default: new)")
    parser.add_argument("--by", metavar="USER", help="acting account: itself or its master (R2)")


def _precheck(session: Session, request: WithdrawalRequest, context: Context) -> list[str]:
    """Refuse before anything is frozen; the R17 review reasons if it may go ahead.

    An id already recorded is an idempotent retry: its own hold must not count against
    it, so only the request's sameness is checked.
    """
    existing = session.get(Withdrawal, request.withdrawal_id)
    if existing is not None:
        if not matches_request(existing, request):
            raise HoldConflict(
                "idempotency",
                f"withdrawal {request.withdrawal_id} exists for a different request",
            )
        return []
    now = context.now()
    eligibility = check_eligibility(session, request, now)
    withdrawable = balance_breakdown(session, request.account_id, now).withdrawable
    if request.amount > withdrawable:
        raise InsufficientWithdrawable("R14", f"withdrawable is {withdrawable}")
    if eligibility.order is not None:
        remaining = remaining_of(eligibility.order)
        if request.amount > remaining:
            raise InsufficientWithdrawable(
                "R14", f"order {eligibility.order.id} has {remaining} remaining"
            )
    return eligibility.review_reasons


async def _start(
    client: WithdrawalClient, request: WithdrawalRequest
) -> WithdrawalStatusDoc | None:
    """Start (or attach), then wait until the money is frozen and the code texted."""
    try:
        await client.start(request)
    except WorkflowAlreadyStartedError:
        return None  # the first run under this id has finished: the record has its result
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SETTLE_SECONDS
    doc = await live_status(client, request.withdrawal_id)
    while (doc is None or doc.status is Status.VERIFYING) and loop.time() < deadline:
        await asyncio.sleep(START_POLL_SECONDS)
        doc = await live_status(client, request.withdrawal_id)
    return doc


def _refused_at_open(doc: WithdrawalStatusDoc) -> bool:
    """Failed before a code was sent: the workflow's own check refused it (a race the
    pre-check could not see, such as a concurrent withdrawal taking the money)."""
    return doc.status is Status.FAILED and all(
        entry.status in (Status.VERIFYING, Status.FAILED) for entry in doc.timeline
    )


def _next_command(doc: WithdrawalStatusDoc) -> str:
    if doc.status is Status.AWAITING_CODE:
        return f"{CLI} code {doc.id} CODE"
    return f"{CLI} status {doc.id}"


def _next_step(doc: WithdrawalStatusDoc, phone: str) -> str:
    if doc.status is Status.AWAITING_CODE:
        return (
            f"a verification code was texted to {mask_phone(phone)} (R15); submit it with:\n"
            f"  {_next_command(doc)}\n"
            f"  (the simulator's inbox: {CLI} sms-inbox --account {doc.account_id})"
        )
    if doc.status is Status.VERIFYING:
        return f"still being checked; follow it with: {_next_command(doc)}"
    return f"follow it with: {_next_command(doc)}"


def _text(doc: WithdrawalStatusDoc, review_reasons: list[str], phone: str) -> str:
    source = f"recharge order {doc.order_id}" if doc.order_id else "non-recharge application"
    destination = doc.route.value + (f" to {doc.payee}" if doc.payee else "")
    lines = [
        f"withdrawal {doc.id}: {doc.amount} CNY from {doc.account_id}, {source}, "
        f"route {destination}",
        f"status: {status_with_reason(doc.status, doc.reason)}",
    ]
    if review_reasons or doc.review_required:
        why = "; ".join(review_reasons) or "R17"
        lines.append(f"manual review after the code: {why}")
    elif doc.route is Route.ORIGINAL:
        lines.append("no review: paid out automatically once the code is verified (R16)")
    if doc.expected_arrival is not None:
        lines.append(f"expected arrival by {when(doc.expected_arrival)}")
    lines.append(_next_step(doc, phone))
    return "\n".join(lines)


def _run(args: argparse.Namespace, context: Context) -> Result:
    request = build_request(args)
    with read_only_session(context.engine) as session:
        review_reasons = _precheck(session, request, context)
        phone = get_account(session, request.account_id).security_phone
    doc = run_with_client(lambda client: _start(client, request))
    if doc is None:
        with read_only_session(context.engine) as session:
            doc = record_document(session, request.withdrawal_id)
    if doc is None:
        fail(
            f"withdrawal {request.withdrawal_id} was started but did not answer within "
            f"{START_SETTLE_SECONDS:g} s (is the worker running?); see: "
            f"{CLI} status {request.withdrawal_id}"
        )
    if _refused_at_open(doc):
        raise as_refusal(doc.reason or "refused when freezing the money", "R14")
    document: dict[str, Any] = {
        **jsonable(doc),
        "review_reasons": review_reasons,
        "next": _next_command(doc),
    }
    return Result(document=document, text=_text(doc, review_reasons, phone))


COMMAND = Command(
    name="withdraw",
    help="start a withdrawal; prints its id and the next step",
    configure=_configure,
    run=_run,
)
