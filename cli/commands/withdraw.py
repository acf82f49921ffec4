"""``withdraw``: start a withdrawal; print its id and the next step (the code was texted).

The flags become the public create shape (``application.withdrawals.WithdrawalCreate``),
the same one the HTTP API parses its body into, and ``application.withdrawals.create``
does the rest: malformed input is exit 2 naming the field; a rule saying no is exit 3
(R1, R2, R5, R8, R9, R12/R14, read from the ledger before anything is frozen). The
workflow checks again under the account lock, the only check authoritative against
concurrent withdrawals.

``--id`` is the idempotency key: the same request under the same id attaches to the first
withdrawal instead of freezing money twice; a different request under it is exit 2,
naming the first field that differs.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path
from typing import Any

from application import withdrawals
from application.proofs import read_proof_file
from application.records import status_with_reason, when
from application.withdrawals import ProofUpload, WithdrawalCreate
from cli.command import Command, Context, Result
from cli.output import jsonable
from cli.temporal_calls import fail, run_with_client
from ledger.accounts import get_account
from ledger.db import read_only_session
from models.domain import DesignatedReason, Route, Status, WithdrawalStatusDoc
from models.errors import InputError
from models.masks import mask_phone
from models.payee import MAX_PROOFS

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


def _create_shape(args: argparse.Namespace) -> WithdrawalCreate:
    """The flags as the one public create shape (the HTTP API's body is the same)."""
    proofs = [
        ProofUpload(
            filename=Path(path).name or path,
            content_base64=base64.b64encode(read_proof_file(Path(path))).decode(),
        )
        for path in args.proof
    ]
    if len(proofs) > MAX_PROOFS:
        raise InputError("proof", f"at most {MAX_PROOFS} documents")
    return WithdrawalCreate(
        id=args.id,
        account_id=args.account,
        amount=args.amount,
        order_id=args.order,
        non_recharge=args.non_recharge,
        to=Route(args.to),
        reason=args.reason,
        payee_account=args.payee_account,
        payee_name=args.payee_name,
        branch_id=args.branch,
        proofs=proofs,
        by=args.by,
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
    request = withdrawals.to_request(_create_shape(args))
    engine = context.engine
    created = run_with_client(
        lambda client: withdrawals.create(engine, client, request, context.now())
    )
    if not created.answered:
        fail(
            f"withdrawal {request.withdrawal_id} was started but did not answer within "
            f"{withdrawals.START_SETTLE_SECONDS:g} s (is the worker running?); see: "
            f"{CLI} status {request.withdrawal_id}"
        )
    doc = created.document
    with read_only_session(engine) as session:
        phone = get_account(session, request.account_id).security_phone
    document: dict[str, Any] = {
        **jsonable(doc),
        "review_reasons": created.review_reasons,
        "next": _next_command(doc),
    }
    return Result(document=document, text=_text(doc, created.review_reasons, phone))


COMMAND = Command(
    name="withdraw",
    help="start a withdrawal; prints its id and the next step",
    configure=_configure,
    run=_run,
)
