"""How a step refuses an input or ends a run, shared by every phase of ``decide.step``
(``decide`` and ``decide_payout`` call them through this module, so a mutant swapped in
here reaches them all)."""

from __future__ import annotations

from dataclasses import replace

from workflows.core.state import Command, Core, Money, Phase, RecordStatus, ReleaseHold
from workflows.core.statuses import Turn, status_after


def refused(core: Core) -> tuple[Core, list[Command]]:
    return replace(core, refused_inputs=core.refused_inputs + 1), []


def end(core: Core, turn: Turn, why: str) -> tuple[Core, list[Command]]:
    """R19: every way out releases a held hold (only success posts, in
    ``decide_payout.settle``); decisions still waiting to be weighed are dropped."""
    release: list[Command] = [ReleaseHold(why)] if core.money is Money.HELD else []
    money = Money.RELEASED if core.money is Money.HELD else core.money
    status = status_after(core.status, turn)
    ended = replace(
        core,
        phase=Phase.ENDED,
        money=money,
        held_for="",
        status=status,
        reason=why,
        decisions_waiting=(),
    )
    return ended, [*release, RecordStatus(status, why)]
