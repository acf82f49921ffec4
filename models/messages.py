"""Inputs and outputs of the withdrawal activities, updates and signals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Channel, Status, WithdrawalRequest
from models.errors import FieldProblem
from models.limits import CODE_DIGITS
from models.money import Money
from models.provider_record import RecordField
from models.transfers import Transfer


class Opened(BaseModel):
    """What ``open_withdrawal`` learned while recording, checking and freezing."""

    review_reasons: list[str] = Field(default_factory=list)
    channel: Channel | None = None  # the order's channel, for the R7 arrival estimate
    destination_masked: str
    hold_amount: Money
    arrival_text: str
    arrival_latest: datetime
    # Four-eyes: how many different reviewers must approve, decided when the money was
    # frozen (the threshold is configuration; the workflow must not read it itself).
    approvals_required: int = 1
    # ``models.authority.applicants``: excluded from review, allowed to cancel. Empty in
    # runs opened before it was recorded (the workflow then falls back to its request).
    applicants: list[str] = Field(default_factory=list)


class CodeRequest(BaseModel):
    """Workflow time decides expiry, so it holds under replay and time skipping."""

    request: WithdrawalRequest
    sent_at: datetime
    expires_at: datetime


class CodeSent(BaseModel):
    sent_at: datetime
    expires_at: datetime


class CodeSubmission(BaseModel):
    """The ``submit_code`` update's argument. The update's validator refuses a
    malformed code, so it never reaches history."""

    model_config = ConfigDict(frozen=True)

    code: str

    def problem(self) -> FieldProblem | None:
        if len(self.code) != CODE_DIGITS or not self.code.isascii() or not self.code.isdigit():
            return FieldProblem("code", f"{CODE_DIGITS} digits expected")
        return None


class CodeVerdict(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"


class CodeResult(BaseModel):
    verdict: CodeVerdict
    attempts_left: int
    status: Status


class CodeCheck(BaseModel):
    withdrawal_id: str
    code: str
    at: datetime  # workflow time of the attempt
    attempt: int = 0  # 1-based count of this withdrawal's checks; 0: not counted (old runs)
    # Since ``status-written-with-its-step``: the status the run takes once the code is
    # right, written in the check's transaction (None: the workflow records it itself).
    then: StatusChange | None = None


class CodeAnswer(BaseModel):
    """``check_code_answered``'s answer: the code was right, and the ledger has
    ``CodeCheck.then`` (written by this check, or for a retry by its first attempt)."""

    verified: bool
    status_written: bool = False


class ResendResult(BaseModel):
    sent_at: datetime
    expires_at: datetime


class ReviewDecisionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ReviewDecision(BaseModel):
    """The ``approve``/``reject`` signals' argument. It counts only with ``proof``, a
    signed decision issued after the reviewer authenticated (``models.decision_proof``);
    anything else is outside input, refused and recorded."""

    reviewer_id: str
    comment: str = ""
    proof: str | None = None


class RecordedDecision(BaseModel):
    decision: ReviewDecisionKind
    reviewer_id: str
    comment: str
    at: datetime
    accepted: bool
    why: str  # why it was accepted or ignored
    role: str | None = None  # the reviewer's role when the decision was weighed
    nonce: str | None = None  # the proof's nonce: a sender finds its own decision by it
    # Who decided (``models.authority.person_of``): two reviewer ids of one real-name
    # identity are one person. None: weighed before people were compared (issue 22).
    person: str | None = None


class ReviewerCheck(BaseModel):
    """A decision to weigh and record (R17): ``sequence`` is the number of decisions the
    workflow weighed before this one, the idempotency key of its ``review_decision`` row."""

    withdrawal_id: str
    reviewer_id: str
    decision: ReviewDecisionKind
    comment: str = ""
    at: datetime | None = None  # workflow time the signal arrived
    sequence: int = 0
    approvals_so_far: list[str] = Field(default_factory=list)  # accepted approvers
    approvals_required: int = 1
    proof: str | None = None  # the signed decision; without a valid one nothing counts
    refused: str | None = None  # refused by the workflow already: only record why
    applicants: list[str] = Field(default_factory=list)  # as the workflow excludes them
    # Since ``status-written-with-its-step``: the status the run takes once this approval
    # completes the review, written in the decision's transaction when it does.
    then: StatusChange | None = None


class ReviewerVerdict(BaseModel):
    allowed: bool
    why: str
    role: str | None = None
    refused: bool = False  # no valid proof of an authenticated reviewer: not even weighed
    person: str | None = None  # ``models.authority.person_of``; None from older workers
    # ``ReviewerCheck.then`` was written with this decision (status-written-with-its-step);
    # False from a worker deployed before it, which drops ``then`` unread
    status_written: bool = False


class ReviewKeys(BaseModel):
    """The reviewers' public keys a worker verifies proofs with (``REVIEW_VERIFY_KEY``,
    base64 of the raw 32 bytes), for the workflow to check signatures itself."""

    keys: list[str] = Field(default_factory=list)


class CancelRequest(BaseModel):
    """Who cancels: ``by`` an account as asserted by the caller (the applicant or its
    master account, R2), or an authenticated reviewer (``reviewer_id`` with ``proof``)."""

    by: str | None = None
    reviewer_id: str | None = None
    proof: str | None = None


class CancelCheck(BaseModel):
    withdrawal_id: str
    request: CancelRequest
    at: datetime  # workflow time the cancel arrived: a proof's freshness is judged here
    applicants: list[str] = Field(default_factory=list)


class CancelVerdict(BaseModel):
    allowed: bool
    why: str
    actor: str
    # A reviewer's cancel: the person behind the reviewer id (``models.authority.person_of``);
    # None for an account's cancel, and in verdicts recorded before it was named.
    person: str | None = None


class StatusChange(BaseModel):
    withdrawal_id: str
    status: Status
    note: str = ""
    reason: str | None = None
    review_overdue: bool | None = None
    provider_reference: str | None = None
    actor: str | None = None  # who caused the change, for the audit trail; None: the system
    payout_unknown: bool | None = None  # parked for ops (True) or the provider answered


class Settlement(BaseModel):
    """The one place a hold is resolved: posted on success, voided otherwise (R19)."""

    withdrawal_id: str
    status: Status
    note: str = ""
    reason: str | None = None
    provider_reference: str | None = None
    actor: str | None = None  # who ended it (canceller, rejecting reviewer); None: the system


class PayoutCheck(BaseModel):
    """Look the transfer up at the provider; ``callback`` is the hint being confirmed
    (a callback is never acted on by itself: the provider's record decides)."""

    withdrawal_id: str
    callback: Transfer | None = None


class PayoutWatch(BaseModel):
    """``watch_payout``: its retries are the polling loop, so the history stays bounded."""

    withdrawal_id: str
    until_final: bool = True  # False: return once the provider knows the transfer at all
    # A record that does not match is reported once, so the workflow can park; after that
    # (False) it is one more "not yet", retried on the parked schedule (issue 22).
    report_mismatch: bool = True


class PayoutLookup(BaseModel):
    """The provider's record when it matches the request (``models.provider_record``:
    key, amount, route, payee), or why not."""

    transfer: Transfer | None = None
    problem: str | None = None  # the provider's record disagrees with the request
    mismatch: RecordField | None = None  # which kind of field differs (no values)


class PayoutOutcome(StrEnum):
    PAID = "paid"
    NOT_PAID = "not_paid"


MAX_RESOLUTION_EVIDENCE_CHARS = 2000
MAX_PROVIDER_REFERENCE_CHARS = 128


class PayoutResolutionRequest(BaseModel):
    """``resolve-payout``: an authenticated ``ops``/``lead`` reviewer's word on a payout
    whose outcome is unknown, with the evidence they relied on."""

    model_config = ConfigDict(frozen=True)

    withdrawal_id: str
    reviewer_id: str
    outcome: PayoutOutcome
    evidence: str
    reference: str | None = None  # the provider's reference: required for ``paid``
    # ``application.reviews.issue_decision_proof`` over the evidence: the reviewer signed in.
    proof: str | None = None

    def problem(self) -> FieldProblem | None:
        if not self.evidence.strip():
            return FieldProblem(
                "evidence", "say what shows the outcome (a statement line, a ticket)"
            )
        if len(self.evidence) > MAX_RESOLUTION_EVIDENCE_CHARS:
            return FieldProblem("evidence", f"at most {MAX_RESOLUTION_EVIDENCE_CHARS} characters")
        if self.outcome is PayoutOutcome.PAID:
            if not self.reference or not self.reference.strip():
                return FieldProblem("paid", "the provider's reference of the payment is required")
            if len(self.reference) > MAX_PROVIDER_REFERENCE_CHARS:
                return FieldProblem("paid", f"at most {MAX_PROVIDER_REFERENCE_CHARS} characters")
        elif self.reference is not None:
            return FieldProblem("not_paid", "takes no reference")
        return None


class PayoutResolutionVerdict(BaseModel):
    accepted: bool
    final: bool  # paid, or not paid as confirmed by a second, different reviewer
    outcome: PayoutOutcome
    why: str
    reference: str | None = None
    reviewers: list[str] = Field(default_factory=list)  # who resolved it this way
