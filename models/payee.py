"""R9/R10: is the designated receiving account complete enough to pay out to?

Wrong payee details are the usual reason a payout fails (R18), so they are refused at
the door with a message naming the field. Messages never carry a full account number:
at most its masked tail (``mask_account_number``), because they end up in logs and UIs.
"""

from __future__ import annotations

import re

from models.domain import Payee, Route
from models.errors import FieldProblem
from models.masks import mask_account_number

MAX_PAYEE_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
MAX_PROOFS = 20
MAX_PROOF_REFERENCE_CHARS = 200

# Printable ASCII and ASCII digits only: these are also the API's OpenAPI patterns, and
# Python's ``\s`` and ``\d`` do not mean what ECMA 262's do beyond ASCII.
EMAIL = re.compile(r"[!-?A-~]+@[!-?A-~]+\.[!-\-/-?A-~]+")
MAINLAND_MOBILE = re.compile(r"1[0-9]{10}")
BANK_CARD = re.compile(r"[0-9]{12,19}")
# A name is not blank: it has one character outside this list of white space. The list is
# spelled out because Python's and JSON Schema's (ECMA-262) ``\s`` differ (U+0085 and
# U+001C-U+001F are white space to Python only, U+FEFF to ECMA only), and the OpenAPI
# document states the same pattern (application.withdrawals.NOT_BLANK_PATTERN).
NOT_BLANK = re.compile(
    r"[^\t\n\u000b\f\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000\ufeff]"
)

# R10: these come from the branch directory together; a missing one means the form was
# typed by hand or the branch look-up was skipped.
_BRANCH_FIELDS = ("branch_id", "bank", "province", "city")


def payee_problem(route: Route, payee: Payee | None, proofs: list[str]) -> FieldProblem | None:
    """R9/R10: None when the payee and proofs fit the route, else the field and why."""
    if not route.is_designated:
        if payee is not None:
            return FieldProblem("payee", "the original route pays back to the payer; give no payee")
        return None
    if payee is None:
        return FieldProblem("payee", "a designated receiving account needs a payee (R9)")
    problem = _name_problem(payee.name)
    if problem is None:
        problem = (
            _alipay_account_problem(payee.account_number)
            if route == Route.ALIPAY
            else _bank_payee_problem(payee)
        )
    return problem or _proofs_problem(proofs)


def _name_problem(name: str) -> FieldProblem | None:
    if NOT_BLANK.search(name) is None:
        return FieldProblem("payee.name", "the payee's name is required (R9)")
    if len(name) > MAX_PAYEE_NAME_CHARS:
        return FieldProblem("payee.name", f"at most {MAX_PAYEE_NAME_CHARS} characters")
    return None


def _alipay_account_problem(account: str) -> FieldProblem | None:
    if not account:
        return FieldProblem("payee.account_number", "the Alipay account is required (R9)")
    if MAINLAND_MOBILE.fullmatch(account):
        return None
    if len(account) <= MAX_EMAIL_CHARS and EMAIL.fullmatch(account):
        return None
    return FieldProblem(
        "payee.account_number",
        "an Alipay account is an email address or an 11-digit mainland mobile number "
        "starting with 1",
    )


def _bank_payee_problem(payee: Payee) -> FieldProblem | None:
    number = payee.account_number
    if not BANK_CARD.fullmatch(number):
        shown = f" (got {mask_account_number(number)})" if number else ""
        return FieldProblem(
            "payee.account_number", f"a bank card number has 12 to 19 digits{shown}"
        )
    for field in _BRANCH_FIELDS:
        value = getattr(payee, field)
        if value is None or not value.strip():
            return FieldProblem(
                f"payee.{field}", "choose the branch from the directory to fill it (R10)"
            )
    return None


def _proofs_problem(proofs: list[str]) -> FieldProblem | None:
    if not proofs:
        return FieldProblem(
            "proofs", "a designated receiving account needs at least one proof document (R9)"
        )
    if len(proofs) > MAX_PROOFS:
        return FieldProblem("proofs", f"at most {MAX_PROOFS} documents")
    for proof in proofs:
        if not proof.strip() or len(proof) > MAX_PROOF_REFERENCE_CHARS:
            return FieldProblem(
                "proofs",
                f"each proof is a stored document's reference, 1 to {MAX_PROOF_REFERENCE_CHARS} "
                "characters",
            )
    return None
