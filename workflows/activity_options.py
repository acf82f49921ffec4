"""Activity options as named presets (issue 23 item 2): how long each kind of step may
take and how it is retried, said once. The values are part of what running histories
recorded; change one only knowing that new schedules take the new value.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

from models.limits import (
    DATABASE_ACTIVITY_TIMEOUT_SECONDS,
    PAYOUT_RETRY_INITIAL_SECONDS,
    PAYOUT_RETRY_MAX_INTERVAL_SECONDS,
    PAYOUT_RETRY_TOTAL_HOURS,
    PAYOUT_UNKNOWN_WATCH_FIRST_SECONDS,
    PAYOUT_UNKNOWN_WATCH_MAX_INTERVAL_SECONDS,
    PROVIDER_CALL_TIMEOUT_SECONDS,
    SETTLEMENT_POLL_FIRST_SECONDS,
    SETTLEMENT_WATCH_MAX_INTERVAL_SECONDS,
    SMS_SEND_TOTAL_SECONDS,
)
from workflows.contract import TRANSFER_REJECTED

DATABASE_TIMEOUT = timedelta(seconds=DATABASE_ACTIVITY_TIMEOUT_SECONDS)
PROVIDER_CALL_TIMEOUT = timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS)
# Database activities retry until they succeed: their only failures are transient
# (locks, restarts); business refusals are non-retryable ApplicationErrors.
DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
PAYOUT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=PAYOUT_RETRY_INITIAL_SECONDS),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=PAYOUT_RETRY_MAX_INTERVAL_SECONDS),
    maximum_attempts=0,  # bounded by schedule_to_close (total time), not by a count
    non_retryable_error_types=[TRANSFER_REJECTED],
)
# The settlement wait: ``watch_payout``'s retries are the polls (no events per poll).
SETTLEMENT_WATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=SETTLEMENT_POLL_FIRST_SECONDS),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=SETTLEMENT_WATCH_MAX_INTERVAL_SECONDS),
    maximum_attempts=0,
)
PAYOUT_UNKNOWN_WATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=PAYOUT_UNKNOWN_WATCH_FIRST_SECONDS),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=PAYOUT_UNKNOWN_WATCH_MAX_INTERVAL_SECONDS),
    maximum_attempts=0,
)

# The presets: ``execute_activity_method(fn, arg, **DATABASE, summary=...)``.
# A ledger step: retried until it succeeds.
DATABASE: dict[str, Any] = {
    "start_to_close_timeout": DATABASE_TIMEOUT,
    "retry_policy": DATABASE_RETRY,
}
# One call to the payout provider (a look-up), retried on the payout schedule.
PROVIDER: dict[str, Any] = {
    "start_to_close_timeout": PROVIDER_CALL_TIMEOUT,
    "retry_policy": PAYOUT_RETRY,
}
# The submit: retried for at most ``PAYOUT_RETRY_TOTAL_HOURS``, then the outcome is unknown.
PAYOUT: dict[str, Any] = {
    "start_to_close_timeout": PROVIDER_CALL_TIMEOUT,
    "schedule_to_close_timeout": timedelta(hours=PAYOUT_RETRY_TOTAL_HOURS),
    "retry_policy": PAYOUT_RETRY,
}
# The SMS send: bounded by total time (R15: no code, no withdrawal).
SMS: dict[str, Any] = {
    "start_to_close_timeout": PROVIDER_CALL_TIMEOUT,
    "schedule_to_close_timeout": timedelta(seconds=SMS_SEND_TOTAL_SECONDS),
    "retry_policy": RetryPolicy(maximum_attempts=0),
}


def watch_options(*, until_final: bool) -> dict[str, Any]:
    """The settlement watch (polling until final) or the parked watch (slower)."""
    retry = SETTLEMENT_WATCH_RETRY if until_final else PAYOUT_UNKNOWN_WATCH_RETRY
    return {"start_to_close_timeout": PROVIDER_CALL_TIMEOUT, "retry_policy": retry}
