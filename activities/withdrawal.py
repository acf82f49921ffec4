"""The withdrawal workflow's side effects: ledger, SMS and payout provider.

Every activity is idempotent under the withdrawal id: a retry or a duplicate
delivery changes nothing twice. Business refusals leave as non-retryable
``ApplicationError``s whose ``type`` names the refusal; everything else is
transient and retried by Temporal.

Each activity is one transaction calling one ``ledger`` function, plus any provider
call; the ledger function writes the change's audit row (``ledger.audit``) in that
transaction, refusals included. Nothing personal goes into results, errors or logs: a
payee appears masked, a verification code only in the SMS text handed to the provider.

The activities are grouped by concern, one module each; ``WithdrawalActivities`` puts
them together under the names the workflow and the worker use (the method names are
the activity names Temporal records, so they never change).
"""

from __future__ import annotations

from activities.codes import CodeActivities
from activities.opening import OpeningActivities
from activities.payout import PayoutActivities
from activities.returns import ReturnActivities
from activities.review import ReviewActivities
from activities.settlement import SettlementActivities


class WithdrawalActivities(
    OpeningActivities,
    CodeActivities,
    ReviewActivities,
    PayoutActivities,
    SettlementActivities,
    ReturnActivities,
):
    """Activities bound to one database and one pair of providers."""
