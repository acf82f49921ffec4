"""The world a simulated withdrawal runs in: an in-memory ledger (one hold) and the
provider's record for the key, folded over a list of steps so a run replays exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from gateways.payout import Transfer, TransferState
from models.domain import Route
from models.money import Money as Amount
from models.provider_record import ExpectedTransfer, check_record
from workflows.core.state import Command, Core, Event, Money, RecordState

WITHDRAWAL_ID = "w-sim-1"
AMOUNT = Amount(12_345)
ROUTE = Route.ALIPAY
PAYEE = "alipay:payee-of-w-sim-1"
EXPECTED = ExpectedTransfer(key=WITHDRAWAL_ID, amount=AMOUNT, route=ROUTE, payee_digest=PAYEE)


@dataclass(frozen=True)
class ProviderRecord:
    """The provider's truth for one key: what it pays, to whom, and how far it got."""

    state: RecordState
    key: str = WITHDRAWAL_ID
    amount: Amount = AMOUNT
    route: Route = ROUTE
    payee: str = PAYEE

    @property
    def problem(self) -> str | None:
        return _problem(self)

    @property
    def money_left(self) -> bool:
        """The provider moved (or will move) the money to the payee."""
        return self.problem is None and self.state is not RecordState.FAILED


@lru_cache(maxsize=4096)
def _problem(record: ProviderRecord) -> str | None:
    """The real one check (``models.provider_record.check_record``) on this record."""
    state = TransferState.SUCCEEDED if record.state is RecordState.RETURNED else record.state
    found = Transfer(
        idempotency_key=record.key,
        state=TransferState(state.value),
        amount=record.amount,
        route=record.route,
        payee_digest=record.payee,
    )
    verdict = check_record(found, EXPECTED)
    return None if verdict.matches else verdict.why


@dataclass(frozen=True)
class ProviderSet:
    """The provider's record changes (created by a submit, settles, lies, returns)."""

    record: ProviderRecord | None


@dataclass(frozen=True)
class Crash:
    """The worker dies between two steps: the run is replayed from its recorded events."""


@dataclass(frozen=True)
class Deliver:
    """An event reaches the core at ``at``; ``answers``: the command kind it answers
    (an activity's result, a timer), None for an outside input or a duplicate."""

    event: Event
    at: datetime
    answers: str | None = None


Step = Deliver | ProviderSet | Crash


@dataclass
class Ledger:
    """The in-memory ledger of one withdrawal's hold: each entry once, never edited."""

    hold: Money = Money.NOT_FROZEN
    posts: int = 0
    releases: int = 0
    returns: int = 0


@dataclass
class World:
    core: Core
    ledger: Ledger = field(default_factory=Ledger)
    provider: ProviderRecord | None = None
    paid_keys: set[str] = field(default_factory=set)  # keys the provider paid out under
    submit_keys: set[str] = field(default_factory=set)
    in_flight: dict[str, int] = field(default_factory=dict)  # command kind -> how many
    timers: dict[str, datetime] = field(default_factory=dict)
    verified_approvers: set[str] = field(default_factory=set)
    # whose decision each valid proof signed: the first to carry its nonce in review
    # (a proof names one reviewer and one decision; a replay is a copy of it)
    proof_signers: dict[str, tuple[str, bool]] = field(default_factory=dict)
    delivered: list[Deliver] = field(default_factory=list)  # what a crash replays
    post_justified: bool | None = None  # None: not posted; else whether it was allowed
    release_justified: bool | None = None
    return_justified: bool | None = None
    last_commands: list[Command] = field(default_factory=list)

    @classmethod
    def start(cls) -> World:
        return cls(core=Core(withdrawal_id=WITHDRAWAL_ID))

    def set_provider(self, record: ProviderRecord | None) -> None:
        """A record of a key that reaches ``succeeded`` is money paid out under that key."""
        if record is not None and record.state is RecordState.SUCCEEDED:
            self.paid_keys.add(record.key)
        self.provider = record
