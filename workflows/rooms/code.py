"""R15: the verification code. ``verify`` waits in ``run``; ``submit`` and ``resend``
are the updates' bodies. What happens next is ``workflows.core.rules.code_step``."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models.domain import Status
    from models.limits import (
        CODE_RESEND_COOLDOWN_SECONDS,
        CODE_TTL_SECONDS,
        MAX_CODE_SENDS,
    )
    from models.messages import (
        CodeCheck,
        CodeRequest,
        CodeResult,
        CodeSubmission,
        CodeVerdict,
        ResendResult,
    )
    from workflows.activity_options import DATABASE, SMS
    from workflows.core.rules import CODE_ENDINGS, CodeStep, code_step
    from workflows.patches import PATCH_CODE_CHECK_ANSWERED, PATCH_PLAIN_CODE_CHECK_RECORDED
    from workflows.rooms.context import Run, WithdrawalEnded
    from workflows.rooms.status_record import StatusRoom
    from workflows.withdrawal_state import (
        Change,
    )


CHECK_SUMMARY = "check verification code hash"


class CodeRoom:
    def __init__(self, run: Run, status: StatusRoom) -> None:
        self.run = run
        self.status = status

    async def verify(self) -> None:
        """R15: wait for the right code; too many wrong codes or expiry cancel."""
        try:
            await self._send()
        except ActivityError as error:
            # No code, no withdrawal: the money goes back (R19) rather than stay frozen.
            raise WithdrawalEnded(
                Status.FAILED, "R15: the verification code could not be sent; try again later"
            ) from error
        await self.status.transition(Change("verification code sent", status=Status.AWAITING_CODE))
        while True:
            code = self.run.code
            assert code.expires_at is not None
            next_step = code_step(
                verified=code.verified,
                cancelled=self.run.cancel.requested is not None,
                attempts_left=code.attempts_left,
                expires_at=code.expires_at,
                now=workflow.now(),
            )
            if next_step is CodeStep.VERIFIED:
                return
            if next_step is not CodeStep.WAIT and self.run.code.carrying:
                # An ending, but a check in flight writes the next status if the code is right
                # (PATCH_STATUS_WITH_STEP): its answer comes first, so the status it
                # writes is one this run takes (``StatusRoom.carry``).
                await workflow.wait_condition(lambda: not self.run.code.carrying)
                continue
            if next_step is CodeStep.CANCELLED:
                raise self.run.cancellation()
            if next_step is not CodeStep.WAIT:
                raise WithdrawalEnded(Status.CANCELLED, CODE_ENDINGS[next_step])
            remaining = code.expires_at - workflow.now()
            expires_at = self.run.code.expires_at
            try:
                await workflow.wait_condition(
                    lambda: (
                        self.run.code.verified
                        or self.run.code.attempts_left <= 0
                        or self.run.cancel.requested is not None
                        or self.run.code.expires_at != expires_at  # noqa: B023 - read now
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                continue  # the loop re-reads the expiry, which a resend may have moved

    async def _send(self) -> None:
        now = workflow.now()
        sent = await workflow.execute_activity_method(
            WithdrawalActivities.send_code,
            CodeRequest(
                request=self.run.request,
                sent_at=now,
                expires_at=now + timedelta(seconds=CODE_TTL_SECONDS),
            ),
            **SMS,
            summary="send SMS verification code (R15)",
        )
        self.run.code.sends += 1
        self.run.code.sent_at = sent.sent_at
        self.run.code.expires_at = sent.expires_at

    async def submit(self, submission: CodeSubmission) -> CodeResult:
        # The SMS can reach a quick user before the send activity's completion reaches
        # the workflow: wait for it rather than refuse a right code.
        await workflow.wait_condition(lambda: self.run.record.status is not Status.VERIFYING)
        if self.run.record.status is not Status.AWAITING_CODE and not self.run.code.verified:
            raise ApplicationError(
                f"no code is awaited: the withdrawal is {self.run.record.status.value}",
                type="NoCodeAwaited",
            )
        async with self.run.code.lock:
            if self.run.record.status is not Status.AWAITING_CODE or self.run.code.verified:
                # A second update racing the first: answer without another attempt.
                return self._result(
                    CodeVerdict.VERIFIED if self.run.code.verified else CodeVerdict.WRONG
                )
            assert self.run.code.expires_at is not None
            if workflow.now() >= self.run.code.expires_at:
                return self._result(CodeVerdict.EXPIRED)
            self.run.code.checks += 1
            then = self.status.after_code()  # None: recorded by ``run`` (older runs)
            self.run.code.carrying = then is not None
            check = CodeCheck(
                withdrawal_id=self.run.request.withdrawal_id,
                code=submission.code,
                at=workflow.now(),
                attempt=self.run.code.checks,
                then=then,
            )
            try:
                ok, written = await self._check(check)
            finally:
                self.run.code.carrying = False
            if ok:
                if written:
                    self.status.written_ahead(then)
                self.run.code.verified = True
                await self.status.transition(
                    Change("verification code accepted", phase=Status.AWAITING_CODE)
                )
                return self._result(CodeVerdict.VERIFIED)
            self.run.code.attempts_left -= 1
            await self.status.transition(
                Change(
                    f"wrong verification code, {self.run.code.attempts_left} attempts left",
                    phase=Status.AWAITING_CODE,
                )
            )
            return self._result(CodeVerdict.WRONG)

    async def _check(self, check: CodeCheck) -> tuple[bool, bool]:
        """(the code was right, the status it carried is written). A local activity in
        runs before PATCH_NO_LOCAL_ACTIVITIES, an activity since; since
        PATCH_CODE_CHECK_ANSWERED one that a worker deployed before the carried status
        existed cannot take, which says whether the ledger has the status."""
        if not self.run.runs_activities_only():
            ok: bool = await workflow.execute_local_activity_method(
                WithdrawalActivities.check_code, check, **DATABASE, summary=CHECK_SUMMARY
            )
            return ok, ok
        if check.then is not None and self._answered():
            answer = await workflow.execute_activity_method(
                WithdrawalActivities.check_code_answered,
                check,
                **DATABASE,
                summary=CHECK_SUMMARY,
            )
            return answer.verified, answer.status_written
        ok = await workflow.execute_activity_method(
            WithdrawalActivities.check_code, check, **DATABASE, summary=CHECK_SUMMARY
        )
        if ok and check.then is not None and workflow.patched(PATCH_PLAIN_CODE_CHECK_RECORDED):
            return ok, False  # any worker may have run it: ``run``'s step records the status
        return ok, ok

    def _answered(self) -> bool:
        code = self.run.code
        if code.answered is None:
            code.answered = workflow.patched(PATCH_CODE_CHECK_ANSWERED)
        return code.answered

    def validate_submit(self, submission: CodeSubmission) -> None:
        problem = submission.problem()
        if problem is not None:
            raise ValueError(problem)
        code_phase = self.run.record.status in (Status.VERIFYING, Status.AWAITING_CODE)
        if not code_phase or self.run.code.verified:
            raise ValueError(
                f"no code is awaited: the withdrawal is {self.run.record.status.value}"
            )
        if self.run.code.attempts_left <= 0:
            raise ValueError("R15: no attempts left")

    async def resend(self) -> ResendResult:
        async with self.run.code.lock:
            try:
                await self._send()
            except ActivityError as error:  # the old code stays valid
                raise ApplicationError(
                    "R15: the new code could not be sent; the previous one still works",
                    type="CodeNotSent",
                ) from error
            await self.status.transition(
                Change("verification code re-sent", phase=Status.AWAITING_CODE)
            )
            assert self.run.code.sent_at is not None and self.run.code.expires_at is not None
            return ResendResult(sent_at=self.run.code.sent_at, expires_at=self.run.code.expires_at)

    def validate_resend(self) -> None:
        if self.run.record.status is not Status.AWAITING_CODE or self.run.code.verified:
            raise ValueError(
                f"no code is awaited: the withdrawal is {self.run.record.status.value}"
            )
        if self.run.code.sends >= MAX_CODE_SENDS:
            raise ValueError(f"R15: at most {MAX_CODE_SENDS} codes per withdrawal")
        if self.run.code.sent_at is not None:
            wait = self.run.code.sent_at + timedelta(seconds=CODE_RESEND_COOLDOWN_SECONDS)
            if workflow.now() < wait:
                seconds = int((wait - workflow.now()).total_seconds()) + 1
                raise ValueError(f"R15: a new code can be sent in {seconds} seconds")

    def _result(self, verdict: CodeVerdict) -> CodeResult:
        return CodeResult(
            verdict=verdict,
            attempts_left=self.run.code.attempts_left,
            status=self.run.record.status,
        )
