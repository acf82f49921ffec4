"""R2/R18: a cancel before the payout was sent, authorised (and audited) by the
``authorize_cancel`` activity; ``run`` acts on it at its next wait.

The shell of the cancel: whether a cancel may be asked, whether an account may cancel,
a signed cancel's proof spent once and its person's refusals capped, and what the
activity's verdict makes of it are ``workflows.core.cancel``'s to say (``decide.step``
asks the same); this room carries out what they answer, in the order histories expect."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models import decision_proof
    from models.domain import WithdrawalStatusDoc
    from models.messages import (
        CancelCheck,
        CancelRequest,
    )
    from workflows.activity_options import DATABASE
    from workflows.core import cancel as core_cancel
    from workflows.patches import (
        PATCH_AUTHORISED_CANCEL,
        PATCH_SIGNED_CANCELS_CAPPED,
    )
    from workflows.rooms.context import Run
    from workflows.rooms.review_keys import MAX_IDENTIFIER_CHARS, ReviewKeysRoom
    from workflows.rooms.status_record import StatusRoom


class CancelRoom:
    def __init__(self, run: Run, status: StatusRoom, keys: ReviewKeysRoom) -> None:
        self.run = run
        self.status = status
        self.keys = keys

    async def cancel(self, request: CancelRequest) -> WithdrawalStatusDoc:
        if workflow.patched(PATCH_AUTHORISED_CANCEL):
            request = await self._authorise_cancel(request)
        self.run.cancel.requested = request
        await workflow.wait_condition(lambda: self.run.record.status.is_final)
        return self.status.document()

    async def _authorise_cancel(self, request: CancelRequest) -> CancelRequest:
        """R2/R18: who may cancel is decided (and audited) by the ``authorize_cancel``
        activity, so every face (CLI, HTTP API) gets the same answer. Since
        PATCH_PROOFS_VERIFIED_BY_WORKFLOW only a cancel the validator found authorised
        gets here (a reviewer's proof naming a key not loaded yet is checked first), and
        a refusal no longer counts towards ``MAX_CANCEL_REFUSALS``."""
        verified_here = self.keys.verifies_proofs()
        capped = verified_here and self._caps_signed_cancels()
        self.run.cancel.checking = True  # one cancel at a time, from the validator on
        try:
            if verified_here:
                await self._check_cancel_proof(request)
            nonce = decision_proof.nonce_of(request.proof) if capped else None
            if nonce is not None:
                self.run.review.nonces_seen.add(nonce)  # spent: a replay is refused
            await workflow.wait_condition(
                lambda: self.run.opened is not None or self.run.record.status.is_final
            )
            verdict = await workflow.execute_activity_method(
                WithdrawalActivities.authorize_cancel,
                CancelCheck(
                    withdrawal_id=self.run.request.withdrawal_id,
                    request=request,
                    at=workflow.now(),
                    applicants=sorted(self.run.applicants()),
                ),
                **DATABASE,
                summary="authorise and audit cancel (R2)",
            )
        finally:
            self.run.cancel.checking = False
        outcome = core_cancel.verdict_of(
            allowed=verdict.allowed,
            sent=self.run.record.status.is_final or self.run.payout.sent,
        )
        if outcome is core_cancel.CancelVerdict.REFUSED:
            counted = core_cancel.refusal_counted(
                verified_here=verified_here,
                signed=request.reviewer_id is not None,
                capped=capped,
            )
            if counted is core_cancel.RefusalCounted.TOWARDS_ALL:
                self.run.cancel.refusals += 1
            elif counted is core_cancel.RefusalCounted.TOWARDS_PERSON:
                assert request.reviewer_id is not None
                self.run.cancel.signed_refused(
                    request.reviewer_id[:MAX_IDENTIFIER_CHARS], verdict.person
                )
            raise ApplicationError(verdict.why, type="CancelNotAuthorised")
        if outcome is core_cancel.CancelVerdict.TOO_LATE:
            raise ApplicationError(f"R18: {core_cancel.TOO_LATE}", type="CancelTooLate")
        return CancelRequest(by=verdict.actor)

    def _caps_signed_cancels(self) -> bool:
        if self.run.cancel.caps_signed is None:
            self.run.cancel.caps_signed = workflow.patched(PATCH_SIGNED_CANCELS_CAPPED)
        return self.run.cancel.caps_signed

    def validate(self, request: CancelRequest) -> None:
        status = self.run.record.status
        problem = core_cancel.gate_problem(
            final=status.value if status.is_final else None,
            sent=self.run.payout.sent,
            under_way=self.run.cancel.requested is not None or self.run.cancel.checking,
            refusals=self.run.cancel.refusals,
        )
        if problem is not None:
            raise ValueError(problem)
        # ``decided`` is None until the first decision or cancel: the handler, running
        # live, will take the new path. False: a run that took the old path before.
        if self.run.keys.decided is not False:
            problem = self._cancel_problem(request)
            if problem is not None:
                raise ValueError(problem)

    async def _check_cancel_proof(self, request: CancelRequest) -> None:
        """A reviewer's cancel whose proof names a key this run has not loaded: the
        validator let it through only while a load is due, so this costs one load."""
        if request.proof is None or request.reviewer_id is None:
            return
        proof = decision_proof.parse(request.proof)  # the validator parsed it already
        if not self.run.keys.knows(proof.kid):
            await self.keys.load()
        problem = decision_proof.signature_problem(proof, self.run.keys.listed())
        if problem is not None:
            raise ApplicationError(
                f"R18: cancel by {request.reviewer_id} refused: {problem}",
                type="CancelProofRefused",  # audited by the caller: no activity ran
            )

    def _cancel_problem(self, request: CancelRequest) -> str | None:
        """Why this cancel is not authorised, decided without I/O (issue 22): by an
        account that is not an applicant (R2), or a reviewer's proof that does not fit
        or whose signature fails. The role is the ``authorize_cancel`` activity's to
        check (it holds the reviewers): only a validly signed proof gets that far."""
        if request.reviewer_id is None and request.proof is None:
            by = (request.by or self.run.request.actor)[:MAX_IDENTIFIER_CHARS]
            return core_cancel.account_problem(
                by, self.run.applicants(), opened=self.run.opened is not None
            )
        reviewer_id = (request.reviewer_id or "unknown")[:MAX_IDENTIFIER_CHARS]
        problem = self.keys.proof_problem(
            request.proof, reviewer_id, decision_proof.CANCEL, "", workflow.now()
        )
        if problem is None and self.run.cancel.caps_signed is not False:
            problem = core_cancel.signed_problem(
                nonce=decision_proof.nonce_of(request.proof),
                seen=self.run.review.nonces_seen,
                refused=self.run.cancel.signed_refusals_of(reviewer_id),
            )
        if problem is None:
            assert request.proof is not None
            proof = decision_proof.parse(request.proof)
            if self.run.keys.knows(proof.kid):
                problem = decision_proof.signature_problem(proof, self.run.keys.listed())
            else:
                wait = self.run.keys.wait_before_load(workflow.now()).total_seconds()
                if wait > 0:
                    problem = (
                        "the proof names a review key this withdrawal has not loaded yet; "
                        f"try again in {int(wait) + 1} seconds"
                    )
        if problem is None:
            return None
        return f"R18: cancel by {reviewer_id} refused: {problem}"
