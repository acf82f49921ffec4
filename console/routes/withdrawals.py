"""One withdrawal under review: its page, its proofs, and the reviewer's decision
(through ``application.decisions.decide``, with a proof signed for the reviewer)."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from temporalio.service import RPCError

from application import decisions
from application.proofs import proof_path, read_proof_file, sniff_proof_type
from application.records import status_label
from application.review_queue import (
    recorded_status,
    review_case,
)
from application.withdrawals import SOURCE_WORKFLOW, find_status
from client.withdrawals import workflow_id
from config import settings
from console import i18n
from console.pages import (
    DEFAULT_TEMPORAL_UI,
    PREFIX,
    PROOF_POLICY,
    PROOF_SNIFF_BYTES,
    csrf_refused,
    duration,
    page_for,
    security_headers,
    services_of,
    signed_in_session,
    to_sign_in,
    utc_now,
)
from console.sessions import ConsoleSession
from models.domain import Status, WithdrawalStatusDoc
from models.errors import InputError, NotFound
from models.limits import MAX_REVIEW_COMMENT_CHARS
from models.messages import ReviewDecisionKind

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/withdrawals/{withdrawal_id}")
async def withdrawal(request: Request, withdrawal_id: str) -> Response:
    session = await signed_in_session(request)
    if session is None:
        return to_sign_in(request)
    return await _withdrawal_page(request, session, withdrawal_id[:64])


async def _withdrawal_page(
    request: Request, session: ConsoleSession, withdrawal_id: str
) -> Response:
    services = services_of(request)
    page = page_for(request, session)
    case = await asyncio.to_thread(review_case, services.engine, withdrawal_id)
    if case is None:
        return page.render(
            "message.html",
            404,
            message_key="unknown_withdrawal",
            message_values={"id": withdrawal_id},
        )
    doc: WithdrawalStatusDoc | None = None
    live = False
    try:
        doc, source = await find_status(services.engine, await services.temporal(), withdrawal_id)
        live = source == SOURCE_WORKFLOW
    except (RPCError, NotFound, RuntimeError):
        doc = None
    if doc is None:  # Temporal away: the record the workflow wrote as it went
        doc = await asyncio.to_thread(recorded_status, services.engine, withdrawal_id)
    if doc is None:
        return page.render(
            "message.html",
            404,
            message_key="unknown_withdrawal",
            message_values={"id": withdrawal_id},
        )
    proofs = [
        {
            "n": n,
            "url": f"{PREFIX}/withdrawals/{quote(withdrawal_id)}/proofs/{n}",
            "type": _proof_type(reference),
        }
        for n, reference in enumerate(case.proofs, start=1)
    ]
    namespace = os.environ.get("TEMPORAL_NAMESPACE", settings.DEFAULT_NAMESPACE)
    ui = os.environ.get("TEMPORAL_UI_URL", DEFAULT_TEMPORAL_UI).rstrip("/")
    temporal_url = (
        f"{ui}/namespaces/{quote(namespace)}/workflows/{quote(workflow_id(withdrawal_id))}"
    )
    now = utc_now()
    due = case.sla_due_at
    return page.render(
        "withdrawal.html",
        doc=doc,
        case=case,
        live=live,
        proofs=proofs,
        temporal_url=temporal_url,
        sla_due=due,
        sla_left=duration((due - now).total_seconds()) if due else "",
        overdue=doc.review_overdue or (due is not None and now > due),
        under_review=doc.status is Status.UNDER_REVIEW,
        max_comment=MAX_REVIEW_COMMENT_CHARS,
    )


@router.get("/withdrawals/{withdrawal_id}/proofs/{n}")
async def proof(request: Request, withdrawal_id: str, n: int) -> Response:
    session = await signed_in_session(request)
    if session is None:  # proofs are personal documents: never without a session
        return security_headers(
            Response("sign in first", status_code=401, media_type="text/plain"), PROOF_POLICY
        )
    case = await asyncio.to_thread(review_case, services_of(request).engine, withdrawal_id[:64])
    if case is None or not 1 <= n <= len(case.proofs):
        return security_headers(Response(status_code=404), PROOF_POLICY)
    try:
        data = await asyncio.to_thread(read_proof_file, proof_path(case.proofs[n - 1]))
    except InputError:
        return security_headers(Response(status_code=404), PROOF_POLICY)
    media_type = sniff_proof_type(data)
    if media_type is None:  # stored proofs were sniffed on the way in; never guess
        return security_headers(Response(status_code=415), PROOF_POLICY)
    extension = media_type.rsplit("/", 1)[1]
    response = Response(data, media_type=media_type)
    response.headers["Content-Disposition"] = f'inline; filename="proof-{n}.{extension}"'
    security_headers(response, PROOF_POLICY)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@router.post("/withdrawals/{withdrawal_id}/decision")
async def decision(
    request: Request,
    withdrawal_id: str,
    decision: str = Form("", max_length=16),
    comment: str = Form("", max_length=MAX_REVIEW_COMMENT_CHARS * 4),
    csrf_token: str = Form("", max_length=100),
) -> Response:
    withdrawal_id = withdrawal_id[:64]
    page_url = f"{PREFIX}/withdrawals/{quote(withdrawal_id)}"
    session = await signed_in_session(request)
    if session is None:  # back to the page after sign-in, never to a form post
        return RedirectResponse(f"{PREFIX}/sign-in?next={quote(page_url)}", status_code=303)
    if not session.csrf_matches(csrf_token):
        return csrf_refused(request)
    t = page_for(request, session)
    words = i18n.translator(t.language)
    comment = comment.strip()
    try:
        kind = ReviewDecisionKind(decision)
    except ValueError:
        return Response("decision must be approve or reject", status_code=400)
    if kind is ReviewDecisionKind.REJECT and not comment:
        session.flash = ("refused", words("reject_needs_comment"))
        return RedirectResponse(page_url, status_code=303)
    if len(comment) > MAX_REVIEW_COMMENT_CHARS:
        session.flash = ("refused", words("comment_too_long", limit=MAX_REVIEW_COMMENT_CHARS))
        return RedirectResponse(page_url, status_code=303)
    client = await services_of(request).temporal()
    decided = await decisions.decide(client, session.reviewer, withdrawal_id, kind, comment)
    session.flash = _outcome(words, kind, decided)
    return RedirectResponse(page_url, status_code=303)


def _outcome(words: Any, kind: ReviewDecisionKind, decided: decisions.Decided) -> tuple[str, str]:
    label = words(f"{kind.value}_noun")
    recorded, doc = decided.recorded, decided.status
    if recorded is None:
        if doc is not None and doc.status is Status.UNDER_REVIEW:
            return ("refused", words("decision_not_weighed", decision=label))
        status = status_label(doc.status) if doc is not None else "closed"
        return ("refused", words("decision_too_late", status=status))
    if not recorded.accepted:
        return ("refused", words("decision_refused", decision=label, why=recorded.why))
    return ("accepted", words("decision_accepted", decision=label, why=recorded.why))


def _proof_type(reference: str) -> str:
    """``image`` or ``pdf`` from the stored file's first bytes, so the page embeds it right."""
    try:
        with proof_path(reference).open("rb") as file:
            head = file.read(PROOF_SNIFF_BYTES)
    except (OSError, InputError):
        return "missing"
    media_type = sniff_proof_type(head) or ""
    return "pdf" if media_type == "application/pdf" else "image" if media_type else "missing"
