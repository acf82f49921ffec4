"""R17 review decisions and R2/R18 cancels, weighed and recorded by the ledger
(``ledger.review_decisions``) against the reviewers' public key."""

from __future__ import annotations

from temporalio import activity

from activities.base import ActivitiesBase, refused
from ledger import review_decisions
from models.decision_proof import public_key_text
from models.messages import (
    CancelCheck,
    CancelVerdict,
    ReviewerCheck,
    ReviewerVerdict,
    ReviewKeys,
)


class ReviewActivities(ActivitiesBase):
    @activity.defn
    async def review_decision(self, check: ReviewerCheck) -> ReviewerVerdict:
        """Weigh one approve/reject (``models.authority``) and record it: the decision
        row, the timeline and the audit trail, in one transaction. Idempotent under
        ``(withdrawal, sequence)``: a retry returns the verdict recorded first."""
        now = self._now()
        try:
            decided = await self._in_transaction(
                review_decisions.record_review_decision, check, self._review_verify_key, now
            )
        except review_decisions.UnknownWithdrawal as unknown:
            raise refused(unknown) from None
        if decided.review_began is not None:
            self._metrics.review_decided(
                decision=check.decision.value, waited=(check.at or now) - decided.review_began
            )
        return decided.verdict

    @activity.defn
    async def authorize_cancel(self, check: CancelCheck) -> CancelVerdict:
        """Whether this cancel may go ahead, recorded in the audit trail either way."""
        try:
            return await self._in_transaction(
                review_decisions.authorize_cancel, check, self._review_verify_key, self._now()
            )
        except review_decisions.UnknownWithdrawal as unknown:
            raise refused(unknown) from None

    @activity.defn
    async def review_verify_keys(self) -> ReviewKeys:
        """The public keys this worker verifies proofs with (every listed one), so the
        workflow checks a proof's signature itself before the proof takes any room
        (issue 22). A local activity: configuration only, no I/O."""
        return ReviewKeys(keys=[public_key_text(key) for key in self._review_verify_key])
