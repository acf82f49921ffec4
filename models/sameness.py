"""Is this the request first made under the same withdrawal id? (idempotency)

The withdrawal id is the idempotency key: the same request again attaches to the first
withdrawal; a different one under that id is refused, naming the first field that
differs. Every part of what is asked counts: account, amount, kind, route, order, the R9
reason, the proofs (as a set of content hashes: the same documents in another order are
the same request) and the payee. Who asked (``requested_by``) does not: a retry by the
master account (R2) is the same request. Names are those of the public create shape, so
a backend can find its own field.

The payee is compared last and as one unit, named ``payee`` whether its account number,
name or branch differs (issue 22, item 7): a refusal must not be an oracle that confirms
a payee's account number apart from its name, nor say anything about the payee to a
caller who has not matched every other part of the request first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.domain import WithdrawalRequest

_COMPARED: tuple[tuple[str, Callable[[WithdrawalRequest], Any]], ...] = (
    ("account_id", lambda r: r.account_id),
    ("amount", lambda r: r.amount.fen),
    ("non_recharge", lambda r: r.kind.value),
    ("to", lambda r: r.route.value),
    ("order_id", lambda r: r.order_id),
    ("reason", lambda r: r.reason.value if r.reason else None),
    ("proofs", lambda r: frozenset(r.proofs)),
    # Last, and whole: see the module's docstring.
    (
        "payee",
        lambda r: (r.payee.account_number, r.payee.name, r.payee.branch_id) if r.payee else None,
    ),
)


def first_difference(first: WithdrawalRequest, again: WithdrawalRequest) -> str | None:
    """The name of the first field where ``again`` asks for something else, or None."""
    for name, value in _COMPARED:
        if value(first) != value(again):
            return name
    return None
