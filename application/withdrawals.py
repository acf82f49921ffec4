"""Withdrawals as every face drives them: create, status, list, code, resend, cancel.

The CLI (``starter.py withdraw`` …) and the HTTP API (``api/``) call these functions and
only translate what comes back: a result, or a refusal carrying its rule or field
(``application.problems``). So a refusal has one wording whichever face it reaches.

``WithdrawalCreate`` is the one public create shape: the CLI's flags and the API's JSON
body both become one, and ``to_request`` maps it to the workflow's ``WithdrawalRequest``.
The withdrawal id is the idempotency key; sameness rests on the ledger's record (and, before
the record exists, on the workflow's own input), so it holds after Temporal forgot the run.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from application.problems import RequestConflict
from application.proofs import MAX_PROOF_BYTES, store_proof_bytes
from application.records import status_with_reason, with_calendar_check
from client.polling import poll_until
from client.withdrawals import WithdrawalClient, workflow_id
from models.branches import payee_from_branch
from models.domain import (
    STATUS_LABELS_ZH,
    DesignatedReason,
    Kind,
    Payee,
    Route,
    Status,
    TimelineEntry,
    WithdrawalRequest,
    WithdrawalStatusDoc,
)
from models.errors import InputError, InsufficientWithdrawable, NotFound, RuleRefusal
from models.messages import CodeResult, CodeSubmission, ResendResult
from models.money import Money
from models.payee import (
    BANK_CARD,
    EMAIL,
    MAINLAND_MOBILE,
    MAX_EMAIL_CHARS,
    MAX_PAYEE_NAME_CHARS,
    MAX_PROOFS,
    NOT_BLANK,
    payee_problem,
)
from models.sameness import first_difference

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ledger.tables import Withdrawal

T = TypeVar("T")

# The id is the workflow id and the idempotency key: printable, short, no personal data.
WITHDRAWAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# A run of digits this long could be a phone or a card number: never put one in an id.
PERSONAL_DIGITS = re.compile(r"\d{11,}")
# The OpenAPI patterns (ECMA 262, anchored) say what the checks below accept, built from the
# same expressions so the document and the API cannot drift apart (issue 26).
WITHDRAWAL_ID_PATTERN = rf"^(?!.*{PERSONAL_DIGITS.pattern})(?:{WITHDRAWAL_ID.pattern})$"
# More than 0.00 and less than MAX_AMOUNT_FEN, at most two decimals, no sign, space or
# leading zero: exactly the strings ``parse_amount`` turns into money.
AMOUNT_PATTERN = r"^(?:[1-9][0-9]{0,11}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"
# R9 payees as models.payee checks them: an Alipay account is a mainland mobile number or an
# email address, a bank card 12 to 19 digits; a name is not blank.
ALIPAY_ACCOUNT_PATTERN = rf"^(?:{MAINLAND_MOBILE.pattern}|{EMAIL.pattern})$"
BANK_CARD_PATTERN = rf"^{BANK_CARD.pattern}$"
NOT_BLANK_PATTERN = NOT_BLANK.pattern
# A proof is PDF, JPEG or PNG (application.proofs.PROOF_TYPES) as strict base64: the first
# characters are those file types' magic bytes encoded.
PROOF_BASE64_PATTERN = (
    r"^(?:JVBERi[0-3][A-Za-z0-9+/]|/9j/|iVBORw0KGg[o-r][A-Za-z0-9+/])"
    r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
)
GENERATED_ID_PREFIX = "w-"
MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 200
MAX_FILENAME_CHARS = 200
# Base64 is 4 characters for every 3 bytes: the largest proof as text.
MAX_PROOF_BASE64_CHARS = (MAX_PROOF_BYTES + 2) // 3 * 4

# Long enough for the worker to freeze the money and text the code on a busy machine.
START_SETTLE_SECONDS = 15.0
START_POLL_SECONDS = 0.2
# A query needs a worker to answer; without one the server waits until the deadline.
QUERY_TIMEOUT_SECONDS = 5.0
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# A page's cursor: ``<microseconds since 1970, UTC>~<last id>``; 17 digits reach past 5000 AD.
CURSOR_SEPARATOR = "~"
CURSOR_PATTERN = r"^[0-9]{1,17}~[A-Za-z0-9._:-]{1,64}$"
MAX_CURSOR_CHARS = 17 + 1 + MAX_ID_CHARS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RULE_CODE = "R15"
RULE_CANCEL = "R18"
_RULE_PREFIX = re.compile(r"^(R\d+): (.*)$", re.DOTALL)


# ---- the public create shape -------------------------------------------------------------
class ProofUpload(BaseModel):
    """A proof document (R9): PDF, JPEG or PNG, at most 10 MiB, as base64."""

    model_config = ConfigDict(extra="forbid")

    filename: StrictStr = Field(min_length=1, max_length=MAX_FILENAME_CHARS)
    content_base64: StrictStr = Field(
        max_length=MAX_PROOF_BASE64_CHARS + 4,
        json_schema_extra={"pattern": PROOF_BASE64_PATTERN},
    )


_ABSENT: dict[str, Any] = {"type": "null"}
_PAYEE_NAME = {"type": "string", "pattern": NOT_BLANK_PATTERN, "maxLength": MAX_PAYEE_NAME_CHARS}
_SOME_PROOFS = {"type": "array", "minItems": 1}


def _route_is(route: Route) -> dict[str, Any]:
    return {"required": ["to"], "properties": {"to": {"const": route.value}}}


# What ``to_request`` checks across fields (R5/R6, R9, R10), said in the OpenAPI schema so a
# backend (or a fuzzer) learns it from the document; tests/api/test_create_schema.py checks
# that every body this schema allows gets past those checks.
CREATE_CONDITIONS: dict[str, Any] = {
    "anyOf": [  # exactly one of a recharge order (R5) and non_recharge (R6)
        {
            "required": ["order_id"],
            "properties": {"order_id": {"type": "string"}, "non_recharge": {"const": False}},
        },
        {
            "required": ["non_recharge"],
            "properties": {"non_recharge": {"const": True}, "order_id": _ABSENT},
        },
    ],
    "allOf": [
        {  # the original route pays back to the payer: no payee (absent ``to`` is original)
            "if": {"properties": {"to": {"const": Route.ORIGINAL.value}}},
            "then": {
                "properties": {
                    "payee_account": _ABSENT,
                    "payee_name": _ABSENT,
                    "branch_id": _ABSENT,
                }
            },
        },
        {  # R9: an Alipay payee, with proofs
            "if": _route_is(Route.ALIPAY),
            "then": {
                "required": ["payee_account", "payee_name", "proofs"],
                "properties": {
                    "payee_account": {
                        "type": "string",
                        "pattern": ALIPAY_ACCOUNT_PATTERN,
                        "maxLength": MAX_EMAIL_CHARS,
                    },
                    "payee_name": _PAYEE_NAME,
                    "branch_id": _ABSENT,
                    "proofs": _SOME_PROOFS,
                },
            },
        },
        {  # R9/R10: a bank card payee, its branch from the directory, with proofs
            "if": _route_is(Route.BANK),
            "then": {
                "required": ["payee_account", "payee_name", "branch_id", "proofs"],
                "properties": {
                    "payee_account": {"type": "string", "pattern": BANK_CARD_PATTERN},
                    "payee_name": _PAYEE_NAME,
                    "branch_id": {"type": "string"},
                    "proofs": _SOME_PROOFS,
                },
            },
        },
    ],
}


class WithdrawalCreate(BaseModel):
    """What a backend or a person asks for; the CLI's ``withdraw`` flags map one to one.

    ``amount`` is a string with at most two decimals (a JSON number is refused: floats
    are not money). Exactly one of ``order_id`` (R5) and ``non_recharge`` (R6).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **CREATE_CONDITIONS,
            "examples": [
                {
                    "id": "w-20261126-0001",
                    "account_id": "acct-personal",
                    "amount": "100.00",
                    "order_id": "R-P-ALIPAY",
                    "to": "original",
                },
                {
                    "account_id": "acct-personal",
                    "amount": "50.00",
                    "non_recharge": True,
                    "to": "alipay",
                    "reason": "payer_account_closed",
                    "payee_account": "payee@example.com",
                    "payee_name": "Li Lei",
                    "proofs": [{"filename": "proof.pdf", "content_base64": "JVBERi0xLjQK"}],
                },
            ],
        },
    )

    id: StrictStr | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description="the idempotency key; no run of 11 digits (ids are logged)",
        json_schema_extra={"pattern": WITHDRAWAL_ID_PATTERN},
    )
    account_id: StrictStr = Field(min_length=1, max_length=MAX_ID_CHARS)
    amount: StrictStr = Field(
        max_length=32,
        description='CNY as a string, more than 0 with at most two decimals, e.g. "100.00"',
        json_schema_extra={"pattern": AMOUNT_PATTERN},
    )
    order_id: StrictStr | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)
    non_recharge: StrictBool = False
    to: Route = Route.ORIGINAL
    reason: DesignatedReason | None = None
    payee_account: StrictStr | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    payee_name: StrictStr | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    branch_id: StrictStr | None = Field(default=None, max_length=MAX_ID_CHARS)
    proofs: list[ProofUpload] = Field(default_factory=list, max_length=MAX_PROOFS)
    by: StrictStr | None = Field(
        default=None, max_length=MAX_ID_CHARS, description="acting account (R2)"
    )


def withdrawal_id(given: str | None) -> str:
    if given is None:
        return f"{GENERATED_ID_PREFIX}{uuid.uuid4().hex}"
    if not WITHDRAWAL_ID.fullmatch(given):
        raise InputError("id", "1 to 64 letters, digits, '.', '_', ':' or '-'")
    if PERSONAL_DIGITS.search(given):
        raise InputError("id", "must not carry a phone or account number (ids are logged)")
    return given


def parse_amount(text: str) -> Money:
    parsed = Money.parse(text, "amount")
    if parsed.fen == 0:
        raise InputError("amount", "must be more than 0.00")
    if not re.fullmatch(AMOUNT_PATTERN, text):  # what the schema says, word for word
        raise InputError(
            "amount", f"{text!r}: digits with at most two decimals, no sign, space or leading 0"
        )
    return parsed


def _payee(create: WithdrawalCreate) -> Payee | None:
    """R9 payee; a bank payee is filled from the branch directory (R10)."""
    route = create.to
    number, name, branch = create.payee_account, create.payee_name, create.branch_id
    if not route.is_designated:
        if number is not None or name is not None or branch is not None:
            raise InputError("payee", "the original route pays back to the payer; give no payee")
        return None
    if number is None or name is None:
        missing = "payee_account" if number is None else "payee_name"
        raise InputError(
            missing,
            f"a designated receiving account ({route.value}, R9) needs "
            "payee_account and payee_name",
        )
    if route is Route.ALIPAY:
        if branch is not None:
            raise InputError("branch_id", "only a bank-card payee has a branch (R10)")
        return Payee(account_number=number.strip(), name=name.strip())
    if branch is None:
        raise InputError(
            "branch_id",
            "a bank-card payee's bank, province, city and branch come from the directory: "
            "give the branch id (find it with `starter.py branches QUERY`, R10)",
        )
    return payee_from_branch(number.strip(), name.strip(), branch)


def _proof_bytes(upload: ProofUpload) -> bytes:
    try:
        return base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("proofs", f"{upload.filename}: content_base64 is not base64") from None


def to_request(create: WithdrawalCreate, data_dir: Path | None = None) -> WithdrawalRequest:
    """The workflow's request, or an ``InputError`` naming the first bad field.

    Proofs are stored by content before the ledger's checks; a refused request leaves its
    files behind, which is harmless: storage is by content, once per file.
    """
    money = parse_amount(create.amount)
    if create.non_recharge and create.order_id is not None:
        raise InputError("order_id", "a non-recharge application (R6) draws on no order")
    if not create.non_recharge and create.order_id is None:
        raise InputError("order_id", "give the recharge order (R5) or non_recharge (R6)")
    kind = Kind.NON_RECHARGE if create.non_recharge else Kind.RECHARGE
    the_payee = _payee(create)
    proofs = [store_proof_bytes(_proof_bytes(p), p.filename, data_dir) for p in create.proofs]
    problem = payee_problem(create.to, the_payee, proofs)
    if problem is not None:
        raise problem.error()
    return WithdrawalRequest(
        withdrawal_id=withdrawal_id(create.id),
        account_id=create.account_id,
        amount=money,
        kind=kind,
        route=create.to,
        order_id=create.order_id,
        reason=create.reason,
        payee=the_payee,
        proofs=proofs,
        requested_by=create.by,
    )


# ---- create ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Created:
    """``created`` is False when the id was already recorded (an idempotent retry)."""

    document: WithdrawalStatusDoc
    created: bool
    review_reasons: list[str] = field(default_factory=list)
    # False when the workflow did not answer within START_SETTLE_SECONDS (no worker?):
    # the document is then the record's, or the request's own first step.
    answered: bool = True


def conflict(withdrawal_id: str, differing: str) -> RequestConflict:
    return RequestConflict(
        differing,
        f"withdrawal {withdrawal_id} was first requested with a different {differing}; "
        "an id is used for one request only (use a new id)",
    )


def precheck(engine: Engine, request: WithdrawalRequest, now: datetime) -> list[str] | None:
    """Refuse before anything is frozen; the R17 review reasons if it may go ahead, or
    None when the id is already recorded for this same request (an idempotent retry,
    whose own hold must not count against it)."""
    # The ledger loads on use: commands that only talk to Temporal (code, resend) import
    # this module too and must stay quick (docs/architecture.md).
    from ledger.accounts import balance_breakdown, remaining_of
    from ledger.db import read_only_session
    from ledger.eligibility import check_eligibility
    from ledger.tables import Withdrawal
    from ledger.withdrawals import request_difference

    with read_only_session(engine) as session:
        existing = session.get(Withdrawal, request.withdrawal_id)
        if existing is not None:
            differing = request_difference(existing, request)
            if differing is not None:
                raise conflict(request.withdrawal_id, differing)
            return None
        eligibility = check_eligibility(session, request, now)
        withdrawable = balance_breakdown(session, request.account_id, now).withdrawable
        if request.amount > withdrawable:
            raise InsufficientWithdrawable("R14", f"withdrawable is {withdrawable}")
        if eligibility.order is not None:
            remaining = remaining_of(eligibility.order)
            if request.amount > remaining:
                raise InsufficientWithdrawable(
                    "R14", f"order {eligibility.order.id} has {remaining} remaining"
                )
        return eligibility.review_reasons


async def _started_request(client: WithdrawalClient, withdrawal_id: str) -> WithdrawalRequest:
    """The request the running workflow was started with (its first history event)."""
    handle = client.temporal.get_workflow_handle(workflow_id(withdrawal_id))
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            decoded = await client.temporal.data_converter.decode(
                list(payloads), [WithdrawalRequest]
            )
            request: WithdrawalRequest = decoded[0]
            return request
        break
    raise RuntimeError(f"workflow of {withdrawal_id} has no start event")


async def _settled_status(
    client: WithdrawalClient, withdrawal_id: str
) -> WithdrawalStatusDoc | None:
    """Wait until the money is frozen and the code texted (or the start refused)."""
    return await poll_until(
        lambda: live_status(client, withdrawal_id),
        lambda doc: doc is not None and doc.status is not Status.VERIFYING,
        timeout=START_SETTLE_SECONDS,
        interval=START_POLL_SECONDS,
    )


def refused_at_open(doc: WithdrawalStatusDoc) -> bool:
    """Failed before a code was sent: the workflow's own check refused it (a race the
    pre-check could not see, such as a concurrent withdrawal taking the money)."""
    return doc.status is Status.FAILED and all(
        entry.status in (Status.VERIFYING, Status.FAILED) for entry in doc.timeline
    )


def _first_step(request: WithdrawalRequest, now: datetime) -> WithdrawalStatusDoc:
    return WithdrawalStatusDoc(
        id=request.withdrawal_id,
        account_id=request.account_id,
        status=Status.VERIFYING,
        status_zh=STATUS_LABELS_ZH[Status.VERIFYING],
        amount=request.amount,
        route=request.route,
        kind=request.kind,
        order_id=request.order_id,
        payee=request.payee.masked if request.payee else None,
        timeline=[TimelineEntry(at=now, status=Status.VERIFYING, note="withdrawal requested")],
    )


async def create(
    engine: Engine,
    client: WithdrawalClient,
    request: WithdrawalRequest,
    now: datetime,
    *,
    actor: str | None = None,
) -> Created:
    """Start the withdrawal (or attach to the one under its id) and wait for its first step.

    Same id, different request: ``RequestConflict`` naming the field, whether the first
    request is recorded already or only started (its workflow input is compared then).
    ``actor`` (an API key's name) is written to the audit trail with the request.
    """
    review_reasons = await asyncio.to_thread(precheck, engine, request, now)
    if review_reasons is None:
        doc = await status_document(engine, client, request.withdrawal_id)
        return Created(document=doc, created=False)
    try:
        await client.start(request)
    except WorkflowAlreadyStartedError:
        # The first run under this id has closed; its record answers.
        doc = await status_document(engine, client, request.withdrawal_id)
        await asyncio.to_thread(precheck, engine, request, now)  # sameness, on the record
        return Created(document=doc, created=False)
    first = await _started_request(client, request.withdrawal_id)
    differing = first_difference(first, request)
    if differing is not None:  # a concurrent first request under this id won the start
        raise conflict(request.withdrawal_id, differing)
    if actor is not None:
        await asyncio.to_thread(_audit, engine, actor, "withdrawal.create", request.withdrawal_id)
    settled = await _settled_status(client, request.withdrawal_id)
    if settled is None:
        recorded = await asyncio.to_thread(_record, engine, request.withdrawal_id)
        return Created(
            document=recorded if recorded is not None else _first_step(request, now),
            created=True,
            review_reasons=review_reasons,
            answered=False,
        )
    if refused_at_open(settled):
        raise as_refusal(settled.reason or "refused when freezing the money", "R14")
    return Created(
        document=with_calendar_check(settled), created=True, review_reasons=review_reasons
    )


def _audit(
    engine: Engine,
    actor: str,
    action: str,
    subject: str,
    outcome: str = "asked",
    detail: str = "",
) -> None:
    from ledger import audit
    from ledger.db import run_in_transaction

    run_in_transaction(
        engine,
        lambda session: audit.append(
            session, actor=actor, action=action, subject=subject, outcome=outcome, detail=detail
        ),
    )


# The ``authorize_cancel`` activity audits its own refusals; every other refusal of a
# cancel (the validator's above all: it leaves no history, issue 22) is audited here.
CANCEL_REFUSED_BY_ACTIVITY = "CancelNotAuthorised"


async def audited_cancel(
    engine: Engine,
    withdrawal_id: str,
    canceller: str | None,
    call: Callable[[], Awaitable[T]],
    api_key: str | None = None,
) -> T:
    """Run a cancel update; a refusal the workflow did not audit is audited here, with
    who asked (as asserted; None: the applicant) and why it was refused."""
    try:
        return await call()
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == CANCEL_REFUSED_BY_ACTIVITY:
            raise
        why = cause.message if isinstance(cause, ApplicationError) else str(cause)
        through = f"; through API key {api_key}" if api_key else ""
        await asyncio.to_thread(
            _audit_refused_cancel, engine, withdrawal_id, canceller, why + through
        )
        raise


def _audit_refused_cancel(
    engine: Engine, withdrawal_id: str, canceller: str | None, detail: str
) -> None:
    if canceller is None:
        recorded = _record(engine, withdrawal_id)
        canceller = recorded.account_id if recorded is not None else "unknown"
    _audit(engine, canceller[:64], "withdrawal.cancel", withdrawal_id, "refused", detail)


def _record(engine: Engine, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    from ledger.db import read_only_session
    from ledger.documents import record_document

    with read_only_session(engine) as session:
        return record_document(session, withdrawal_id)


# ---- status and list ---------------------------------------------------------------------
SOURCE_WORKFLOW = "workflow"
SOURCE_DATABASE = "database"


def is_not_found(error: RPCError) -> bool:
    return error.status is RPCStatusCode.NOT_FOUND


def unknown_withdrawal(withdrawal_id: str) -> NotFound:
    return NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")


async def live_status(client: WithdrawalClient, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    """The running workflow's own status document, or None when it cannot answer now
    (no such workflow, or no worker within ``QUERY_TIMEOUT_SECONDS``)."""
    try:
        return await asyncio.wait_for(client.status(withdrawal_id), QUERY_TIMEOUT_SECONDS)
    except TimeoutError:
        return None
    except RPCError as error:
        if is_not_found(error):
            return None
        raise


async def _from_temporal(
    client: WithdrawalClient, withdrawal_id: str
) -> WithdrawalStatusDoc | None:
    """The workflow's own document: queried while it runs, its result once it completed
    (the full timeline, code steps included, read from history without a worker)."""
    handle = client.temporal.get_workflow_handle(workflow_id(withdrawal_id))
    try:
        description = await handle.describe()
    except RPCError as error:
        if is_not_found(error):
            return None
        raise
    if description.status is WorkflowExecutionStatus.RUNNING:
        return await live_status(client, withdrawal_id)
    if description.status is WorkflowExecutionStatus.COMPLETED:
        return await client.result(withdrawal_id)
    return None  # failed, terminated, timed out: the database record is the truth


async def find_status(
    engine: Engine, client: WithdrawalClient, withdrawal_id: str
) -> tuple[WithdrawalStatusDoc, str]:
    """The best status document there is, and where it came from. When the workflow is
    gone (retention, a wiped server), failed, or its worker does not answer, the database
    record answers: the workflow wrote each status there as it went."""
    found = await _from_temporal(client, withdrawal_id)
    if found is not None and found.status is Status.SUCCEEDED:
        # A closed workflow's result never changes; a return after success (issue 25)
        # lives in the ledger's record only, so a succeeded one is read from there too.
        returned = await asyncio.to_thread(_record, engine, withdrawal_id)
        if returned is not None and returned.status is Status.RETURNED:
            return returned, SOURCE_DATABASE
    if found is not None:
        return with_calendar_check(found), SOURCE_WORKFLOW
    recorded = await asyncio.to_thread(_record, engine, withdrawal_id)
    if recorded is None:
        raise unknown_withdrawal(withdrawal_id)
    return recorded, SOURCE_DATABASE


async def status_document(
    engine: Engine, client: WithdrawalClient, withdrawal_id: str
) -> WithdrawalStatusDoc:
    return (await find_status(engine, client, withdrawal_id))[0]


@dataclass(frozen=True)
class Page:
    rows: list[Withdrawal]
    next_cursor: str | None


def _encode_cursor(row: Withdrawal) -> str:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    micros = (created - EPOCH) // timedelta(microseconds=1)
    return f"{micros}{CURSOR_SEPARATOR}{row.id}"


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Every string the cursor pattern allows is a cursor (the schema says no more than
    the API takes): microseconds since 1970 in UTC and the last id of the page before."""
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InputError("cursor", "not a cursor this service gave out")
    micros, _, last_id = cursor.partition(CURSOR_SEPARATOR)
    return EPOCH + timedelta(microseconds=int(micros)), last_id


def list_page(
    engine: Engine,
    account_id: str | None = None,
    status: Status | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
    max_limit: int = MAX_PAGE_SIZE,
) -> Page:
    """Withdrawal records newest first (R20), one page; ``next_cursor`` continues it."""
    from ledger.db import read_only_session
    from ledger.withdrawals import MAX_LIST_LIMIT, list_withdrawals

    if limit < 1 or limit > max_limit:
        raise InputError("limit", f"1 to {max_limit}")
    before = _decode_cursor(cursor) if cursor is not None else None
    with read_only_session(engine) as session:
        rows = list_withdrawals(
            session, account_id, status, limit=min(limit + 1, MAX_LIST_LIMIT), before=before
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_cursor=_encode_cursor(rows[-1]) if more and rows else None)


# ---- code, resend, cancel ----------------------------------------------------------------
def as_refusal(message: str, default_rule: str) -> RuleRefusal:
    """A workflow's refusal text as a ``RuleRefusal``, keeping the rule it already cites."""
    match = _RULE_PREFIX.match(message.strip())
    if match:
        return RuleRefusal(match.group(1), match.group(2))
    return RuleRefusal(default_rule, message.strip())


def ended(engine: Engine, withdrawal_id: str, rule: str) -> RuleRefusal:
    """The refusal for a withdrawal whose workflow no longer runs (or ``NotFound``)."""
    recorded = _record(engine, withdrawal_id)
    if recorded is None:
        raise unknown_withdrawal(withdrawal_id)
    return RuleRefusal(
        rule,
        f"withdrawal {withdrawal_id} is already "
        f"{status_with_reason(recorded.status, recorded.reason)}",
    )


async def run_update(
    engine: Engine,
    withdrawal_id: str,
    rule: str,
    call: Callable[[], Awaitable[T]],
) -> T:
    """Run an update (code, resend, cancel). A validator's refusal becomes a
    ``RuleRefusal`` citing ``rule`` unless it cites its own; a workflow that has closed
    or is gone is answered from the database record: how it ended, or that it never was.
    """
    try:
        return await call()
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise as_refusal(message, rule) from None
    except RPCError as error:
        if not is_not_found(error):
            raise
    raise await asyncio.to_thread(ended, engine, withdrawal_id, rule)


def code_update_id(withdrawal_id: str, code: str, key: str | None = None) -> str:
    """The same code sent again (a retry after a lost answer) is the same update, so
    Temporal answers it as it answered the first instead of counting a second attempt.
    Only a hash of the code is used: update ids are visible in the history."""
    if key is not None:
        return f"code:{key}"
    digest = hashlib.sha256(f"{withdrawal_id}:{code}".encode()).hexdigest()[:32]
    return f"code:{digest}"


def parse_code(code: str) -> CodeSubmission:
    submission = CodeSubmission(code=code.strip())
    problem = submission.problem()
    if problem is not None:
        raise problem.error()
    return submission


async def submit_code(
    engine: Engine,
    client: WithdrawalClient,
    withdrawal_id: str,
    code: str,
    *,
    idempotency_key: str | None = None,
    actor: str | None = None,
) -> CodeResult:
    """R15: verified, wrong (attempts left) or expired; a malformed code never reaches
    the workflow; a refused submission (no code awaited, no attempts left) is a refusal."""
    submission = parse_code(code)
    update_id = code_update_id(withdrawal_id, submission.code, idempotency_key)
    result = await run_update(
        engine,
        withdrawal_id,
        RULE_CODE,
        lambda: client.submit_code(withdrawal_id, submission.code, update_id=update_id),
    )
    if actor is not None:
        await asyncio.to_thread(
            _audit, engine, actor, "code.submit", withdrawal_id, result.verdict.value
        )
    return result


async def resend(
    engine: Engine,
    client: WithdrawalClient,
    withdrawal_id: str,
    *,
    idempotency_key: str | None = None,
    actor: str | None = None,
) -> ResendResult:
    """R15: text a new code; throttled by the workflow (a refusal says when to retry)."""
    update_id = f"resend:{idempotency_key}" if idempotency_key else None
    result = await run_update(
        engine,
        withdrawal_id,
        RULE_CODE,
        lambda: client.resend(withdrawal_id, update_id=update_id),
    )
    if actor is not None:
        await asyncio.to_thread(_audit, engine, actor, "code.resend", withdrawal_id, "sent")
    return result


async def cancel(
    engine: Engine,
    client: WithdrawalClient,
    withdrawal_id: str,
    by: str | None = None,
    *,
    actor: str | None = None,
) -> WithdrawalStatusDoc:
    """Cancel before payout (R18 *beyond*, R19: the frozen money returns).

    One cancel per withdrawal: a retry (after a lost answer) is the same update and gets
    the first one's answer; once the withdrawal has ended cancelled, so does any retry.
    """
    try:
        doc = await run_update(
            engine,
            withdrawal_id,
            RULE_CANCEL,
            # One update per asserted canceller: a retry after a lost answer gets the first
            # answer, while a stranger's refused cancel never stands in for the applicant's.
            lambda: audited_cancel(
                engine,
                withdrawal_id,
                by,
                lambda: client.cancel(withdrawal_id, by=by, update_id=f"cancel:{by or ''}"),
                api_key=actor,
            ),
        )
    except RuleRefusal:
        recorded = await asyncio.to_thread(_record, engine, withdrawal_id)
        if recorded is None or recorded.status is not Status.CANCELLED:
            raise
        doc = (await find_status(engine, client, withdrawal_id))[0]
    if actor is not None:
        await asyncio.to_thread(_audit, engine, actor, "withdrawal.cancel", withdrawal_id)
    return with_calendar_check(doc)
