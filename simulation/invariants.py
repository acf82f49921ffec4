"""The money invariants, checked after every step of every simulated run (issue 23).

Each check returns the names of the invariants the world breaks now; the names are what
``make simulate`` prints and what each mutant test expects to see broken.
"""

from __future__ import annotations

from models.limits import MAX_DECISIONS_VERIFIED, MAX_DECISIONS_WAITING
from simulation.world import World
from workflows.core.history import (
    HISTORY_BOUND_BASE,
    HISTORY_BOUND_PER_INPUT,
    REFUSED_INPUT_MAX_COST,
)
from workflows.core.state import Core, Money, Phase

ONE_PLACE = "money in exactly one place, with a visible reason"
POST_ALLOWED = "posted only on a matching succeeded record or an authorised --paid"
RELEASE_ALLOWED = "released only with no matching transfer, or on a two-person --not-paid"
RETURN_ONCE = "a return credits only a posted hold, once"
NEVER_PAID_TWICE = "one submit key per withdrawal, never paid twice"
REVIEW_PEOPLE = "a review counts only verified proofs of distinct people"
REFUSED_CONSTANT = "a refused input costs at most a constant"
BOUNDED_ROOM = "outside input takes bounded room (decisions waiting, proofs taken)"
HISTORY_BOUNDED = "history under a + c·inputs"
ENDS_OR_WAITS = "every run ends or waits on a named thing"
REPLAYS = "a crash replays the recorded events to the same state"
ALL = (
    REPLAYS,
    ONE_PLACE,
    POST_ALLOWED,
    RELEASE_ALLOWED,
    RETURN_ONCE,
    NEVER_PAID_TWICE,
    REVIEW_PEOPLE,
    REFUSED_CONSTANT,
    BOUNDED_ROOM,
    HISTORY_BOUNDED,
    ENDS_OR_WAITS,
)


def broken(world: World, before: Core) -> list[str]:
    """Every invariant ``world`` breaks after the step that moved ``before`` to it."""
    core, ledger = world.core, world.ledger
    found: list[str] = []
    entries = ledger.posts + ledger.releases
    if (
        entries > 1
        or ledger.hold is not core.money
        or (core.phase is Phase.ENDED and ledger.hold is Money.HELD)
        or (ledger.hold is Money.HELD and not core.held_for)
    ):
        found.append(ONE_PLACE)
    if world.post_justified is False:
        found.append(POST_ALLOWED)
    if world.release_justified is False:
        found.append(RELEASE_ALLOWED)
    if world.return_justified is False or ledger.returns > 1:
        found.append(RETURN_ONCE)
    if world.submit_keys - {core.withdrawal_id} or len(world.paid_keys) > 1:
        found.append(NEVER_PAID_TWICE)
    if ledger.posts and ledger.releases:
        found.append(NEVER_PAID_TWICE)
    if core.submitted and core.review_required and not _review_held(world):
        found.append(REVIEW_PEOPLE)
    refused_now = core.refused_inputs > before.refused_inputs
    if refused_now and core.history - before.history > REFUSED_INPUT_MAX_COST:
        found.append(REFUSED_CONSTANT)
    if (
        len(core.decisions_waiting) > MAX_DECISIONS_WAITING
        or core.proofs_accepted > MAX_DECISIONS_VERIFIED
    ):
        found.append(BOUNDED_ROOM)
    if core.history > HISTORY_BOUND_BASE + HISTORY_BOUND_PER_INPUT * core.outside_inputs:
        found.append(HISTORY_BOUNDED)
    if not _ends_or_waits(world):
        found.append(ENDS_OR_WAITS)
    return found


def _review_held(world: World) -> bool:
    core = world.core
    approvers = set(core.approvers)
    return (
        len(approvers) >= core.approvals_required
        and len(approvers) == len(core.approvers)
        and approvers <= world.verified_approvers
        and not approvers & core.applicants
    )


def _ends_or_waits(world: World) -> bool:
    """A run that has not ended names what it waits on, and that thing can come: a
    person (code, decision, ops) or a command still in flight (send, submit, watch)."""
    core = world.core
    if core.phase is Phase.ENDED:
        return True
    if core.waiting_on() is None:
        return False
    live = {kind for kind, count in world.in_flight.items() if count > 0}
    if core.phase is Phase.CODE:
        return "code_expiry" in world.timers or "SendCode" in live
    if core.phase is Phase.PAYOUT:
        return bool(live & {"SubmitPayout", "WatchPayout", "LookUp"})
    return True
