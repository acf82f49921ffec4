"""The payout simulator's own record of transfers: accept once, settle once.

Pure state with no I/O and no awaits, so each method runs atomically on the
simulator's event loop. The invariant the whole service leans on lives here: one key
moves money at most once, and a settled transfer never changes again.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from gateways.payout import (
    ReturnReason,
    Transfer,
    TransferRequest,
    TransferState,
    request_payee_digest,
)
from models.masks import mask_account_number
from standins.magic_payees import (
    CONFLICTING_KEY_REASON,
    failure_after_accept,
    listed,
    refusal_at_submit,
    return_after_success,
    returned,
    same_details,
)

log = logging.getLogger("standins.simulators.payout")

# Enough for any demo or benchmark; beyond it the simulator refuses rather than
# growing without bound.
MAX_TRANSFERS = 200_000


class Refused(Exception):
    """The simulator refuses the request; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Record:
    request: TransferRequest
    transfer: Transfer
    accepted: Transfer  # the first 'processing' view, replayed as a stale callback
    settle_due_monotonic: float
    failure: str | None  # decided at acceptance: magic payee or injected fault
    # Decided at acceptance too (magic payee): a succeeded transfer is returned this many
    # seconds after it settled (issue 25).
    return_reason: ReturnReason | None = None
    return_after_seconds: float = 0.0
    return_due_monotonic: float | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class PayoutBook:
    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._movements: dict[str, int] = {}
        self._references = itertools.count(1)

    def accept(
        self,
        request: TransferRequest,
        delay_seconds: float,
        injected_failure: str | None,
        return_after_seconds: float = 0.0,
    ) -> tuple[Record, bool]:
        """Record and move the money for a new key; return ``(record, is_new)``.

        A known key returns its first record untouched; a known key with other details
        is refused with 409 rather than silently answered with the wrong transfer.
        """
        key = request.idempotency_key
        known = self._records.get(key)
        if known is not None:
            if not same_details(known.request, request):
                raise Refused(409, CONFLICTING_KEY_REASON)
            return known, False
        refusal = refusal_at_submit(request, _now())
        if refusal is not None:
            raise Refused(422, refusal)
        if len(self._records) >= MAX_TRANSFERS:
            raise Refused(503, "simulator store full")
        transfer = Transfer(
            idempotency_key=key,
            state=TransferState.PROCESSING,
            amount=request.amount,
            payee_digest=request_payee_digest(request),
            route=request.route,
            provider_reference=f"sim-{next(self._references):08d}",
            updated_at=_now(),
        )
        record = Record(
            request=request,
            transfer=transfer,
            accepted=transfer,
            settle_due_monotonic=time.monotonic() + delay_seconds,
            failure=failure_after_accept(request) or injected_failure,
            return_reason=return_after_success(request),
            return_after_seconds=return_after_seconds,
        )
        self._records[key] = record
        self._movements[key] = self._movements.get(key, 0) + 1
        if self._movements[key] != 1:  # the simulator exists to prove this never happens
            raise AssertionError(f"money moved twice under {key}")
        log.info(
            "accepted transfer key=%s route=%s payee=%s amount=%s",
            key,
            request.route.value,
            mask_account_number(request.payee.account_number) if request.payee else "original",
            request.amount,
        )
        return record, True

    def get(self, key: str) -> Record | None:
        return self._records.get(key)

    def settle_if_due(self, key: str) -> bool:
        """Settle ``key`` if its time has come; True only on the transition itself."""
        record = self._records.get(key)
        if record is None or record.transfer.state is not TransferState.PROCESSING:
            return False
        if time.monotonic() < record.settle_due_monotonic:
            return False
        record.transfer = record.transfer.model_copy(
            update={
                "state": TransferState.FAILED if record.failure else TransferState.SUCCEEDED,
                "reason": record.failure,
                "updated_at": _now(),
            }
        )
        if record.transfer.state is TransferState.SUCCEEDED and record.return_reason:
            record.return_due_monotonic = time.monotonic() + record.return_after_seconds
        log.info("settled transfer key=%s state=%s", key, record.transfer.state.value)
        return True

    def return_if_due(self, key: str) -> bool:
        """Return a succeeded transfer whose return is due; True only on the transition.
        A returned record never changes again."""
        record = self._records.get(key)
        if record is None or record.transfer.state is not TransferState.SUCCEEDED:
            return False
        due = record.return_due_monotonic
        if record.return_reason is None or due is None or time.monotonic() < due:
            return False
        record.transfer = returned(record.transfer, record.return_reason, _now())
        log.info("returned transfer key=%s reason=%s", key, record.return_reason.value)
        return True

    def returns_due(self) -> list[str]:
        now = time.monotonic()
        return [
            key
            for key, record in self._records.items()
            if record.transfer.state is TransferState.SUCCEEDED
            and record.return_due_monotonic is not None
            and record.return_due_monotonic <= now
        ]

    def due_keys(self) -> list[str]:
        now = time.monotonic()
        return [
            key
            for key, record in self._records.items()
            if record.transfer.state is TransferState.PROCESSING
            and record.settle_due_monotonic <= now
        ]

    def transfers(
        self,
        limit: int,
        state: TransferState | None = None,
        updated_since: datetime | None = None,
    ) -> list[Transfer]:
        if state is None and updated_since is None:
            return [r.transfer for r in itertools.islice(self._records.values(), limit)]
        every = [record.transfer for record in self._records.values()]
        return listed(every, limit, state, updated_since)

    def stats(self) -> dict[str, object]:
        by_state: dict[str, int] = {state.value: 0 for state in TransferState}
        for record in self._records.values():
            by_state[record.transfer.state.value] += 1
        return {
            "transfers": len(self._records),
            "total_movements": sum(self._movements.values()),
            "movements": dict(self._movements),
            "by_state": by_state,
        }
