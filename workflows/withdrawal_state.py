"""The state ``WithdrawalWorkflow`` keeps between commands, grouped by concern.

Plain dataclasses: they hold what the workflow has seen and decided, and issue no
commands themselves (all reads and writes happen in the workflow, on its own loop).
``Record`` (what the withdrawal shows: status, reason, flags, timeline, published
search attributes) is written by ``StatusRoom.transition`` alone
(``workflows/rooms/status_record.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateways.payout import Transfer
from models import decision_proof
from models.domain import Status, TimelineEntry
from models.limits import (
    MAX_CODE_ATTEMPTS,
    REVIEW_KEYS_REFRESH_FIRST_SECONDS,
    REVIEW_KEYS_REFRESH_MAX_SECONDS,
)
from models.messages import (
    CancelRequest,
    PayoutResolutionVerdict,
    RecordedDecision,
    ReviewDecision,
    ReviewDecisionKind,
    StatusChange,
)


@dataclass
class Record:
    """What the withdrawal shows (status document, search attributes, Web UI details)."""

    status: Status
    timeline: list[TimelineEntry]
    reason: str | None = None
    review_overdue: bool = False
    payout_unknown: bool = False  # parked: money held until the provider or ops answer
    # what the search attributes say now (status, review required, overdue, unknown);
    # the client set these at start
    published: tuple[Status, bool, bool, bool] = (Status.VERIFYING, False, False, False)
    # PATCH_STATUS_WITH_STEP, decided at the first carried change (None: not yet)
    carries: bool | None = None
    # A change an activity wrote to the ledger in its own transaction before ``run``
    # reaches it: the transition that makes it skips its ``record_status``.
    ahead: StatusChange | None = None
    # PATCH_CARRIED_STATUS_ACKNOWLEDGED, decided at the first answer to a decision that
    # carried a status (None: not yet)
    acknowledged: bool | None = None


@dataclass
class CodeState:
    """R15: the SMS verification code."""

    attempts_left: int = MAX_CODE_ATTEMPTS
    verified: bool = False
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    sends: int = 0
    checks: int = 0  # every check, right or wrong: the ledger's attempt key
    carrying: bool = False  # a check in flight that writes the next status if right
    answered: bool | None = None  # PATCH_CODE_CHECK_ANSWERED, once asked
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one send or check at a time


class ReceivedDecision(NamedTuple):
    """A review decision waiting to be weighed by the ``review_decision`` activity."""

    kind: ReviewDecisionKind
    decision: ReviewDecision
    at: datetime


class RefusedDecision(NamedTuple):
    """A decision the signal handler refused, waiting to be recorded."""

    kind: ReviewDecisionKind
    decision: ReviewDecision
    at: datetime
    why: str


@dataclass
class ReviewState:
    """R17: decisions received, weighed and recorded, and the outcome.

    Outside input is bounded (docs/trust-model.md): refused decisions are counted, the
    first few recorded; proofs in flight and nonces seen are capped."""

    inbox: list[ReceivedDecision] = field(default_factory=list)
    checks_proofs: bool | None = None  # PATCH_REVIEW_PROOFS, decided at the first decision
    settles: bool | None = None  # PATCH_REVIEW_WAIT_SETTLES, decided at the first SLA wait
    refusals_pending: list[RefusedDecision] = field(default_factory=list)
    refusals_queued: int = 0  # refusals taken for recording (pending or recorded)
    refused: int = 0  # every refused decision, recorded or only counted
    proofs_accepted: int = 0
    nonces_seen: set[str] = field(default_factory=set)
    decisions: list[RecordedDecision] = field(default_factory=list)  # the first few
    weighed: int = 0  # including those beyond MAX_REVIEW_DECISIONS_RECORDED
    approvers: list[str] = field(default_factory=list)  # accepted, each reviewer once
    # the people behind ``approvers`` (``models.authority.person_of``), as the activity
    # named them; shorter than ``approvers`` when an approval was weighed before issue 22
    approver_people: list[str] = field(default_factory=list)
    outcome: RecordedDecision | None = None


@dataclass
class ProofKeys:
    """The reviewers' public keys this run checks proof signatures with (issue 22),
    loaded by the ``review_verify_keys`` local activity when a proof names a key the run
    does not know: at once the first time, later at most once per refresh interval
    (doubling up to the cap) or once ``MAX_PROOFS_AWAITING_KEYS`` proofs wait."""

    # PATCH_PROOFS_VERIFIED_BY_WORKFLOW, decided at the first decision or cancel
    decided: bool | None = None
    # PATCH_REVIEW_KEYS_BY_ACTIVITY, decided at the first load
    by_activity: bool | None = None
    by_kid: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    loads: int = 0
    loaded_at: datetime | None = None
    loading: bool = False
    timing: bool = False  # one waiter holds the timer until the next load is due
    waiting: int = 0  # decisions waiting for a load

    def knows(self, kid: str | None) -> bool:
        """A proof naming no key (issued before proofs named theirs) tries every key."""
        return kid in self.by_kid if kid is not None else bool(self.by_kid)

    def listed(self) -> list[Ed25519PublicKey]:
        return list(self.by_kid.values())

    def took(self, keys: list[str], at: datetime) -> None:
        """The worker's list replaces what was known: a retired key stops counting."""
        loaded = [decision_proof.public_key_from_raw_text(text) for text in keys]
        self.by_kid = {decision_proof.key_id(key): key for key in loaded}
        self.loads += 1
        self.loaded_at = at

    def wait_before_load(self, now: datetime) -> timedelta:
        """How long until a load for an unknown key id is due (zero or less: now)."""
        if self.loaded_at is None:
            return timedelta(0)
        seconds = min(
            REVIEW_KEYS_REFRESH_FIRST_SECONDS * 2 ** (self.loads - 1),
            REVIEW_KEYS_REFRESH_MAX_SECONDS,
        )
        return self.loaded_at + timedelta(seconds=seconds) - now


@dataclass
class CancelState:
    requested: CancelRequest | None = None  # an authorised cancel, acted on by ``run``
    checking: bool = False  # ``authorize_cancel`` in flight
    refusals: int = 0
    # PATCH_SIGNED_CANCELS_CAPPED, decided at the first cancel the workflow verifies
    # (None: not yet, a cancel arriving now takes the new path)
    caps_signed: bool | None = None
    # signed cancels the activity refused, per person; and each reviewer id's person, as
    # the activity named it (a reviewer id not named yet counts as its own person)
    signed_refusals: dict[str, int] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def person(self, reviewer_id: str) -> str:
        return self.people.get(reviewer_id, f"reviewer {reviewer_id}")

    def signed_refused(self, reviewer_id: str, person: str | None) -> None:
        if person is not None:
            self.people[reviewer_id] = person
        key = self.person(reviewer_id)
        self.signed_refusals[key] = self.signed_refusals.get(key, 0) + 1

    def signed_refusals_of(self, reviewer_id: str) -> int:
        """Signed cancels refused so far of this reviewer id's person
        (``workflows.core.cancel.used_up_problem`` caps them)."""
        return self.signed_refusals.get(self.person(reviewer_id), 0)


@dataclass
class PayoutState:
    # PATCH_PAYOUT_CONFIRMED (None: not decided yet, before ``run`` starts)
    confirmed: bool | None = None
    sent: bool = False  # from here on the money may be moving: no cancel
    submitted: bool = False  # no callback counts before this
    transfer: Transfer | None = None  # what the status document shows
    callback_hint: Transfer | None = None  # a callback waiting for its look-up
    callbacks_taken: int = 0
    callbacks_ignored: int = 0
    resolution: PayoutResolutionVerdict | None = None  # ops' answer to an unknown outcome
    # The provider's record that did not match, as noted when the payout was parked; while
    # set, the watch takes a mismatch as "not yet" (it was reported once already).
    mismatch: str | None = None
    # PATCH_PARKED_UNTIL_FINAL, decided the first time it matters (None: not yet): while
    # parked on a mismatch, only a final matching record unparks the payout.
    until_final: bool | None = None


@dataclass(frozen=True)
class Change:
    """One step of the ``Record``, applied by ``StatusRoom.transition``: a line
    for the timeline and whatever changes with it (``None``: left as it is)."""

    note: str
    status: Status | None = None
    reason: str | None = None
    review_overdue: bool | None = None
    payout_unknown: bool | None = None
    # The status the line is filed under, when not the current one: an update handler
    # noting its own step (a code check, a resend, a resolution) after an activity,
    # while the run may have moved on meanwhile.
    phase: Status | None = None
    # The ledger records it too: the ``record_status`` activity (a local activity in runs
    # before ``no-local-activities``), with this summary.
    record: str | None = None
    # Refresh search attributes and Web UI details although neither status nor flag
    # changed (something else they show may have moved, e.g. the approvals).
    publish: bool = False

    @classmethod
    def to_status(cls, status: Status, note: str, reason: str | None = None) -> Change:
        """A step of ``run`` to ``status``, recorded in the ledger's row as well."""
        return cls(note, status=status, reason=reason, record=f"record status {status.value}")
