"""Every limit of the withdrawal process, named with its unit (TigerStyle)."""

from __future__ import annotations

# R15 verification code (*beyond*: expiry, attempt limit, re-send throttle).
CODE_DIGITS = 6
CODE_TTL_SECONDS = 10 * 60
MAX_CODE_ATTEMPTS = 5
CODE_RESEND_COOLDOWN_SECONDS = 60
MAX_CODE_SENDS = 5
SMS_SEND_TOTAL_SECONDS = 2 * 60  # an SMS provider down longer than this ends the withdrawal

# R17 manual review: past this the withdrawal stays in review but is flagged for ops.
REVIEW_SLA_HOURS = 48
MAX_REVIEW_DECISIONS_RECORDED = 100  # ignored decisions beyond this are dropped from state
# Four-eyes: above this amount (env FOUR_EYES_THRESHOLD) two different reviewers approve.
FOUR_EYES_THRESHOLD_YUAN = "10000.00"
APPROVALS_ABOVE_FOUR_EYES_THRESHOLD = 2

# Payout: transient provider failures retry with backoff, bounded by total time.
PAYOUT_RETRY_INITIAL_SECONDS = 1
PAYOUT_RETRY_MAX_INTERVAL_SECONDS = 5 * 60
PAYOUT_RETRY_TOTAL_HOURS = 24
PROVIDER_CALL_TIMEOUT_SECONDS = 30

# Settlement: poll the provider with a growing interval; callbacks short-cut the wait.
SETTLEMENT_POLL_FIRST_SECONDS = 2
SETTLEMENT_POLL_MAX_SECONDS = 15 * 60

# Database activities retry quickly: a lock wait or a restart, never a business answer.
DATABASE_ACTIVITY_TIMEOUT_SECONDS = 30

# Webhooks: each event retried with exponential backoff for more than a day (Standard
# Webhooks receivers expect retries); env WEBHOOK_RETRY_* shortens them for tests.
WEBHOOK_RETRY_INITIAL_SECONDS = 10
WEBHOOK_RETRY_MAX_INTERVAL_SECONDS = 60 * 60
WEBHOOK_RETRY_TOTAL_HOURS = 25
WEBHOOK_CALL_TIMEOUT_SECONDS = 15
WEBHOOK_DISPATCH_POLL_SECONDS = 2.0  # the safety net; a commit wakes the dispatcher at once
WEBHOOK_DISPATCH_BATCH = 100
