"""What ``approve`` and ``reject`` share: send the decision, wait until it is weighed (R17).

The workflow ignores a decision from someone who is not a registered reviewer, or from
the applicant; that is a refusal (exit 3) and the money stays held. A decision is only
sent while the withdrawal is under review: earlier it would wait unseen in the inbox.
"""

from __future__ import annotations

from typing import NoReturn

from application import decisions
from application.records import status_label, status_with_reason
from application.reviews import AuthenticatedReviewer
from cli.command import Context, Result
from cli.temporal_calls import ended, fail, run_with_client
from client.withdrawals import DECISION_WAIT_SECONDS, WithdrawalClient
from models.domain import Status, WithdrawalStatusDoc
from models.errors import RuleRefusal
from models.messages import RecordedDecision, ReviewDecisionKind

RULE = "R17"


async def _send(
    client: WithdrawalClient,
    withdrawal_id: str,
    kind: ReviewDecisionKind,
    reviewer: AuthenticatedReviewer,
    comment: str,
) -> tuple[WithdrawalStatusDoc | None, RecordedDecision | None]:
    decided = await decisions.decide(client, reviewer, withdrawal_id, kind, comment)
    return decided.status, decided.recorded


def _not_under_review(
    context: Context, withdrawal_id: str, doc: WithdrawalStatusDoc | None
) -> NoReturn:
    if doc is None:  # closed or gone: the record says how it ended
        raise ended(context, withdrawal_id, RULE)
    raise RuleRefusal(
        RULE,
        f"withdrawal {withdrawal_id} is {'already ' if doc.status.is_final else ''}"
        f"{status_with_reason(doc.status, doc.reason)}, "
        "not under review; there is nothing to decide",
    )


def decide(
    context: Context,
    withdrawal_id: str,
    kind: ReviewDecisionKind,
    reviewer: AuthenticatedReviewer,
    comment: str,
) -> Result:
    """Send ``reviewer``'s authenticated decision (``application.reviews``)."""
    reviewer_id = reviewer.reviewer_id
    doc, recorded = run_with_client(
        lambda client: _send(client, withdrawal_id, kind, reviewer, comment)
    )
    if doc is None or (recorded is None and doc.status is not Status.UNDER_REVIEW):
        _not_under_review(context, withdrawal_id, doc)
    if recorded is None:
        fail(
            f"the workflow did not weigh the {kind.value} within {DECISION_WAIT_SECONDS:g} s "
            f"(is the worker running?); see: starter.py status {withdrawal_id}"
        )
    if not recorded.accepted:
        raise RuleRefusal(
            RULE,
            f"{kind.value} by {reviewer_id} ignored: {recorded.why}; "
            f"the withdrawal stays {status_label(Status.UNDER_REVIEW)}, its money held",
        )
    assert doc is not None
    document = {
        "id": withdrawal_id,
        "decision": recorded.decision,
        "reviewer_id": recorded.reviewer_id,
        "person": recorded.person,  # two reviewer ids of one identity are one person
        "comment": recorded.comment,
        "accepted": recorded.accepted,
        "why": recorded.why,
        "status": doc.status,
        "status_zh": doc.status_zh,
        "reason": doc.reason,
        "approvals": doc.approvals,
        "approvals_required": doc.approvals_required,
    }
    waiting = ""
    if doc.status is Status.UNDER_REVIEW and len(doc.approvals) < doc.approvals_required:
        waiting = f" ({len(doc.approvals)} of {doc.approvals_required} approvals)"
    text = (
        f"{kind.value} by {reviewer_id}{f' ({recorded.person})' if recorded.person else ''} "
        f"accepted; withdrawal {withdrawal_id} is now "
        f"{status_with_reason(doc.status, doc.reason)}{waiting}"
    )
    return Result(document=document, text=text)
