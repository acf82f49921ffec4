"""Custom search attributes ops filter on in the Web UI. No personal data here:
ids, enums and flags only."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from models.domain import Status, WithdrawalRequest

WITHDRAWAL_STATUS = SearchAttributeKey.for_keyword("WithdrawalStatus")
WITHDRAWAL_ROUTE = SearchAttributeKey.for_keyword("WithdrawalRoute")
WITHDRAWAL_KIND = SearchAttributeKey.for_keyword("WithdrawalKind")
WITHDRAWAL_ACCOUNT = SearchAttributeKey.for_keyword("WithdrawalAccountId")
REVIEW_REQUIRED = SearchAttributeKey.for_bool("ReviewRequired")
REVIEW_OVERDUE = SearchAttributeKey.for_bool("ReviewOverdue")
# Set by the workflow only when a payout's outcome becomes unknown (not at start, so a
# namespace registered before it still accepts new withdrawals).
PAYOUT_UNKNOWN = SearchAttributeKey.for_bool("PayoutUnknown")

ALL_KEYS: tuple[SearchAttributeKey, ...] = (
    WITHDRAWAL_STATUS,
    WITHDRAWAL_ROUTE,
    WITHDRAWAL_KIND,
    WITHDRAWAL_ACCOUNT,
    REVIEW_REQUIRED,
    REVIEW_OVERDUE,
    PAYOUT_UNKNOWN,
)


def initial_search_attributes(request: WithdrawalRequest) -> TypedSearchAttributes:
    """Set by the client at start so a withdrawal is findable from its first moment."""
    pairs: list[SearchAttributePair] = [
        SearchAttributePair(WITHDRAWAL_STATUS, Status.VERIFYING.value),
        SearchAttributePair(WITHDRAWAL_ROUTE, request.route.value),
        SearchAttributePair(WITHDRAWAL_KIND, request.kind.value),
        SearchAttributePair(WITHDRAWAL_ACCOUNT, request.account_id),
        SearchAttributePair(REVIEW_REQUIRED, False),
        SearchAttributePair(REVIEW_OVERDUE, False),
    ]
    return TypedSearchAttributes(pairs)


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` arguments that register every key."""
    kinds = {"KEYWORD": "Keyword", "BOOL": "Bool"}
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags
