"""``withdraw``'s flags as a ``WithdrawalRequest``: the checks that need no ledger.

Everything here is exit 2 (bad input, naming the field): the amount, the id, the payee
(R9), the branch (R10) and the proof files (R9). Rules that need the ledger are checked
by ``check_eligibility`` afterwards. Proofs are stored before those checks; a refused
request leaves its files behind, which is harmless: storage is by content, once per file.
"""

from __future__ import annotations

import argparse
import re
import uuid
from pathlib import Path

from models.branches import payee_from_branch
from models.domain import Kind, Payee, Route, WithdrawalRequest
from models.errors import InputError
from models.money import Money
from models.payee import MAX_PROOFS, payee_problem
from service.proofs import store_proof

# The id is the workflow id and the idempotency key: printable, short, no personal data.
WITHDRAWAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# A run of digits this long could be a phone or a card number: never put one in an id.
PERSONAL_DIGITS = re.compile(r"\d{11,}")
GENERATED_ID_PREFIX = "w-"


def withdrawal_id(given: str | None) -> str:
    if given is None:
        return f"{GENERATED_ID_PREFIX}{uuid.uuid4().hex}"
    if not WITHDRAWAL_ID.fullmatch(given):
        raise InputError("id", "1 to 64 letters, digits, '.', '_', ':' or '-'")
    if PERSONAL_DIGITS.search(given):
        raise InputError("id", "must not carry a phone or account number (ids are logged)")
    return given


def amount(text: str) -> Money:
    parsed = Money.parse(text, "amount")
    if parsed.fen == 0:
        raise InputError("amount", "must be more than 0.00")
    return parsed


def payee(route: Route, args: argparse.Namespace) -> Payee | None:
    """R9 payee from the flags; a bank payee is filled from the branch directory (R10)."""
    number, name, branch = args.payee_account, args.payee_name, args.branch
    if not route.is_designated:
        if number is not None or name is not None or branch is not None:
            raise InputError("payee", "the original route pays back to the payer; give no payee")
        return None
    if number is None or name is None:
        missing = "payee-account" if number is None else "payee-name"
        raise InputError(
            missing,
            f"a designated receiving account ({route.value}, R9) needs "
            "--payee-account and --payee-name",
        )
    if route is Route.ALIPAY:
        if branch is not None:
            raise InputError("branch", "only a bank-card payee has a branch (R10)")
        return Payee(account_number=number.strip(), name=name.strip())
    if branch is None:
        raise InputError(
            "branch",
            "a bank-card payee's bank, province, city and branch come from the directory: "
            "give --branch BRANCH_ID (find it with `starter.py branches QUERY`, R10)",
        )
    return payee_from_branch(number.strip(), name.strip(), branch)


def build_request(args: argparse.Namespace) -> WithdrawalRequest:
    """The request the flags describe, or an ``InputError`` naming the first bad field."""
    money = amount(args.amount)
    route = Route(args.to)
    kind = Kind.NON_RECHARGE if args.non_recharge else Kind.RECHARGE
    the_payee = payee(route, args)
    if len(args.proof) > MAX_PROOFS:
        raise InputError("proof", f"at most {MAX_PROOFS} documents")
    # Stored by content (R9): the reference is the file's hash, the file kept for review.
    proofs = [store_proof(Path(p)) for p in args.proof]
    problem = payee_problem(route, the_payee, proofs)
    if problem is not None:
        field, why = problem.split(":", 1)
        raise InputError(field, why.strip())
    return WithdrawalRequest(
        withdrawal_id=withdrawal_id(args.id),
        account_id=args.account,
        amount=money,
        kind=kind,
        route=route,
        order_id=args.order,
        reason=args.reason,
        payee=the_payee,
        proofs=proofs,
        requested_by=args.by,
    )
