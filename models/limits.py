"""Every limit of the withdrawal process, named with its unit (TigerStyle)."""

from __future__ import annotations

import os

# R15 verification code (*beyond*: expiry, attempt limit, re-send throttle).
CODE_DIGITS = 6
CODE_TTL_SECONDS = 10 * 60
MAX_CODE_ATTEMPTS = 5
CODE_RESEND_COOLDOWN_SECONDS_DEFAULT = 60
# A test stack may shorten the throttle (env CODE_RESEND_COOLDOWN_SECONDS, never under
# WITHDRAWALS_ENV=production), read once as the worker imports this: only the resend update's
# validator uses it, and validators do not run on replay, so no history depends on it.
CODE_RESEND_COOLDOWN_SECONDS = (
    int(os.environ.get("CODE_RESEND_COOLDOWN_SECONDS") or CODE_RESEND_COOLDOWN_SECONDS_DEFAULT)
    if os.environ.get("WITHDRAWALS_ENV", "dev").strip().lower() != "production"
    else CODE_RESEND_COOLDOWN_SECONDS_DEFAULT
)
MAX_CODE_SENDS = 5
SMS_SEND_TOTAL_SECONDS = 2 * 60  # an SMS provider down longer than this ends the withdrawal

# R17 manual review: past this the withdrawal stays in review but is flagged for ops.
REVIEW_SLA_HOURS = 48
MAX_REVIEW_DECISIONS_RECORDED = 100  # ignored decisions beyond this are dropped from state

# Trust boundaries: what outside input may cost a withdrawal (docs/trust-model.md).
REVIEW_PROOF_TTL_SECONDS = 5 * 60  # a decision proof counts if received this soon after issue
REVIEW_PROOF_CLOCK_SKEW_SECONDS = 60  # an issuer's clock may run this far ahead
MAX_DECISION_PROOF_CHARS = 1024  # a proof is ~400 characters; more is not a proof
MAX_REVIEW_COMMENT_CHARS = 2000
MAX_DECISIONS_WAITING = 20  # signed decisions queued for the verifying activity
MAX_DECISIONS_VERIFIED = 50  # signed decisions a withdrawal verifies; ~2 is the real need
MAX_REFUSED_DECISIONS_RECORDED = 10  # refused decisions written to the ledger; the rest counted
MAX_CANCEL_REFUSALS = (
    10  # runs before issue 22: refused cancels checked; later ones refused at once
)
# A signed cancel the ``authorize_cancel`` activity refuses (a reviewer whose role may not
# cancel, a disabled reviewer) costs an activity: each person gets this many, later ones
# are refused by the update's validator (no history). A proof's nonce is spent once.
MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON = 3
# Since issue 22 the workflow checks a proof's signature itself, with the public keys one
# local activity loads: at once the first time, then again for a key id it does not know
# at most after these intervals (doubling), or once this many proofs wait for keys. A
# forged key id never costs more than that; a proof with a real one waits, never refused.
REVIEW_KEYS_REFRESH_FIRST_SECONDS = 60
REVIEW_KEYS_REFRESH_MAX_SECONDS = 60 * 60
MAX_PROOFS_AWAITING_KEYS = 50
# Reviewer sign-in: five failures in a row lock the reviewer for 15 minutes.
MAX_LOGIN_FAILURES = 5
LOGIN_LOCK_MINUTES = 15
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
SETTLEMENT_POLL_MAX_SECONDS = 15 * 60  # the pre-"payout-confirmed-by-lookup" workflow's cap
# Since the patch the polls are one activity's retries (nothing added to the history
# per poll), capped at an hour whatever the settlement's length.
SETTLEMENT_WATCH_MAX_INTERVAL_SECONDS = 60 * 60
# A payout whose outcome is unknown is looked up at a low rate until the provider answers
# or ops resolve it.
PAYOUT_UNKNOWN_WATCH_FIRST_SECONDS = 10 * 60
PAYOUT_UNKNOWN_WATCH_MAX_INTERVAL_SECONDS = 60 * 60
# Callbacks are hints: each one acted on costs a look-up at the provider, so only this
# many are taken (polling still settles it); ignored ones are counted, this many noted.
MAX_PAYOUT_CALLBACKS_TAKEN = 20
MAX_IGNORED_CALLBACK_NOTES = 5
# The callback receiver forwards at most this many callbacks to one withdrawal's workflow
# (each is a signal in its history); later ones are answered 200 and only counted. A
# transfer has at most three real notices (processing, final, a return), each delivered
# once or retried a few times: 20 is several times that, and what the workflow takes
# (MAX_PAYOUT_CALLBACKS_TAKEN) anyway. Polling settles the transfer whatever is held back.
MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL = 20

# Database activities retry quickly: a lock wait or a restart, never a business answer.
DATABASE_ACTIVITY_TIMEOUT_SECONDS = 30
# While the database is away a step tries again this often, for this long, inside one
# attempt (well within the timeout above): it resumes within a poll of the database's
# return instead of at Temporal's next retry, by then up to 30 s apart (issue 26).
DATABASE_AWAY_WAIT_SECONDS = 15
DATABASE_AWAY_POLL_SECONDS = 1

# The audit anchor (ledger.audit.anchor): how often the schedule runs it, and how long one
# run may take (it reads every chain's head: seconds at a million rows).
AUDIT_ANCHOR_INTERVAL_SECONDS = 300
AUDIT_ANCHOR_TIMEOUT_SECONDS = 120
# Webhooks: each event retried with exponential backoff for more than a day (Standard
# Webhooks receivers expect retries); env WEBHOOK_RETRY_* shortens them for tests.
WEBHOOK_RETRY_INITIAL_SECONDS = 10
WEBHOOK_RETRY_MAX_INTERVAL_SECONDS = 60 * 60
WEBHOOK_RETRY_TOTAL_HOURS = 25
WEBHOOK_CALL_TIMEOUT_SECONDS = 15
WEBHOOK_DISPATCH_POLL_SECONDS = 2.0  # the safety net; a commit wakes the dispatcher at once
WEBHOOK_DISPATCH_BATCH = 100

# Returns after success (issue 25). A return found while its withdrawal has not posted the
# hold yet (the withdrawal's workflow still runs and posts it on seeing the return) waits,
# retried from a few seconds up to every ten minutes, for at most this long.
RETURN_CREDIT_RETRY_FIRST_SECONDS = 2
RETURN_CREDIT_RETRY_MAX_INTERVAL_SECONDS = 10 * 60
RETURN_CREDIT_WAIT_DAYS = 30
