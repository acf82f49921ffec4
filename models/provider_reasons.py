"""Why the payout provider refused or failed a transfer, in a fixed vocabulary (issue 22).

A provider explains itself in free text, and free text may carry what it must not: a
payee's name, an account number ("account 6222…4444 of Zhang San is closed"). That text
is mapped to one of these words where it enters the service (``gateways.payout.
as_received``, ``gateways.payout.refusal``), and only the word goes on to records, webhooks,
the audit trail, logs and the Web UI; the raw text stays only in the workflow's history,
which is encrypted (``Transfer.provider_text``). Pure, no I/O.

The words are few on purpose: each says what a person should do next, and a new provider
adds patterns here, never words in other modules.
"""

from __future__ import annotations

from enum import StrEnum


class ProviderReason(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"  # the provider's own account could not pay
    ACCOUNT_CLOSED = "account_closed"  # the receiving (or original paying) account is closed
    ACCOUNT_INVALID = "account_invalid"  # no such account, or a malformed number
    NAME_MISMATCH = "name_mismatch"  # the name does not belong to the account
    ROUTE_EXPIRED = "route_expired"  # the original route is past its time limit (R8)
    DETAILS_INCOMPLETE = "details_incomplete"  # branch, bank or recharge details missing
    KEY_CONFLICT = "key_conflict"  # the idempotency key was used for another transfer
    RETURNED = "returned"  # the receiving bank sent the money back
    REFUSED_BY_PROVIDER = "refused_by_provider"  # a refusal saying nothing we recognise
    UNKNOWN = "unknown"  # a failure saying nothing we recognise


# Checked in order, on the lower-cased text: the first whose every fragment of one of its
# alternatives is present wins. More specific words come first ("name" before "closed":
# "name does not match the closed account" is a name mismatch).
_PATTERNS: tuple[tuple[ProviderReason, tuple[tuple[str, ...], ...]], ...] = (
    (ProviderReason.KEY_CONFLICT, (("idempotency",), ("reused",), ("duplicate",))),
    (ProviderReason.INSUFFICIENT_FUNDS, (("insufficient",), ("balance",))),
    (ProviderReason.ROUTE_EXPIRED, (("expired",), ("limit ended",), ("too old",))),
    (
        ProviderReason.NAME_MISMATCH,
        (("name", "match"), ("name", "differ"), ("name", "wrong"), ("name", "incorrect")),
    ),
    (ProviderReason.RETURNED, (("returned",), ("return",))),
    (ProviderReason.ACCOUNT_CLOSED, (("closed",), ("cannot receive",), ("frozen",))),
    (
        ProviderReason.ACCOUNT_INVALID,
        (("invalid account",), ("account number",), ("no such account",), ("unknown account",)),
    ),
    (
        ProviderReason.DETAILS_INCOMPLETE,
        (("incomplete",), ("missing",), ("malformed",), ("invalid original route",)),
    ),
)
_WORDS = frozenset(reason.value for reason in ProviderReason)


def is_vocabulary(text: str) -> bool:
    """Whether ``text`` is already one of the words (mapping it again changes nothing)."""
    return text in _WORDS


def provider_reason(text: str | None, fallback: ProviderReason) -> ProviderReason:
    """The word for a provider's free-text ``text``; ``fallback`` when nothing matches
    (``REFUSED_BY_PROVIDER`` for a refusal, ``UNKNOWN`` for a failure)."""
    if not text:
        return fallback
    if is_vocabulary(text):
        return ProviderReason(text)
    lowered = text.lower()
    for reason, alternatives in _PATTERNS:
        if any(all(fragment in lowered for fragment in fragments) for fragments in alternatives):
            return reason
    return fallback
