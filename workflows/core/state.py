"""What the decision core knows, what it hears and what it asks for: plain frozen
dataclasses, no Temporal, no I/O (``workflows.core.decide`` is the logic)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Money(StrEnum):
    """Where a withdrawal's money is: exactly one place at a time."""

    NOT_FROZEN = "not_frozen"  # refused at open: nothing was ever held
    HELD = "held"
    POSTED = "posted"  # paid out
    RELEASED = "released"  # back in the withdrawable balance (R19)
    RETURNED = "returned"  # posted, then credited back once when the provider returned it


class Phase(StrEnum):
    OPENING = "opening"
    CODE = "code"
    REVIEW = "review"
    PAYOUT = "payout"
    ENDED = "ended"


class RecordState(StrEnum):
    """A provider record's state as the core sees it (``gateways.payout.TransferState``
    plus ``returned``: paid, then sent back by the provider)."""

    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETURNED = "returned"


class Proof(StrEnum):
    """What the proof check said of a review decision (``models.decision_proof``)."""

    VALID = "valid"
    MISSING = "missing"
    FORGED = "forged"
    STALE = "stale"
    MISDIRECTED = "misdirected"


# ---- events: what the core hears --------------------------------------------------
@dataclass(frozen=True)
class Opened:
    review_required: bool
    approvals_required: int = 1
    applicants: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OpenRefused:
    why: str


@dataclass(frozen=True)
class CodeSent:
    expires_at: datetime


@dataclass(frozen=True)
class CodeNotSent:
    pass


@dataclass(frozen=True)
class CodeChecked:
    right: bool


@dataclass(frozen=True)
class TimerFired:
    name: str  # one of ``decide.TIMERS``


@dataclass(frozen=True)
class DecisionArrived:
    approve: bool
    identity: str  # the person behind the reviewer id (issue 22: people, not ids)
    proof: Proof
    nonce: str
    role_allowed: bool = True  # the reviewer's role may decide this withdrawal


@dataclass(frozen=True)
class CancelArrived:
    by: str  # an account, or the person behind a reviewer id
    authorised: bool
    nonce: str | None = None  # a reviewer's signed cancel: its proof's nonce (spent once)


@dataclass(frozen=True)
class SubmitAnswered:
    """``submit_payout_checked``'s answer: ``refused`` (nothing sent), ``lost`` (retries
    ran out: the outcome is unknown), or the provider's record and the one check's word."""

    refused: str | None = None
    lost: bool = False
    state: RecordState | None = None
    problem: str | None = None


@dataclass(frozen=True)
class RecordLooked:
    """A watch or look-up answer: the record's state (None: the provider knows no
    transfer) and the one check's problem (None: it matches)."""

    state: RecordState | None
    problem: str | None = None


@dataclass(frozen=True)
class CallbackArrived:
    """A provider callback: only a hint that prompts a look-up."""

    state: RecordState
    for_this_withdrawal: bool = True


@dataclass(frozen=True)
class ResolutionArrived:
    """``resolve-payout`` by an authenticated person; ``provider_holds_match``: the
    activity found a matching transfer at the provider (a ``--not-paid`` is refused)."""

    paid: bool
    identity: str
    authorised: bool
    provider_holds_match: bool = False
    reference: str | None = None


Event = (
    Opened
    | OpenRefused
    | CodeSent
    | CodeNotSent
    | CodeChecked
    | TimerFired
    | DecisionArrived
    | CancelArrived
    | SubmitAnswered
    | RecordLooked
    | CallbackArrived
    | ResolutionArrived
)
# Events that reach the run from outside (signals and updates): the history bound's c.
OUTSIDE_INPUTS = (CodeChecked, DecisionArrived, CancelArrived, CallbackArrived, ResolutionArrived)


# ---- commands: what the core asks the shell to run --------------------------------
@dataclass(frozen=True)
class SendCode:
    pass


@dataclass(frozen=True)
class StartTimer:
    name: str
    at: datetime


@dataclass(frozen=True)
class RecordStatus:
    status: str
    note: str


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class WeighDecision:
    """The ``review_decision`` activity verifies, weighs and records one decision (its
    verdict is what the ``DecisionArrived`` event carried)."""

    identity: str
    approve: bool


@dataclass(frozen=True)
class SubmitPayout:
    key: str  # always the withdrawal id


@dataclass(frozen=True)
class WatchPayout:
    until_final: bool  # a matching ``processing`` record is not news
    # a record that does not match is news (False once parked on it: reported already)
    report_mismatch: bool = True


@dataclass(frozen=True)
class LookUp:
    pass


@dataclass(frozen=True)
class PostHold:
    why: str
    reference: str | None = None


@dataclass(frozen=True)
class ReleaseHold:
    why: str


@dataclass(frozen=True)
class CreditReturn:
    why: str


Command = (
    SendCode
    | StartTimer
    | RecordStatus
    | Note
    | WeighDecision
    | SubmitPayout
    | WatchPayout
    | LookUp
    | PostHold
    | ReleaseHold
    | CreditReturn
)


@dataclass(frozen=True)
class Core:
    """One withdrawal as the core sees it; ``decide.step`` returns the next one."""

    withdrawal_id: str
    phase: Phase = Phase.OPENING
    money: Money = Money.NOT_FROZEN  # ``open_withdrawal`` froze it when Opened arrives
    held_for: str = ""  # the visible reason while the money is held
    status: str = "verifying"
    reason: str | None = None
    review_required: bool = False
    approvals_required: int = 1
    applicants: frozenset[str] = frozenset()
    code_attempts_left: int = 0
    code_expires_at: datetime | None = None
    approvers: tuple[str, ...] = ()  # identities, each once, each with a verified proof
    # signed decisions taken before the review began (or after it ended): the signal
    # handler queues them, the review weighs them in order once it begins, a cancel or
    # the end drops them (``MAX_DECISIONS_WAITING`` wait at most)
    decisions_waiting: tuple[DecisionArrived, ...] = ()
    nonces_seen: frozenset[str] = frozenset()
    proofs_accepted: int = 0  # signed decisions taken (``MAX_DECISIONS_VERIFIED``)
    review_deadline: datetime | None = None  # the review SLA (``REVIEW_SLA_HOURS``)
    review_overdue: bool = False
    submitted: bool = False  # from here on the money may be moving: no cancel
    submit_lost: bool = False
    watching: bool = False
    looking_up: bool = False
    payout_unknown: bool = False
    mismatch: str | None = None
    arrival_flagged: bool = False
    callbacks_taken: int = 0
    callbacks_ignored: int = 0
    refused_inputs: int = 0
    not_paid_by: frozenset[str] = frozenset()
    # signed cancels refused by ``authorize_cancel``, one entry per refusal, by person
    signed_cancels_refused: tuple[str, ...] = ()
    paid_by_ops: bool = False
    posted_on: RecordState | None = None  # the record state the hold was posted on
    history: int = 0  # modelled history events (``history.HISTORY_COST``)
    outside_inputs: int = 0

    def waiting_on(self) -> str | None:
        """The named thing a run that has not ended waits for (None: it has ended)."""
        if self.phase is Phase.ENDED:
            return None
        return {
            Phase.OPENING: "open_withdrawal",
            Phase.CODE: "verification code (or its expiry timer)",
            Phase.REVIEW: "a review decision (review SLA timer)",
        }.get(self.phase) or (
            "ops resolution or the provider's matching record"
            if self.payout_unknown
            else "the provider's final record (watch)"
        )
