"""R15 verification codes: texted by the SMS provider, kept and checked by the ledger
(``ledger.verification_codes``). The code itself appears only in the SMS text."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ActivitiesBase, refused
from ledger import verification_codes as codes
from ledger.opening import destination
from models.errors import NotFound
from models.messages import CodeAnswer, CodeCheck, CodeRequest, CodeSent
from observability.metrics import PROVIDER_SMS


class CodeActivities(ActivitiesBase):
    @activity.defn
    async def send_code(self, order: CodeRequest) -> CodeSent:
        """Generate a fresh code, text it to the bound phone, and only once the provider
        accepted it, let its keyed hash replace the previous code's. A send that fails
        leaves the code the user already has working (R15).

        Every SMS handed to the provider counts against ``MAX_CODE_SENDS``, retries of
        this activity included, so the phone never receives more than the limit."""
        request, sent_at, expires_at = order.request, order.sent_at, order.expires_at
        code = codes.new_code()
        hashed = codes.code_hash(self._code_key, request, code)
        try:
            phone, channel = await self._in_transaction(
                codes.count_send, request, hashed, expires_at, sent_at
            )
        except codes.CodeSendLimit as limit:
            raise refused(limit) from None
        except NotFound as unknown:  # no account: nothing to text
            raise ApplicationError(str(unknown), non_retryable=True) from None
        text = (
            f"Your withdrawal verification code is {code}, valid for "
            f"{(expires_at - sent_at).seconds // 60} minutes. Withdrawal of {request.amount} "
            f"CNY to {destination(request, channel)}. Never share this code."
        )
        info = activity.info()
        try:
            await self._sms.send(
                phone,
                text,
                idempotency_key=f"{request.withdrawal_id}:{info.activity_id}:{info.attempt}",
            )
        except Exception as error:
            self._metrics.provider_error(provider=PROVIDER_SMS, error=error)
            raise
        self._metrics.sms_sent()
        await self._in_transaction(
            codes.store_sent_code, request, hashed, expires_at, sent_at, self._now()
        )
        return CodeSent(sent_at=sent_at, expires_at=expires_at)

    @activity.defn
    async def check_code(self, check: CodeCheck) -> bool:
        """True once for the right, unexpired code; a used code never verifies again.

        The ledger counts attempts too (R15), so the limit holds even if a workflow's
        count were lost; ``check.attempt`` makes a retried check answer as the first.
        """
        return await self._in_transaction(codes.check_code, check, self._code_key, self._now())

    @activity.defn
    async def check_code_answered(self, check: CodeCheck) -> CodeAnswer:
        """``check_code`` that also says whether the status it carried is in the ledger
        (since ``code-check-answered``). A type of its own: a worker deployed before
        ``status-written-with-its-step`` registers no such activity, so it cannot take
        the check and drop ``then`` unread, as it could take a plain ``check_code``."""
        return await self._in_transaction(
            codes.check_code_answered, check, self._code_key, self._now()
        )
