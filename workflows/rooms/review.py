"""R17: manual review. Decisions arrive as signals (``receive``: a decision without a
proof that fits is refused there, at a constant cost), are weighed by the
``review_decision`` activity in ``await_review``, and the invariant is checked before
money moves (``check_authorised``).

The shell of the review: which decision has room (``admission_problem``), what a
weighed verdict does to the approvals and whether it ends the review (``weigh``), the
people-counting invariant (``authorisation_problem``) and the SLA (``review_timeout``)
are ``workflows.core.review``'s to say, and ``decide.step`` asks the same; this room
runs the activities, timers and status changes they call for, in the order histories
expect."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models import decision_proof
    from models.domain import Status
    from models.limits import (
        MAX_DECISION_PROOF_CHARS,
        MAX_REFUSED_DECISIONS_RECORDED,
        MAX_REVIEW_DECISIONS_RECORDED,
        REVIEW_SLA_HOURS,
    )
    from models.messages import (
        RecordedDecision,
        ReviewDecision,
        ReviewDecisionKind,
        ReviewerCheck,
    )
    from workflows.activity_options import DATABASE
    from workflows.core import review as core_review
    from workflows.patches import (
        PATCH_REVIEW_PROOFS,
        PATCH_REVIEW_WAIT_SETTLES,
    )
    from workflows.rooms.context import Run, WithdrawalEnded
    from workflows.rooms.review_keys import (
        MAX_IDENTIFIER_CHARS,
        MAX_RECORDED_COMMENT_CHARS,
        ReviewKeysRoom,
    )
    from workflows.rooms.status_record import StatusRoom
    from workflows.withdrawal_state import (
        Change,
        ReceivedDecision,
        RefusedDecision,
    )


class ReviewRoom:
    def __init__(self, run: Run, status: StatusRoom, keys: ReviewKeysRoom) -> None:
        self.run = run
        self.status = status
        self.keys = keys

    async def await_review(self) -> None:
        """R17: wait for an authorised reviewer; flag the withdrawal past the SLA."""
        note = "; ".join(self.run.review_reasons())
        await self.status.transition(Change.to_status(Status.UNDER_REVIEW, note))
        deadline = workflow.now() + timedelta(hours=REVIEW_SLA_HOURS)
        while self.run.review.outcome is None:
            if self.run.cancel.requested is not None:
                raise self.run.cancellation()
            if self.run.review.refusals_pending:
                await self._record_refusal(*self.run.review.refusals_pending.pop(0))
                continue
            if self.run.review.inbox:
                await self._consider(*self.run.review.inbox.pop(0))
                continue
            timeout = core_review.review_timeout(
                overdue=self.run.record.review_overdue, deadline=deadline, now=workflow.now()
            )
            if timeout is not None and self._settles_before_timer():
                await self._settle()
                if self._review_woken():
                    continue
            try:
                await workflow.wait_condition(self._review_woken, timeout=timeout)
            except TimeoutError:
                await self.status.transition(
                    Change(
                        f"review SLA of {REVIEW_SLA_HOURS} hours passed",
                        review_overdue=True,
                        record="mark review overdue",
                    )
                )
        await self._note_unrecorded_refusals()
        outcome = self.run.review.outcome
        if outcome.decision is ReviewDecisionKind.REJECT:
            raise WithdrawalEnded(
                Status.REJECTED,
                outcome.comment or "rejected",
                f"rejected by {outcome.reviewer_id}",
                actor=outcome.reviewer_id,
            )
        await self.status.transition(Change(f"approved by {', '.join(self.run.review.approvers)}"))

    def _review_woken(self) -> bool:
        return (
            bool(self.run.review.inbox)
            or bool(self.run.review.refusals_pending)
            or self.run.cancel.requested is not None
        )

    def _settles_before_timer(self) -> bool:
        if self.run.review.settles is None:
            self.run.review.settles = workflow.patched(PATCH_REVIEW_WAIT_SETTLES)
        return self.run.review.settles

    async def _settle(self) -> None:
        """Since PATCH_REVIEW_WAIT_SETTLES: return once every coroutine this activation
        woke has run to its next wait (conditions are checked only when none is ready)
        and no review-key load is in flight, so a decision a signal handler takes in this
        workflow task is seen before the SLA timer would start. Otherwise live can create
        the timer and cancel it in the same task (core drops both, yet the timer number
        is used) while replay, which may bring the handler's ``review_verify_keys`` local
        activity result before the activity result that woke this loop, never creates
        it: a later timer's number differs and the task fails as nondeterministic. A
        local activity resolves in the task that started it, so this wait costs no
        history."""
        keys = self.run.keys
        await workflow.wait_condition(lambda: not keys.loading)

    async def _consider(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime
    ) -> None:
        """Weigh one decision; the activity records it (decision row, timeline, audit),
        and the status that follows when it completes the approvals (``StatusRoom.carry``)."""
        then = self.status.after_approval(kind, decision.reviewer_id)
        verdict = await workflow.execute_activity_method(
            WithdrawalActivities.review_decision,
            ReviewerCheck(
                withdrawal_id=self.run.request.withdrawal_id,
                reviewer_id=decision.reviewer_id,
                decision=kind,
                comment=decision.comment,
                at=at,
                sequence=self.run.review.weighed,
                approvals_so_far=list(self.run.review.approvers),
                approvals_required=self.run.approvals_required(),
                proof=decision.proof,
                applicants=sorted(self.run.applicants()),
                then=then,
            ),
            **DATABASE,
            summary=f"verify, weigh and record {kind.value}",
        )
        self.run.review.weighed += 1
        if verdict.allowed:
            self.status.written_if_acknowledged(then, verdict.status_written)
        recorded = RecordedDecision(
            decision=kind,
            reviewer_id=decision.reviewer_id,
            comment=decision.comment,
            at=at,
            accepted=verdict.allowed,
            why=verdict.why,
            role=verdict.role,
            nonce=decision_proof.nonce_of(decision.proof),
            person=verdict.person,
        )
        if len(self.run.review.decisions) < MAX_REVIEW_DECISIONS_RECORDED:
            self.run.review.decisions.append(recorded)
        tally, weighed = core_review.weigh(
            self.tally(),
            approve=kind is ReviewDecisionKind.APPROVE,
            allowed=verdict.allowed,
            reviewer=decision.reviewer_id,
            person=verdict.person,
        )
        self.run.review.approvers[:] = tally.approvers
        self.run.review.approver_people[:] = tally.people
        if weighed is core_review.Weighed.IGNORED:
            await self.status.transition(
                Change(f"{kind.value} by {decision.reviewer_id} ignored: {verdict.why}")
            )
            return
        if weighed is core_review.Weighed.REJECTED:
            self.run.review.outcome = recorded  # any authorised rejection ends it
            return
        enough = weighed is core_review.Weighed.ENOUGH
        # one approval short: the details show the approvals so far
        await self.status.transition(Change(verdict.why, publish=not enough))
        if enough:
            self.run.review.outcome = recorded

    def tally(self) -> core_review.Tally:
        """The review as the core counts it."""
        return core_review.Tally(
            required=self.run.approvals_required(),
            applicants=frozenset(self.run.applicants()),
            approvers=tuple(self.run.review.approvers),
            people=tuple(self.run.review.approver_people),
        )

    async def _record_refusal(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime, why: str
    ) -> None:
        """Record a decision the signal handler refused: the ledger's decisions and audit
        trail say who tried what. Only the first few are recorded (``_refuse``)."""
        await workflow.execute_activity_method(
            WithdrawalActivities.review_decision,
            ReviewerCheck(
                withdrawal_id=self.run.request.withdrawal_id,
                reviewer_id=decision.reviewer_id,
                decision=kind,
                comment=decision.comment,
                at=at,
                sequence=self.run.review.weighed,
                refused=why,
            ),
            **DATABASE,
            summary=f"record refused {kind.value}",
        )
        self.run.review.weighed += 1
        await self.status.transition(
            Change(f"{kind.value} by {decision.reviewer_id} refused: {why}")
        )
        if len(self.run.review.decisions) < MAX_REVIEW_DECISIONS_RECORDED:
            self.run.review.decisions.append(
                RecordedDecision(
                    decision=kind,
                    reviewer_id=decision.reviewer_id,
                    comment=decision.comment,
                    at=at,
                    accepted=False,
                    why=why,
                    nonce=decision_proof.nonce_of(decision.proof),
                )
            )

    async def _note_unrecorded_refusals(self) -> None:
        """One line for every refused decision past the recorded few."""
        unrecorded = self.run.review.refused - (
            self.run.review.refusals_queued - len(self.run.review.refusals_pending)
        )
        if unrecorded <= 0:
            return
        await self.status.transition(
            Change(
                f"{unrecorded} more decisions without a valid proof refused (counted only)",
                record="count refused decisions",
            )
        )

    async def check_authorised(self) -> None:
        """Invariant before money moves: a reviewed withdrawal has enough different
        approvers. A broken invariant releases the money (R19), then stops the run
        loudly: nothing was paid, and a failed run resolves nothing."""
        problem = core_review.authorisation_problem(
            self.tally(), reviewed=bool(self.run.review_reasons())
        )
        if problem is not None:
            await self.status.finish(
                Status.FAILED,
                "stopped: review invariant broken; money released (R19)",
                reason=f"review invariant broken: {problem}",
            )
            raise ApplicationError(problem, type="ReviewInvariantBroken", non_retryable=True)

    async def receive(self, kind: ReviewDecisionKind, decision: ReviewDecision) -> None:
        """Anyone with namespace access can send this signal: a decision without a proof
        that fits is refused here, costing no activity past the first few recorded.

        A coroutine since PATCH_PROOFS_VERIFIED_BY_WORKFLOW (it may wait for the review
        keys); the SDK runs every signal handler as its own task, so older runs, which
        never wait, replay as they ran."""
        at = workflow.now()
        if self.run.review.checks_proofs is None:
            self.run.review.checks_proofs = workflow.patched(PATCH_REVIEW_PROOFS)
        if not self.run.review.checks_proofs:
            self.run.review.inbox.append(ReceivedDecision(kind, decision, at))
            return
        if self.keys.verifies_proofs():
            await self._receive_signed(kind, decision, at)
            return
        problem = self._decision_problem(kind, decision, at)
        if problem is not None:
            self._refuse(kind, decision, at, problem)
            return
        self._take(kind, decision, at)

    def _decision_problem(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime
    ) -> str | None:
        """What is wrong with a decision that needs no key to see: the signature itself
        is checked by the ``review_decision`` activity (the worker holds the key). Runs
        before PATCH_PROOFS_VERIFIED_BY_WORKFLOW."""
        problem = self.keys.proof_problem(
            decision.proof, decision.reviewer_id, kind.value, decision.comment, at
        )
        return problem or self._room_problem(decision.proof)

    def _refuse(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime, why: str
    ) -> None:
        self.run.review.refused += 1
        if self.run.review.refusals_queued >= MAX_REFUSED_DECISIONS_RECORDED:
            return  # counted, and summed up in one line when the review ends
        self.run.review.refusals_queued += 1
        proof = decision.proof
        bounded = ReviewDecision(
            reviewer_id=decision.reviewer_id[:MAX_IDENTIFIER_CHARS],
            comment=decision.comment[:MAX_RECORDED_COMMENT_CHARS],
            proof=proof if proof is not None and len(proof) <= MAX_DECISION_PROOF_CHARS else None,
        )
        self.run.review.refusals_pending.append(RefusedDecision(kind, bounded, at, why))

    def decisions(self) -> list[RecordedDecision]:
        return list(self.run.review.decisions)

    async def _receive_signed(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime
    ) -> None:
        """Since PATCH_PROOFS_VERIFIED_BY_WORKFLOW: the signature is checked here, before
        the decision takes any room (queue, verified count, nonce), so forged proofs
        naming real reviewers never use up what authorised ones need (issue 22)."""
        problem = self.keys.proof_problem(
            decision.proof, decision.reviewer_id, kind.value, decision.comment, at
        )
        if problem is None:
            assert decision.proof is not None
            proof = decision_proof.parse(decision.proof)
            if not self.run.keys.knows(proof.kid):
                await self.keys.await_keys()
            problem = decision_proof.signature_problem(proof, self.run.keys.listed())
        problem = problem or self._room_problem(decision.proof)
        if problem is not None:
            self._refuse(kind, decision, at, problem)
            return
        self._take(kind, decision, at)

    def _take(self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime) -> None:
        """A decision whose proof fits: its nonce is seen, it waits for the activity."""
        nonce = decision_proof.nonce_of(decision.proof)
        assert nonce is not None
        self.run.review.nonces_seen.add(nonce)
        self.run.review.proofs_accepted += 1
        self.run.review.inbox.append(ReceivedDecision(kind, decision, at))

    def _room_problem(self, token: str | None) -> str | None:
        """A signed decision the queue or the verified count has no room for."""
        return core_review.admission_problem(
            nonce=decision_proof.nonce_of(token),
            seen=self.run.review.nonces_seen,
            waiting=len(self.run.review.inbox),
            accepted=self.run.review.proofs_accepted,
        )
