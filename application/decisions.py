"""A reviewer's approve or reject as every face sends it (R17), after sign-in.

The decision is only sent while the withdrawal is under review (earlier it would wait
unseen in the inbox); then this waits until the workflow has weighed it and, when it
counted, until the withdrawal has moved on (or stays under review for a second reviewer
above the four-eyes threshold). Whether it counts is the workflow's call alone: a face
shows ``recorded.accepted`` and ``recorded.why``, never its own verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.service import RPCError

from application.reviews import AuthenticatedReviewer, send_decision
from application.withdrawals import is_not_found, live_status
from client.polling import poll_until
from client.withdrawals import WithdrawalClient
from models.domain import Status, WithdrawalStatusDoc
from models.messages import RecordedDecision, ReviewDecisionKind

# After an accepted decision the workflow records the new status in a moment.
STATUS_SETTLE_SECONDS = 5.0
STATUS_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Decided:
    """``status``: the withdrawal after the decision (None: its workflow has ended or is
    gone). ``recorded``: how the workflow weighed it (None: not sent because it is not
    under review, or not weighed within ``client.withdrawals.DECISION_WAIT_SECONDS``)."""

    status: WithdrawalStatusDoc | None
    recorded: RecordedDecision | None


async def _after_review(client: WithdrawalClient, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    return await poll_until(
        lambda: live_status(client, withdrawal_id),
        lambda doc: doc is None or doc.status is not Status.UNDER_REVIEW,
        timeout=STATUS_SETTLE_SECONDS,
        interval=STATUS_POLL_SECONDS,
    )


async def decide(
    client: WithdrawalClient,
    reviewer: AuthenticatedReviewer,
    withdrawal_id: str,
    kind: ReviewDecisionKind,
    comment: str,
) -> Decided:
    """Send ``reviewer``'s signed decision (``application.reviews``) and report the outcome."""
    before = await live_status(client, withdrawal_id)
    if before is None or before.status is not Status.UNDER_REVIEW:
        return Decided(before, None)
    try:
        recorded = await send_decision(client, reviewer, withdrawal_id, kind, comment)
    except RPCError as error:
        if is_not_found(error):  # it ended between the look and the signal
            return Decided(None, None)
        raise
    if recorded is None or not recorded.accepted:
        return Decided(before, recorded)
    now = await live_status(client, withdrawal_id)
    approving = kind is ReviewDecisionKind.APPROVE
    if approving and now is not None and len(now.approvals) < now.approvals_required:
        return Decided(now, recorded)  # four-eyes: under review until a second reviewer
    # A rejection (or the last approval) ends the review: wait for the status to leave it,
    # or a reject read back at once could still show under_review.
    return Decided(await _after_review(client, withdrawal_id) or before, recorded)
