"""Reconciliation: do the provider, the ledger and the open workflows tell one story?

Pure: ``compare`` takes what the three sources said and returns every disagreement. The
readers that gather those views live in ``reconcile.sources``; the
``reconcile`` command prints the report.

What must hold, per withdrawal id (the idempotency key everywhere):

- money moved at the provider (a ``succeeded`` transfer) ⇔ the hold is ``posted``, with one
  ledger debit of the same amount;
- one key moves money at most once;
- a hold still ``held`` belongs to a workflow that is still running;
- a final status agrees with its hold: ``succeeded`` and ``returned`` ⇔ ``posted``;
  ``rejected``, ``failed``, ``cancelled`` ⇔ ``voided`` or no hold at all (R19);
- a transfer the provider lists as ``returned`` ⇔ a return credited in the ledger (issue
  25); a return parked for ops (its amount differs) is listed until ops credit it;
- a transfer under a withdrawal's key is that withdrawal's transfer: it passes the one
  check (``models.provider_record.check_record``) against what the record expects. One
  that does not is reported as ``provider_record_mismatch`` and never counts as paying
  the withdrawal (issue 22).

A transfer the provider settled while its workflow is still running and its hold still
``held`` is in flight, not a mismatch: ``settle`` posts it moments later. The sources are
read one after the other, so ``compare`` is told when the workflow listing was taken
(``as_of``): a hold created after it may belong to a workflow the listing could not see.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gateways.payout import PAID_STATES, Transfer, TransferState
from ledger.tables import HoldState, ReturnState
from models.domain import Status
from models.money import Money
from models.provider_record import ExpectedTransfer, check_record

# Final statuses whose money must have come back (R19): the hold voided, or never made.
RELEASED_STATUSES = frozenset({Status.REJECTED, Status.FAILED, Status.CANCELLED})
# Transfer states in which the provider has moved, or is moving, the money.
MOVING_STATES = frozenset({TransferState.PROCESSING, *PAID_STATES})


class MismatchKind(StrEnum):
    PAID_NOT_POSTED = "paid_not_posted"  # provider succeeded; hold not posted
    POSTED_NOT_PAID = "posted_not_paid"  # hold posted; no succeeded transfer
    PAID_MORE_THAN_ONCE = "paid_more_than_once"  # one key, several movements
    AMOUNT_DIFFERS = "amount_differs"  # provider moved another amount than was held
    # a transfer under the key that is not the withdrawal's (other payee, route, amount)
    PROVIDER_RECORD_MISMATCH = "provider_record_mismatch"
    HELD_WITHOUT_WORKFLOW = "held_without_workflow"  # frozen money nobody will resolve
    STATUS_DISAGREES_WITH_HOLD = "status_disagrees_with_hold"
    DEBIT_DISAGREES_WITH_HOLD = "debit_disagrees_with_hold"  # not one debit per posted hold
    # Issue 25: the provider returned it; the ledger has not credited it (``--fix`` starts
    # the return), or parked it for ops, or credited a return the provider does not show.
    RETURN_NOT_CREDITED = "return_not_credited"
    RETURN_PARKED = "return_parked"
    RETURN_NOT_AT_PROVIDER = "return_not_at_provider"


@dataclass(frozen=True)
class HoldView:
    withdrawal_id: str
    amount: Money
    state: HoldState
    created_at: datetime


@dataclass(frozen=True)
class RecordView:
    withdrawal_id: str
    status: Status
    # What the withdrawal's transfer must say; None: not checked (e.g. hand-made views).
    expected: ExpectedTransfer | None = None


@dataclass(frozen=True)
class LedgerView:
    """One consistent read of the ledger (a single transaction)."""

    holds: Sequence[HoldView]
    records: Sequence[RecordView]
    debits: Mapping[str, Sequence[Money]]  # withdrawal id -> its withdrawal debit entries
    returns: Mapping[str, ReturnState] = field(default_factory=dict)  # withdrawal id -> state


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    withdrawal_id: str
    detail: str


@dataclass(frozen=True)
class Report:
    mismatches: list[Mismatch]
    in_flight: list[str]  # paid at the provider, workflow still running: settles soon
    transfers: int
    holds: int
    records: int
    open_workflows: int
    notes: list[str] = field(default_factory=list)  # limits of this run (a truncated listing)

    @property
    def clean(self) -> bool:
        return not self.mismatches

    @property
    def returns_to_start(self) -> list[str]:
        """Returns the provider listed that the ledger lacks: what ``--fix`` starts."""
        return [
            m.withdrawal_id for m in self.mismatches if m.kind is MismatchKind.RETURN_NOT_CREDITED
        ]

    def by_kind(self) -> dict[str, int]:
        counted = Counter(m.kind.value for m in self.mismatches)
        return {kind.value: counted.get(kind.value, 0) for kind in MismatchKind}


def compare(
    transfers: Sequence[Transfer],
    ledger: LedgerView,
    open_withdrawals: Collection[str],
    *,
    as_of: datetime,
    movements: Mapping[str, int] | None = None,
) -> Report:
    """Every disagreement between the provider's ``transfers``, the ``ledger`` and the
    withdrawals whose workflow was running at ``as_of``.

    ``movements`` (withdrawal id -> times money moved) is extra evidence a provider may
    offer beyond its listing (the simulator's ``/stats`` does); without it a key listed
    twice in a moving state is the evidence.
    """
    holds = {hold.withdrawal_id: hold for hold in ledger.holds}
    records = {record.withdrawal_id: record.status for record in ledger.records}
    by_key: dict[str, list[Transfer]] = defaultdict(list)
    for transfer in transfers:
        by_key[transfer.idempotency_key].append(transfer)
    open_ids = frozenset(open_withdrawals)

    found: list[Mismatch] = []
    in_flight: list[str] = []
    found += _paid_more_than_once(by_key, movements or {})
    expected = {r.withdrawal_id: r.expected for r in ledger.records if r.expected is not None}
    theirs: dict[str, list[Transfer]] = {}  # only the transfers that pass the one check
    for key, listed in by_key.items():
        found += _records_not_matching(key, listed, expected.get(key))
        theirs[key] = _matching(listed, expected.get(key))
    for key, listed in theirs.items():
        running = key in open_ids or _newer_than_listing(holds.get(key), as_of)
        found += _provider_against_hold(key, listed, holds.get(key), running, in_flight)
    for hold in holds.values():
        found += _hold_against_provider(hold, theirs.get(hold.withdrawal_id, []))
        found += _hold_against_workflow(hold, open_ids, as_of)
        found += _hold_against_debits(hold, ledger.debits.get(hold.withdrawal_id, []))
    found += _debits_without_posted_hold(ledger.debits, holds)
    found += _returns(by_key, ledger.returns)
    for withdrawal_id in sorted(holds.keys() | records.keys()):
        found += _status_against_hold(withdrawal_id, records.get(withdrawal_id), holds)

    order = list(MismatchKind)
    found.sort(key=lambda m: (order.index(m.kind), m.withdrawal_id, m.detail))
    return Report(
        mismatches=found,
        in_flight=sorted(in_flight),
        transfers=len(transfers),
        holds=len(holds),
        records=len(records),
        open_workflows=len(open_ids),
    )


def _paid_more_than_once(
    by_key: Mapping[str, list[Transfer]], movements: Mapping[str, int]
) -> list[Mismatch]:
    found = []
    for key in sorted(by_key.keys() | movements.keys()):
        listed = sum(1 for t in by_key.get(key, []) if t.state in MOVING_STATES)
        moved = max(listed, movements.get(key, 0))
        if moved > 1:
            found.append(
                Mismatch(MismatchKind.PAID_MORE_THAN_ONCE, key, f"money moved {moved} times")
            )
    return found


def _matching(listed: list[Transfer], expected: ExpectedTransfer | None) -> list[Transfer]:
    if expected is None:
        return listed
    return [t for t in listed if check_record(t, expected).matches]


def _records_not_matching(
    key: str, listed: list[Transfer], expected: ExpectedTransfer | None
) -> list[Mismatch]:
    if expected is None:
        return []
    found = []
    for transfer in listed:
        verdict = check_record(transfer, expected)
        if verdict.mismatch is not None:
            detail = (
                f"the provider's {transfer.state.value} transfer under this key differs in "
                f"{verdict.mismatch.value}; not the withdrawal's"
            )
            found.append(Mismatch(MismatchKind.PROVIDER_RECORD_MISMATCH, key, detail))
    return found


def _provider_against_hold(
    key: str,
    listed: list[Transfer],
    hold: HoldView | None,
    running: bool,
    in_flight: list[str],
) -> list[Mismatch]:
    paid = [t for t in listed if t.state in PAID_STATES]
    if not paid:
        return []
    if hold is None:
        return [Mismatch(MismatchKind.PAID_NOT_POSTED, key, "paid at the provider; no hold")]
    found = []
    if any(t.amount != hold.amount for t in paid):
        amounts = ", ".join(sorted({str(t.amount) for t in paid}))
        found.append(
            Mismatch(
                MismatchKind.AMOUNT_DIFFERS, key, f"provider paid {amounts}; held {hold.amount}"
            )
        )
    if hold.state is HoldState.HELD and running:
        in_flight.append(key)
    elif hold.state is not HoldState.POSTED:
        why = "its workflow is closed" if hold.state is HoldState.HELD else ""
        detail = f"paid at the provider; hold is {hold.state.value}" + (
            f" and {why}" if why else ""
        )
        found.append(Mismatch(MismatchKind.PAID_NOT_POSTED, key, detail))
    return found


def _hold_against_provider(hold: HoldView, listed: list[Transfer]) -> list[Mismatch]:
    if hold.state is not HoldState.POSTED:
        return []
    if any(t.state in PAID_STATES for t in listed):
        return []
    seen = ", ".join(t.state.value for t in listed) or "no transfer"
    return [
        Mismatch(
            MismatchKind.POSTED_NOT_PAID,
            hold.withdrawal_id,
            f"hold posted; provider shows {seen}",
        )
    ]


def _hold_against_workflow(
    hold: HoldView, open_ids: frozenset[str], as_of: datetime
) -> list[Mismatch]:
    if hold.state is not HoldState.HELD or hold.withdrawal_id in open_ids:
        return []
    if _newer_than_listing(hold, as_of):
        return []
    return [
        Mismatch(
            MismatchKind.HELD_WITHOUT_WORKFLOW,
            hold.withdrawal_id,
            f"{hold.amount} still held; no running workflow will resolve it",
        )
    ]


def _newer_than_listing(hold: HoldView | None, as_of: datetime) -> bool:
    """A hold made after the listing may belong to a workflow the listing missed."""
    return hold is not None and hold.created_at > as_of


def _hold_against_debits(hold: HoldView, debits: Sequence[Money]) -> list[Mismatch]:
    if hold.state is not HoldState.POSTED:
        return []  # debits of an unposted hold are reported by _debits_without_posted_hold
    if len(debits) == 1 and debits[0] == hold.amount:
        return []
    shown = ", ".join(str(d) for d in debits) or "none"
    return [
        Mismatch(
            MismatchKind.DEBIT_DISAGREES_WITH_HOLD,
            hold.withdrawal_id,
            f"posted hold of {hold.amount}; withdrawal debits: {shown}",
        )
    ]


def _debits_without_posted_hold(
    debits: Mapping[str, Sequence[Money]], holds: Mapping[str, HoldView]
) -> list[Mismatch]:
    found = []
    for withdrawal_id in sorted(debits):
        hold = holds.get(withdrawal_id)
        if debits[withdrawal_id] and (hold is None or hold.state is not HoldState.POSTED):
            state = hold.state.value if hold else "missing"
            found.append(
                Mismatch(
                    MismatchKind.DEBIT_DISAGREES_WITH_HOLD,
                    withdrawal_id,
                    f"withdrawal debit recorded; hold is {state}",
                )
            )
    return found


def _status_against_hold(
    withdrawal_id: str, status: Status | None, holds: Mapping[str, HoldView]
) -> list[Mismatch]:
    hold = holds.get(withdrawal_id)
    state = hold.state if hold is not None else None
    problem = _status_problem(status, state)
    if problem is None:
        return []
    return [Mismatch(MismatchKind.STATUS_DISAGREES_WITH_HOLD, withdrawal_id, problem)]


def _status_problem(status: Status | None, state: HoldState | None) -> str | None:
    """Why a record's status and its hold's state cannot both be true, or None."""
    shown = state.value if state is not None else "no hold"
    if status is None:
        return f"hold ({shown}) without a withdrawal record"
    if status in (Status.SUCCEEDED, Status.RETURNED) and state is not HoldState.POSTED:
        return f"{status.value}; hold is {shown}"
    if status in RELEASED_STATUSES and state not in (None, HoldState.VOIDED):
        return f"{status.value}; hold is {shown}"
    # ``settle`` resolves the hold and writes the final status in one transaction.
    if not status.is_final and state in (HoldState.POSTED, HoldState.VOIDED):
        return f"{status.value} (not final); hold is {shown}"
    return None


def _returns(
    by_key: Mapping[str, list[Transfer]], returns: Mapping[str, ReturnState]
) -> list[Mismatch]:
    """The provider's returns against the ledger's (issue 25)."""
    found = []
    returned = {key for key, listed in by_key.items() if _was_returned(listed)}
    for key in sorted(returned | returns.keys()):
        state = returns.get(key)
        if state is ReturnState.PARKED:
            detail = "returned with another amount; ops credit it (credit-return)"
            found.append(Mismatch(MismatchKind.RETURN_PARKED, key, detail))
        elif key in returned and state is None:
            detail = "returned by the provider; not credited in the ledger"
            found.append(Mismatch(MismatchKind.RETURN_NOT_CREDITED, key, detail))
        elif key not in returned and key in by_key:
            seen = ", ".join(t.state.value for t in by_key[key])
            detail = f"return credited; provider shows {seen}"
            found.append(Mismatch(MismatchKind.RETURN_NOT_AT_PROVIDER, key, detail))
    return found


def _was_returned(listed: Sequence[Transfer]) -> bool:
    return any(t.state is TransferState.RETURNED for t in listed)
