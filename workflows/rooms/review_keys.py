"""Review keys (issue 22): since ``review-proofs-verified-by-workflow`` the workflow checks
a proof's signature itself, with the public keys the ``review_verify_keys`` local activity
loads (``ProofKeys``), so a forged decision or cancel is refused before it takes any of the
room authorised ones need. Shared by the review and cancel rooms."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models import decision_proof
    from models.limits import MAX_PROOFS_AWAITING_KEYS, MAX_REVIEW_COMMENT_CHARS
    from models.messages import ReviewKeys
    from workflows.activity_options import DATABASE
    from workflows.core import review as core_review
    from workflows.patches import (
        PATCH_PROOFS_VERIFIED_BY_WORKFLOW,
        PATCH_REVIEW_KEYS_BY_ACTIVITY,
    )
    from workflows.rooms.context import Run

# What a refused decision may leave in history and the ledger (outside input is bounded).
MAX_IDENTIFIER_CHARS = 64
MAX_RECORDED_COMMENT_CHARS = 200


class ReviewKeysRoom:
    def __init__(self, run: Run) -> None:
        self.run = run

    def verifies_proofs(self) -> bool:
        if self.run.keys.decided is None:
            self.run.keys.decided = workflow.patched(PATCH_PROOFS_VERIFIED_BY_WORKFLOW)
        return self.run.keys.decided

    async def await_keys(self) -> None:
        """Until the review keys were loaded after this proof arrived (or the withdrawal
        ended). A load is due at once the first time, then after the refresh interval or
        once ``MAX_PROOFS_AWAITING_KEYS`` proofs wait: forged key ids cost a bounded
        number of loads, and a proof with a real key waits rather than being refused."""
        keys = self.run.keys
        asked = keys.loads
        keys.waiting += 1
        try:
            while keys.loads == asked and not self.run.record.status.is_final:
                if keys.loading:
                    await workflow.wait_condition(lambda: not keys.loading)
                    continue
                wait = keys.wait_before_load(workflow.now())
                if wait <= timedelta(0) or keys.waiting >= MAX_PROOFS_AWAITING_KEYS:
                    await self.load()
                    continue
                await self._await_load_due(asked, wait)
        finally:
            keys.waiting -= 1

    async def _await_load_due(self, asked: int, wait: timedelta) -> None:
        """One waiter holds a timer until the load is due; the others wait on it, so
        waiting proofs cost no history of their own."""
        keys = self.run.keys

        def moved() -> bool:
            return (
                keys.loads != asked
                or keys.loading
                or keys.waiting >= MAX_PROOFS_AWAITING_KEYS
                or self.run.record.status.is_final
            )

        if keys.timing:
            await workflow.wait_condition(lambda: moved() or not keys.timing)
            return
        keys.timing = True
        try:
            await workflow.wait_condition(moved, timeout=wait)
        except TimeoutError:
            pass  # the load is due: the caller's loop runs it
        finally:
            keys.timing = False

    async def load(self) -> None:
        self.run.keys.loading = True
        try:
            listed: ReviewKeys
            if self._loads_by_activity():
                listed = await workflow.execute_activity_method(
                    WithdrawalActivities.review_verify_keys,
                    **DATABASE,
                    summary="load the reviewers' public keys (REVIEW_VERIFY_KEY)",
                )
            else:
                listed = await workflow.execute_local_activity_method(
                    WithdrawalActivities.review_verify_keys,
                    **DATABASE,
                    summary="load the reviewers' public keys (REVIEW_VERIFY_KEY)",
                )
        finally:
            self.run.keys.loading = False
        self.run.keys.took(listed.keys, workflow.now())

    def _loads_by_activity(self) -> bool:
        """Since PATCH_REVIEW_KEYS_BY_ACTIVITY a load is an activity: its result is a
        history event, so a handler waiting on it resumes at the same point live and on
        replay. A local activity's result could reach the workflow one activation late
        live (after the next task's events), on time on replay: the review loop, woken
        by an activity result, then saw the handler's decision on replay only."""
        keys = self.run.keys
        if keys.by_activity is None:
            keys.by_activity = workflow.patched(PATCH_REVIEW_KEYS_BY_ACTIVITY)
        return keys.by_activity

    def proof_problem(
        self, token: str | None, reviewer_id: str, decision: str, comment: str, at: datetime
    ) -> str | None:
        """What is wrong with a proof that needs no key to see (signature not checked)."""
        if token is None:
            return "no proof of an authenticated reviewer"
        if len(reviewer_id) > MAX_IDENTIFIER_CHARS or len(comment) > MAX_REVIEW_COMMENT_CHARS:
            return "reviewer id or comment too long"
        try:
            claims = decision_proof.parse_claims(token)
        except decision_proof.ProofError as error:
            return str(error)
        problem = decision_proof.claims_problem(
            claims,
            withdrawal_id=self.run.request.withdrawal_id,
            reviewer_id=reviewer_id,
            decision=decision,
            comment=comment,
            received_at=at,
        )
        if problem is not None:
            return problem
        return core_review.spent_problem(claims.nonce, self.run.review.nonces_seen)
