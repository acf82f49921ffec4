"""In-process fakes of the payout and SMS providers for workflow and activity tests.

Plain Python with no I/O, safe to share between a test and a Temporal worker in the
same process (a lock guards the state, in case an activity runs in a thread).
``FakePayoutProvider`` follows the same magic payee rules as the HTTP simulator
(``standins.magic_payees``) and counts money movements per key, so a test can assert
that a withdrawal moved money exactly once however often it was retried.

It keeps transfers as a provider would, with free-text reasons; what it hands the service
(``submit``, ``lookup``, ``parse_callback``, ``list_transfers``, refusals) is mapped to
``models.provider_reasons`` as any adapter must (``gateways.payout.as_received``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateways.payout import (
    KeyConflict,
    ReturnReason,
    Transfer,
    TransferRequest,
    TransferState,
    TransientProviderError,
    as_received,
    refusal,
    request_payee_digest,
)
from gateways.sms import SmsError
from gateways.sms_messages import InboxMessage
from models.money import Money
from standins.magic_payees import (
    CONFLICTING_KEY_REASON,
    failure_after_accept,
    listed,
    refusal_at_submit,
    return_after_success,
    returned,
    same_details,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _FakeTransfer:
    request: TransferRequest
    transfer: Transfer


class FakePayoutProvider:
    """A ``PayoutProvider`` that keeps transfers in a dict and settles when told to.

    ``auto_settle=True`` settles every accepted transfer at once (success, or the magic
    failure); otherwise transfers stay ``processing`` until ``settle``/``fail``.
    """

    def __init__(
        self, *, auto_settle: bool = False, now: Callable[[], datetime] = _utc_now
    ) -> None:
        self.auto_settle = auto_settle
        self._now = now
        self._lock = threading.Lock()
        self._transfers: dict[str, _FakeTransfer] = {}
        self._moved: dict[str, int] = {}
        self._failing_submits = 0
        self._dropping_responses = 0
        self._failing_lookups = 0
        self._hidden_lookups = 0
        # Some providers answer a reused key with the first transfer instead of a 409.
        self.answers_reused_keys_with_first = False
        self.submit_calls = 0
        self.lookup_calls = 0

    # ---- scripting ----------------------------------------------------------------------
    def fail_next_submits(self, count: int = 1) -> None:
        """The next ``count`` submits raise ``TransientProviderError`` before storing."""
        with self._lock:
            self._failing_submits += count

    def drop_next_responses(self, count: int = 1) -> None:
        """Commit then raise: the next ``count`` submits store the transfer (money moves)
        and then raise ``TransientProviderError``, like a response lost on the wire."""
        with self._lock:
            self._dropping_responses += count

    def fail_next_lookups(self, count: int = 1) -> None:
        with self._lock:
            self._failing_lookups += count

    def hide_from_next_lookups(self, count: int = 1) -> None:
        """A stale read: the next ``count`` look-ups answer None for a transfer it holds."""
        with self._lock:
            self._hidden_lookups += count

    def recover(self) -> None:
        """Every injected failure still pending is dropped: the provider works again."""
        with self._lock:
            self._failing_submits = self._dropping_responses = 0
            self._failing_lookups = self._hidden_lookups = 0

    def rewrite(self, key: str, **fields: object) -> Transfer:
        """The provider's record under ``key`` changes (a provider fault, or fraud): the
        workflow must notice it no longer matches."""
        with self._lock:
            known = self._known(key)
            known.transfer = known.transfer.model_copy(update=fields)
            return known.transfer

    # ---- PayoutProvider -----------------------------------------------------------------
    async def submit(self, request: TransferRequest) -> Transfer:
        with self._lock:
            self.submit_calls += 1
            if self._failing_submits > 0:
                self._failing_submits -= 1
                raise TransientProviderError("fake: injected failure before commit")
            transfer = self._accept(request)
            if self._dropping_responses > 0:
                self._dropping_responses -= 1
                raise TransientProviderError("fake: response dropped after commit")
            return as_received(transfer)

    async def lookup(self, idempotency_key: str) -> Transfer | None:
        with self._lock:
            self.lookup_calls += 1
            if self._failing_lookups > 0:
                self._failing_lookups -= 1
                raise TransientProviderError("fake: injected lookup failure")
            if self._hidden_lookups > 0:
                self._hidden_lookups -= 1
                return None
            known = self._transfers.get(idempotency_key)
            return as_received(known.transfer) if known else None

    def parse_callback(self, body: bytes) -> Transfer:
        return as_received(Transfer.model_validate_json(body))

    # ---- settlement on demand -----------------------------------------------------------
    def settle(self, key: str) -> Transfer:
        """Settle a processing transfer: success, unless a magic payee fails it (the
        provider's own record, free text and all: the service sees it through ``lookup``)."""
        with self._lock:
            known = self._known(key)
            return self._finish(key, failure_after_accept(known.request))

    def fail(self, key: str, reason: str) -> Transfer:
        """Fail a processing transfer after acceptance with ``reason``."""
        with self._lock:
            self._known(key)
            return self._finish(key, reason)

    def return_transfer(
        self, key: str, reason: ReturnReason | None = None, amount: Money | None = None
    ) -> Transfer:
        """The payee's bank sends a succeeded transfer back (issue 25): the magic payee's
        reason unless ``reason`` is given; ``amount``: a return of another figure."""
        with self._lock:
            known = self._known(key)
            if known.transfer.state is not TransferState.SUCCEEDED:
                return known.transfer  # only a paid transfer is returned, once
            why = reason or return_after_success(known.request) or ReturnReason.OTHER
            known.transfer = returned(known.transfer, why, self._now())
            if amount is not None:
                known.transfer = known.transfer.model_copy(update={"returned_amount": amount})
            return known.transfer

    def callback_body(self, key: str) -> bytes:
        """The notification the HTTP simulator would POST for this transfer now."""
        with self._lock:
            return self._known(key).transfer.model_dump_json().encode("utf-8")

    # ---- assertions ---------------------------------------------------------------------
    def moved_count(self, key: str) -> int:
        """How many times money moved under ``key``: 0 or 1, or the fake is broken."""
        with self._lock:
            return self._moved.get(key, 0)

    def total_moved(self) -> int:
        with self._lock:
            return sum(self._moved.values())

    def transfers(self) -> list[Transfer]:
        with self._lock:
            return [known.transfer for known in self._transfers.values()]

    async def list_transfers(
        self,
        limit: int = 1000,
        *,
        state: TransferState | None = None,
        updated_since: datetime | None = None,
    ) -> list[Transfer]:
        """Same as ``HttpPayoutProvider.list_transfers``, for reconciliation tests."""
        return listed([as_received(t) for t in self.transfers()], limit, state, updated_since)

    def request_for(self, key: str) -> TransferRequest | None:
        with self._lock:
            known = self._transfers.get(key)
            return known.request if known else None

    # ---- internals (called with the lock held) ------------------------------------------
    def _accept(self, request: TransferRequest) -> Transfer:
        key = request.idempotency_key
        known = self._transfers.get(key)
        if known is not None:
            if not same_details(known.request, request) and not self.answers_reused_keys_with_first:
                raise KeyConflict(CONFLICTING_KEY_REASON)
            return known.transfer  # the first result, never a second movement
        refused = refusal_at_submit(request, self._now())
        if refused is not None:
            raise refusal(refused)
        transfer = Transfer(
            idempotency_key=key,
            state=TransferState.PROCESSING,
            amount=request.amount,
            payee_digest=request_payee_digest(request),
            route=request.route,
            provider_reference=f"fake-{len(self._transfers) + 1:06d}",
            updated_at=self._now(),
        )
        self._transfers[key] = _FakeTransfer(request=request, transfer=transfer)
        self._moved[key] = self._moved.get(key, 0) + 1
        assert self._moved[key] == 1, f"money moved twice under {key}"
        if self.auto_settle:
            return self._finish(key, failure_after_accept(request))
        return transfer

    def _known(self, key: str) -> _FakeTransfer:
        known = self._transfers.get(key)
        if known is None:
            raise KeyError(f"fake payout provider never accepted {key!r}")
        return known

    def _finish(self, key: str, failure: str | None) -> Transfer:
        known = self._transfers[key]
        if known.transfer.state is not TransferState.PROCESSING:
            return known.transfer  # settled transfers are immutable
        known.transfer = known.transfer.model_copy(
            update={
                "state": TransferState.FAILED if failure else TransferState.SUCCEEDED,
                "reason": failure,
                "updated_at": self._now(),
            }
        )
        return known.transfer


@dataclass(frozen=True)
class SentSms:
    phone: str
    text: str
    at: datetime


class FakeSmsProvider:
    """An ``SmsProvider`` that records what it delivered, per phone."""

    def __init__(self, *, now: Callable[[], datetime] = _utc_now) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._by_phone: dict[str, list[SentSms]] = {}
        self._keys: set[str] = set()
        self._failing_sends = 0
        self._delivering_failures = 0
        self.send_calls = 0

    def fail_next_sends(self, count: int = 1) -> None:
        """The next ``count`` sends raise ``SmsError`` and deliver nothing."""
        with self._lock:
            self._failing_sends += count

    def deliver_then_fail_next_sends(self, count: int = 1) -> None:
        """A flaky gateway: the next ``count`` sends reach the phone, then answer with an
        error (the worst case for counting what a phone received)."""
        with self._lock:
            self._delivering_failures += count

    async def send(self, phone: str, text: str, *, idempotency_key: str) -> None:
        with self._lock:
            self.send_calls += 1
            if self._failing_sends > 0:
                self._failing_sends -= 1
                raise SmsError("fake: injected SMS failure")
            if idempotency_key in self._keys:
                return  # same key delivers once
            self._keys.add(idempotency_key)
            self._by_phone.setdefault(phone, []).append(SentSms(phone, text, self._now()))
            if self._delivering_failures > 0:
                self._delivering_failures -= 1
                raise SmsError("fake: delivered, then the answer failed")

    def sent(self, phone: str) -> list[SentSms]:
        """Messages to ``phone``, newest first."""
        with self._lock:
            return list(reversed(self._by_phone.get(phone, [])))

    def inbox(self, phone: str) -> list[InboxMessage]:
        """What ``sms-inbox`` shows for ``phone``: newest first, code extracted."""
        return [InboxMessage.of(sent.text, sent.at) for sent in self.sent(phone)]

    def last_code(self, phone: str) -> str | None:
        """The code in the newest message to ``phone`` that has one."""
        for message in self.inbox(phone):
            if message.code is not None:
                return message.code
        return None
