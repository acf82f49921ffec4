"""The service's own metrics, created through the process's Temporal runtime meter.

They appear on the same Prometheus endpoint as the SDK's ``temporal_…`` metrics
(``observability.runtime``). Labels are bounded enums only (status, route, kind,
provider, error kind, decision): never an id, an amount or anything personal, so the
number of series stays fixed however many withdrawals run.

Counters are emitted where an activity *first* writes a fact (a retry writes nothing
new and counts nothing); gauges are read from the database by ``observability.gauges``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import httpx
from temporalio.common import MetricMeter

from gateways.payout import TransferRejected
from gateways.sms import SmsRejected

# Metric names (docs/interface.md: ``withdrawals_finished_total`` by ``status``). Counters get
# ``_total`` from the exporter (``counters_total_suffix``).
WITHDRAWALS_STARTED = "withdrawals_started"
WITHDRAWALS_FINISHED = "withdrawals_finished"
PAYOUT_LATENCY = "withdrawal_payout_latency_seconds"
REVIEW_TIME = "withdrawal_review_time_seconds"
PROVIDER_ERRORS = "withdrawal_provider_errors"
SMS_SENT = "withdrawal_sms_sent"
MONEY_HELD = "withdrawal_money_held_fen"
IN_FLIGHT = "withdrawals_in_flight"
REVIEW_QUEUE = "withdrawal_review_queue_depth"
REVIEW_OVERDUE = "withdrawal_review_overdue"
SETTLEMENT_LATE = "withdrawal_settlement_past_arrival"
PAYOUT_UNKNOWN = "withdrawal_payout_unknown"
WEBHOOK_DELIVERIES_FAILED = "withdrawal_webhook_deliveries_failed"
# Returns after success (issue 25), by outcome (credited, parked) and provider reason.
WITHDRAWALS_RETURNED = "withdrawals_returned"

# Histogram buckets in seconds: payouts settle in seconds (instant channels) to days
# (R7/R9 business days); reviews have a 48-hour SLA (models.limits.REVIEW_SLA_HOURS).
PAYOUT_LATENCY_BUCKETS_SECONDS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400)
REVIEW_TIME_BUCKETS_SECONDS = (60, 600, 3600, 4 * 3600, 12 * 3600, 86400, 48 * 3600, 96 * 3600)
HISTOGRAM_BUCKETS: Mapping[str, list[float]] = {
    PAYOUT_LATENCY: [float(b) for b in PAYOUT_LATENCY_BUCKETS_SECONDS],
    REVIEW_TIME: [float(b) for b in REVIEW_TIME_BUCKETS_SECONDS],
}

PROVIDER_PAYOUT = "payout"
PROVIDER_SMS = "sms"


def error_kind(error: BaseException) -> str:
    """A provider failure as one of a few fixed words (a bounded label)."""
    if isinstance(error, TransferRejected | SmsRejected):
        return "rejected"
    cause = error.__cause__
    if isinstance(cause, httpx.TimeoutException):
        return "timeout"
    if isinstance(cause, httpx.RequestError):
        return "unreachable"
    return "error"


class WithdrawalMetrics:
    """Every business metric of the service, bound to one meter.

    ``WithdrawalMetrics()`` records nothing (the noop meter): activities built in tests
    or tools without a runtime need no metrics set up.
    """

    def __init__(self, meter: MetricMeter | None = None) -> None:
        meter = meter or MetricMeter.noop
        self._started = meter.create_counter(
            WITHDRAWALS_STARTED, "withdrawals opened (money frozen), by route and kind"
        )
        self._finished = meter.create_counter(
            WITHDRAWALS_FINISHED, "withdrawals that reached a final status, by status"
        )
        self._payout_latency = meter.create_histogram_float(
            PAYOUT_LATENCY, "payout submitted to final provider answer", "s"
        )
        self._review_time = meter.create_histogram_float(
            REVIEW_TIME, "entering review to the deciding approval or rejection", "s"
        )
        self._provider_errors = meter.create_counter(
            PROVIDER_ERRORS, "failed provider calls, by provider and kind of error"
        )
        self._sms_sent = meter.create_counter(SMS_SENT, "verification codes handed to SMS")
        self._returned = meter.create_counter(
            WITHDRAWALS_RETURNED, "paid withdrawals the provider returned, by outcome and reason"
        )
        # Integer fen, like the ledger: a metric is no reason to put money in a float.
        self._money_held = meter.create_gauge(
            MONEY_HELD, "money frozen by withdrawals in flight, in fen"
        )
        self._in_flight = meter.create_gauge(IN_FLIGHT, "withdrawals not yet final, by status")
        self._review_queue = meter.create_gauge(REVIEW_QUEUE, "withdrawals waiting for review")
        self._review_overdue = meter.create_gauge(
            REVIEW_OVERDUE, "withdrawals waiting for review past their SLA (R17)"
        )
        self._settlement_late = meter.create_gauge(
            SETTLEMENT_LATE, "payouts not settled past their expected arrival (R7/R9)"
        )
        self._payout_unknown = meter.create_gauge(
            PAYOUT_UNKNOWN, "payouts whose outcome is unknown, money held until resolved"
        )
        self._webhook_failed = meter.create_gauge(
            WEBHOOK_DELIVERIES_FAILED, "webhook deliveries that gave up after their window"
        )

    # ---- events, from activities ------------------------------------------------------
    def withdrawal_started(self, *, route: str, kind: str) -> None:
        self._started.add(1, {"route": route, "kind": kind})

    def withdrawal_finished(self, *, status: str, route: str, kind: str) -> None:
        self._finished.add(1, {"status": status, "route": route, "kind": kind})

    def payout_finished(self, *, route: str, status: str, latency: timedelta) -> None:
        seconds = max(0.0, latency.total_seconds())
        self._payout_latency.record(seconds, {"route": route, "status": status})

    def review_decided(self, *, decision: str, waited: timedelta) -> None:
        self._review_time.record(max(0.0, waited.total_seconds()), {"decision": decision})

    def withdrawal_returned(self, *, outcome: str, reason: str) -> None:
        """Counted once per return, where it is first written (``reason``: a fixed list)."""
        self._returned.add(1, {"outcome": outcome, "reason": reason})

    def provider_error(self, *, provider: str, error: BaseException) -> None:
        self._provider_errors.add(1, {"provider": provider, "kind": error_kind(error)})

    def sms_sent(self) -> None:
        self._sms_sent.add(1)

    # ---- levels, from the database ------------------------------------------------------
    def set_money_held(self, fen: int) -> None:
        self._money_held.set(fen)

    def set_in_flight(self, status: str, count: int) -> None:
        self._in_flight.set(count, {"status": status})

    def set_review_queue(self, waiting: int, overdue: int) -> None:
        self._review_queue.set(waiting)
        self._review_overdue.set(overdue)

    def set_settlement_late(self, count: int) -> None:
        self._settlement_late.set(count)

    def set_payout_unknown(self, count: int) -> None:
        self._payout_unknown.set(count)

    def set_webhook_deliveries_failed(self, count: int) -> None:
        self._webhook_failed.set(count)
