"""The withdrawal workflow's contract: the names it answers to and the failure types it
raises (issue 23 item 2). Clients (``client.withdrawals``), the callback receiver and the
workflow itself import these; nothing outside the worker imports ``WithdrawalWorkflow``,
which would load the activities and the ledger to send one signal.

They never change: withdrawals in flight are reached by these names
(tests/workflows/test_client_names.py checks them against the workflow's own).
"""

from __future__ import annotations

WORKFLOW_TYPE = "WithdrawalWorkflow"

UPDATE_SUBMIT_CODE = "submit_code"
UPDATE_RESEND_CODE = "resend_code"
UPDATE_CANCEL = "cancel"
UPDATE_RESOLVE_PAYOUT = "resolve_payout"
QUERY_STATUS = "status"
QUERY_DECISIONS = "decisions"
SIGNAL_APPROVE = "approve"
SIGNAL_REJECT = "reject"
SIGNAL_PAYOUT_UPDATE = "payout_update"  # the provider's callback, as a hint

# ``ApplicationError.type`` of the failures an update or the run raises.
NO_CODE_AWAITED = "NoCodeAwaited"
CODE_NOT_SENT = "CodeNotSent"
CANCEL_NOT_AUTHORISED = "CancelNotAuthorised"
CANCEL_TOO_LATE = "CancelTooLate"
REVIEW_INVARIANT_BROKEN = "ReviewInvariantBroken"
# A payout the provider refused for good (raised by the submit activities).
TRANSFER_REJECTED = "TransferRejected"
