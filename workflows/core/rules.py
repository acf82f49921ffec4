"""The small decisions the workflow's rooms and ``decide.step`` share: pure functions of
what the run knows, each answering one question (R15 code, callbacks, provider records,
settlement, ops resolutions). Review and cancel have modules of their own
(``workflows.core.review``, ``workflows.core.cancel``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from models.limits import MAX_PAYOUT_CALLBACKS_TAKEN
from workflows.core.state import Money, RecordState


class CodeStep(StrEnum):
    """R15: what the code phase does next."""

    VERIFIED = "verified"
    CANCELLED = "cancelled"  # an authorised cancel arrived
    TOO_MANY_WRONG = "too_many_wrong"
    EXPIRED = "expired"
    WAIT = "wait"


def code_step(
    *, verified: bool, cancelled: bool, attempts_left: int, expires_at: datetime, now: datetime
) -> CodeStep:
    if verified:
        return CodeStep.VERIFIED
    if cancelled:
        return CodeStep.CANCELLED
    if attempts_left <= 0:
        return CodeStep.TOO_MANY_WRONG
    if expires_at - now <= timedelta(0):
        return CodeStep.EXPIRED
    return CodeStep.WAIT


CODE_ENDINGS = {
    CodeStep.TOO_MANY_WRONG: "R15: too many wrong verification codes",
    CodeStep.EXPIRED: "R15: the verification code expired",
}


def callback_verdict(*, submitted: bool, final_state: bool, taken: int, ended: bool) -> str | None:
    """Why a callback is ignored, or None: take it (it prompts one look-up)."""
    if not submitted:
        return "before the payout was submitted"
    if not final_state or taken >= MAX_PAYOUT_CALLBACKS_TAKEN or ended:
        return "no news"
    return None


class RecordAction(StrEnum):
    """What a looked-up record (after the one check) makes the payout do."""

    PARK = "park"  # does not match: never acted on, money held, ops see it
    WAIT = "wait"  # matches and is processing, or the provider knows none yet
    SETTLE = "settle"  # matches and is final


def record_action(state: RecordState | None, problem: str | None) -> RecordAction:
    if problem is not None:
        return RecordAction.PARK
    if state is None or state is RecordState.PROCESSING:
        return RecordAction.WAIT
    return RecordAction.SETTLE


def settlement_of(state: RecordState) -> Money:
    """A matching final record: succeeded (or returned: it was paid) posts the hold;
    failed releases it (R19); processing is not final (the money stays held)."""
    if state is RecordState.PROCESSING:
        return Money.HELD
    return Money.RELEASED if state is RecordState.FAILED else Money.POSTED


def resolution_open(*, payout_unknown: bool, final: bool) -> bool:
    """``resolve-payout`` is heard only while the payout is parked (its outcome unknown)
    and the run has not ended; anything else is refused before it reaches history."""
    return payout_unknown and not final


def not_paid_is_final(reviewers: frozenset[str]) -> bool:
    """``--not-paid`` releases money only on the word of two different people."""
    return len(reviewers) >= 2
