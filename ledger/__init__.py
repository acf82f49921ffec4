"""The ledger: accounts, recharge orders, two-phase holds, withdrawal records (R5, R11–R20).

Import the functions from here; tables live in ``ledger.tables`` and stay inside the
ledger and the activities.
"""

from ledger.accounts import (
    OrderRemaining,
    balance_breakdown,
    get_account,
    orders_with_remaining,
    same_identity_overdue,
)
from ledger.db import database_url, get_engine, run_in_transaction, session_scope
from ledger.holds import get_hold, post_hold, reserve, void_hold
from ledger.invariants import LedgerInvariantError
from ledger.loading import LoadSummary, UpsertCounts, load_fixture
from ledger.withdrawals import (
    create_withdrawal,
    get_withdrawal,
    list_withdrawals,
    mark_review_overdue,
    set_provider_reference,
    set_withdrawal_status,
    timeline,
    transactions,
)

__all__ = [
    "LedgerInvariantError",
    "LoadSummary",
    "OrderRemaining",
    "UpsertCounts",
    "balance_breakdown",
    "create_withdrawal",
    "database_url",
    "get_account",
    "get_engine",
    "get_hold",
    "get_withdrawal",
    "list_withdrawals",
    "load_fixture",
    "mark_review_overdue",
    "orders_with_remaining",
    "post_hold",
    "reserve",
    "run_in_transaction",
    "same_identity_overdue",
    "session_scope",
    "set_provider_reference",
    "set_withdrawal_status",
    "timeline",
    "transactions",
    "void_hold",
]
