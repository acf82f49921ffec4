"""Every ``/v1`` endpoint end to end: the API process, Temporal, the worker, the simulators
and the ledger, all real (CONTRACT.md, "HTTP API"). Each error status is provoked once:
400, 401, 404, 409, 413, 422 (with ``rule``); 429 is in ``test_guard.py``.
"""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from application import withdrawals
from application.problems import RequestConflict
from client.withdrawals import WithdrawalClient
from ledger import audit
from ledger.db import get_engine, session_scope
from tests.api.conftest import PDF_PROOF, Api
from tests.launched import new_id

PERSONAL = "acct-personal"
PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def create(api: Api, **body: Any) -> httpx.Response:
    return api.post("/v1/withdrawals", json=body)


def test_every_v1_endpoint_refuses_a_request_without_a_valid_key(api: Api) -> None:
    calls = [
        ("GET", "/v1/accounts/acct-r13/withdrawable"),
        ("POST", "/v1/withdrawals"),
        ("GET", "/v1/withdrawals"),
        ("GET", "/v1/withdrawals/w-1"),
        ("POST", "/v1/withdrawals/w-1/code"),
        ("POST", "/v1/withdrawals/w-1/resend"),
        ("POST", "/v1/withdrawals/w-1/cancel"),
        ("GET", "/v1/accounts/acct-r13/transactions"),
    ]
    base = api.stack.urls.http
    for headers in ({}, {"Authorization": "Bearer not-the-key-at-all"}, {"Authorization": "x"}):
        for method, path in calls:
            response = httpx.request(method, base + path, headers=headers, json={})
            body = problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert body["instance"] == path
    assert httpx.get(base + "/openapi.json").status_code == 200  # the description is public


def test_withdrawable_is_the_cli_document_and_r13_holds(api: Api) -> None:
    document = api.get("/v1/accounts/acct-r13/withdrawable").json()
    assert (document["debts"], document["uncovered_debts"]) == ("700.00", "200.00")
    assert (document["not_withdrawable"], document["withdrawable"]) == ("800.00", "200.00")
    assert document["orders"][0]["order_id"] == "R-R13-1"
    assert "acct-nobody" in problem(api.get("/v1/accounts/acct-nobody/withdrawable"), 404)["detail"]


def test_automatic_withdrawal_create_code_status_list_and_transactions(api: Api) -> None:
    """R15, R16: created (201), a wrong code is an answer, the right one pays out."""
    held_before = Decimal(api.held(PERSONAL))
    withdrawal_id = new_id("api-auto")
    request = {"id": withdrawal_id, "account_id": PERSONAL, "amount": "13.57"}
    response = create(api, **request, order_id="R-P-ALIPAY")
    assert response.status_code == 201, response.text
    started = response.json()
    assert (started["id"], started["status"], started["amount"]) == (
        withdrawal_id,
        "awaiting_code",
        "13.57",
    )
    # The same request again: 200 with the current document, nothing frozen twice.
    again = create(api, **request, order_id="R-P-ALIPAY")
    assert again.status_code == 200 and again.json()["id"] == withdrawal_id
    assert Decimal(api.held(PERSONAL)) == held_before + Decimal("13.57")

    code = api.latest_code(PERSONAL)
    wrong = "000000" if code != "000000" else "111111"
    answer = api.post(f"/v1/withdrawals/{withdrawal_id}/code", json={"code": wrong})
    assert answer.status_code == 200
    assert answer.json() == {
        "id": withdrawal_id,
        "verdict": "wrong",
        "attempts_left": 4,
        "status": "awaiting_code",
    }
    refused = problem(api.post(f"/v1/withdrawals/{withdrawal_id}/resend"), 422)
    assert refused["rule"] == "R15" and "a new code can be sent in" in refused["detail"]
    assert problem(api.post(f"/v1/withdrawals/{withdrawal_id}/code", json={"code": "12"}), 400)[
        "detail"
    ].startswith("code: 6 digits")
    verified = api.post(f"/v1/withdrawals/{withdrawal_id}/code", json={"code": code})
    assert verified.json()["verdict"] == "verified"
    # A retry after a lost answer is answered as the first was, not as a new attempt.
    retried = api.post(f"/v1/withdrawals/{withdrawal_id}/code", json={"code": code})
    assert retried.status_code == 200 and retried.json()["verdict"] == "verified"

    done = api.wait_for_status(withdrawal_id, "succeeded")
    assert (done["amount"], done["route"], done["kind"], done["reason"]) == (
        "13.57",
        "original",
        "recharge",
        None,
    )
    assert done["timeline"][0]["at"].endswith(("Z", "+00:00"))
    ended = problem(api.post(f"/v1/withdrawals/{withdrawal_id}/cancel", json={}), 422)
    assert ended == {**ended, "rule": "R18"} and "already succeeded" in ended["detail"]

    listed = api.get("/v1/withdrawals", params={"account_id": PERSONAL, "status": "succeeded"})
    assert withdrawal_id in [w["id"] for w in listed.json()["withdrawals"]]
    details = api.get(f"/v1/accounts/{PERSONAL}/transactions", params={"type": "withdrawal"})
    entries = [e for e in details.json()["transactions"] if e["withdrawal_id"] == withdrawal_id]
    assert [(e["direction"], e["amount"]) for e in entries] == [("debit", "13.57")]
    csv = api.get(f"/v1/accounts/{PERSONAL}/transactions", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "at,type,direction,amount,balance_after,withdrawal_id,note"
    assert any(withdrawal_id in line and ",13.57," in line for line in csv.text.splitlines())
    assert problem(api.get(f"/v1/accounts/{PERSONAL}/transactions?since=yesterday"), 400)[
        "field"
    ] == ("since")
    with session_scope(get_engine(api.stack.urls.database_url)) as session:
        actors = {(e.actor, e.action) for e in audit.entries(session, subject=withdrawal_id)}
    assert ("api:dev", "withdrawal.create") in actors  # the key's name is the actor
    assert ("api:dev", "code.submit") in actors


def test_amounts_are_strings_with_two_decimals_and_bad_input_is_400(api: Api) -> None:
    base = {"account_id": PERSONAL, "order_id": "R-P-ALIPAY"}
    for amount, expected in (
        (12.5, "amount: Input should be a valid string"),
        (12, "amount: Input should be a valid string"),
        ("1.234", "amount: at most two decimals"),
        ("0.00", "amount: must be more than 0.00"),
        ("-1.00", "amount: amount must not be negative"),
    ):
        body = problem(create(api, **base, amount=amount), 400)
        assert body["detail"].startswith(expected), body
        assert body["field"] == "amount"
    assert problem(create(api, account_id=PERSONAL, amount="1.00"), 400)["field"] == "order_id"
    bad_json = api.post(
        "/v1/withdrawals", content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(bad_json, 400)
    unknown_field = problem(create(api, **base, amount="1.00", surprise=True), 400)
    assert unknown_field["field"] == "surprise"
    assert problem(create(api, **base, amount="1.00", id="has space"), 400)["field"] == "id"


def test_refusals_by_a_rule_are_422_with_the_rule_and_the_cli_words(api: Api) -> None:
    cases = [
        ({"account_id": "acct-r13", "order_id": "R-R13-1", "amount": "200.01"}, "R14"),
        ({"account_id": "acct-frozen", "order_id": "R-FROZEN-1", "amount": "1.00"}, "R1"),
        ({"account_id": PERSONAL, "order_id": "R-P-ICBC-OLD", "amount": "1.00"}, "R8"),
        ({"account_id": PERSONAL, "order_id": "R-RISK-1", "amount": "1.00"}, "R5"),
        (
            {"account_id": PERSONAL, "order_id": "R-P-CMB", "amount": "1.00", "by": "acct-risk"},
            "R2",
        ),
    ]
    for body, rule in cases:
        refused = problem(create(api, **body), 422)
        assert refused["rule"] == rule, refused
        assert refused["detail"].startswith(f"{rule}: "), refused
    assert create(api, account_id="acct-nobody", order_id="R-1", amount="1.00").status_code == 404
    assert api.get("/v1/withdrawals", params={"account_id": "acct-frozen"}).json() == {
        "withdrawals": [],
        "next_cursor": None,
    }


def test_same_id_with_another_request_is_409_naming_the_first_differing_field(api: Api) -> None:
    """Issue 13 item 6: every part of the request counts; ``by`` does not. Issue 22 item 7:
    the payee is one unit, ``payee``, whichever of its parts differs."""
    withdrawal_id = new_id("api-same")
    first = {
        "account_id": PERSONAL,
        "non_recharge": True,
        "amount": "2.00",
        "to": "alipay",
        "reason": "payer_account_closed",
        "payee_account": "payee@example.com",
        "payee_name": "Li Lei",
        "proofs": [{"filename": "p.pdf", "content_base64": base64.b64encode(PDF_PROOF).decode()}],
    }
    headers = {"Idempotency-Key": withdrawal_id}
    created = api.post("/v1/withdrawals", json=first, headers=headers)
    assert created.status_code == 201, created.text
    assert (
        created.json()["status"] == "awaiting_code"
        and created.json()["payee"] == "p***@example.com"
    )
    other_proof = base64.b64encode(PDF_PROOF + b"% another\n").decode()
    for change, field in (
        ({"amount": "2.01"}, "amount"),
        ({"payee_name": "Han Meimei"}, "payee"),
        ({"payee_account": "other@example.com"}, "payee"),
        ({"reason": "limit_passed"}, "reason"),
        ({"proofs": [{"filename": "p.pdf", "content_base64": other_proof}]}, "proofs"),
        ({"account_id": "acct-r13"}, "account_id"),
    ):
        conflict = problem(
            api.post("/v1/withdrawals", json={**first, **change}, headers=headers), 409
        )
        assert conflict["field"] == field and conflict["detail"].startswith(f"{field}: "), conflict
    same = api.post("/v1/withdrawals", json={**first, "by": PERSONAL}, headers=headers)
    assert same.status_code == 200  # who asked is not part of the request
    mismatch = api.post("/v1/withdrawals", json={**first, "id": "w-other"}, headers=headers)
    assert problem(mismatch, 400)["field"] == "id"
    cancelled = api.post(f"/v1/withdrawals/{withdrawal_id}/cancel", json={"by": PERSONAL})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # A cancel retried after a lost answer gets the first answer.
    retried = api.post(f"/v1/withdrawals/{withdrawal_id}/cancel", json={"by": PERSONAL})
    assert retried.status_code == 200 and retried.json()["status"] == "cancelled"


def test_concurrent_duplicates_create_one_withdrawal(api: Api) -> None:
    held_before = Decimal(api.held(PERSONAL))
    withdrawal_id = new_id("api-race")
    body = {"id": withdrawal_id, "account_id": PERSONAL, "order_id": "R-P-CARD", "amount": "3.21"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: create(api, **body), range(4)))
    assert {a.status_code for a in answers} <= {200, 201}, [a.text for a in answers]
    assert {a.json()["id"] for a in answers} == {withdrawal_id}
    assert Decimal(api.held(PERSONAL)) == held_before + Decimal("3.21")  # frozen once
    listed = api.get("/v1/withdrawals", params={"account_id": PERSONAL, "limit": 200}).json()
    assert [w["id"] for w in listed["withdrawals"]].count(withdrawal_id) == 1
    assert api.post(f"/v1/withdrawals/{withdrawal_id}/cancel").json()["status"] == "cancelled"


def test_concurrent_different_requests_under_one_id_one_wins_the_other_is_409(api: Api) -> None:
    """Also when the second arrives before the first has written its record (issue 13.6)."""
    withdrawal_id = new_id("api-race-diff")
    base = {"id": withdrawal_id, "account_id": PERSONAL, "order_id": "R-P-CARD"}
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda amount: create(api, **base, amount=amount), ["1.11", "2.22"])
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["field"] == "amount"
    assert api.post(f"/v1/withdrawals/{withdrawal_id}/cancel").json()["status"] == "cancelled"


def test_unknown_withdrawal_is_404_everywhere(api: Api) -> None:
    missing = new_id("api-missing")
    for response in (
        api.get(f"/v1/withdrawals/{missing}"),
        api.post(f"/v1/withdrawals/{missing}/code", json={"code": "123456"}),
        api.post(f"/v1/withdrawals/{missing}/resend"),
        api.post(f"/v1/withdrawals/{missing}/cancel", json={}),
    ):
        assert missing in problem(response, 404)["detail"]


def test_list_pages_by_cursor_newest_first(api: Api) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/withdrawals", params=params).json()
        assert len(page["withdrawals"]) <= 2
        seen += [w["id"] for w in page["withdrawals"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = api.get("/v1/withdrawals", params={"limit": 200}).json()["withdrawals"]
    assert seen == [w["id"] for w in everything] and len(seen) >= 3
    created = [w["created_at"] for w in everything]
    assert created == sorted(created, reverse=True)
    assert problem(api.get("/v1/withdrawals", params={"limit": 201}), 400)["field"] == "limit"
    assert problem(api.get("/v1/withdrawals", params={"cursor": "nonsense"}), 400)["field"] == (
        "cursor"
    )


def test_proofs_upload_as_base64_with_the_cli_limits(api: Api) -> None:
    base = {
        "account_id": PERSONAL,
        "non_recharge": True,
        "amount": "1.00",
        "to": "alipay",
        "reason": "payer_account_closed",
        "payee_account": "payee@example.com",
        "payee_name": "Li Lei",
    }
    text_file = base64.b64encode(b"just text").decode()
    refused = problem(
        create(api, **base, proofs=[{"filename": "a.txt", "content_base64": text_file}]), 400
    )
    assert (
        refused["detail"] == "proof: a.txt: only PDF, JPEG or PNG files are accepted as proof (R9)"
    )
    broken = problem(
        create(api, **base, proofs=[{"filename": "b.pdf", "content_base64": "%%%"}]), 400
    )
    assert broken["field"] == "proofs"
    assert problem(create(api, **base), 400)["detail"].startswith("proofs: a designated")
    # Larger than the limit: refused from the header, before the body is read.
    huge = api.post(
        "/v1/withdrawals",
        content=b"{" + b" " * (15 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert "larger than" in problem(huge, 413)["detail"]

    def chunks() -> Any:
        for _ in range(16):
            yield b" " * (1024 * 1024)

    streamed = api.post(
        "/v1/withdrawals", content=chunks(), headers={"content-type": "application/json"}
    )
    problem(streamed, 413)  # no Content-Length: refused once the bytes pass the limit


def test_idempotency_rests_on_the_ledger_after_temporal_forgot_the_workflow(api: Api) -> None:
    """Temporal wiped (a fresh server, as after retention dropped the run): the ledger's
    record still answers for the id, from the API and from the CLI alike."""
    withdrawal_id = new_id("api-forgotten")
    body = {"id": withdrawal_id, "account_id": PERSONAL, "order_id": "R-P-CARD", "amount": "1.23"}
    assert create(api, **body).status_code == 201
    assert api.post(f"/v1/withdrawals/{withdrawal_id}/cancel").json()["status"] == "cancelled"
    engine = get_engine(api.stack.urls.database_url)
    same, conflict, cli = asyncio.run(_with_a_fresh_temporal(api, engine, body))
    assert (same.created, same.document.status.value) == (False, "cancelled")
    assert conflict.field == "order_id"
    assert cli.returncode == 2 and cli.stdout == ""
    assert cli.stderr.strip() == str(conflict)  # the same words from either face


async def _with_a_fresh_temporal(
    api: Api, engine: Engine, body: dict[str, Any]
) -> tuple[withdrawals.Created, RequestConflict, subprocess.CompletedProcess[str]]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), ui=False
    ) as fresh:
        client = WithdrawalClient(fresh.client)
        request = withdrawals.to_request(withdrawals.WithdrawalCreate(**body))
        now = datetime.now(UTC)
        same = await withdrawals.create(engine, client, request, now)
        other = withdrawals.to_request(
            withdrawals.WithdrawalCreate(**{**body, "order_id": "R-P-ALIPAY"})
        )
        with pytest.raises(RequestConflict) as refused:
            await withdrawals.create(engine, client, other, now)
        env = {
            **api.stack.child_env(),
            "TEMPORAL_ADDRESS": fresh.client.service_client.config.target_host,
        }
        cli = await asyncio.to_thread(
            subprocess.run,
            [
                *(sys.executable, "starter.py", "withdraw", "--json", "--id", body["id"]),
                *("--account", PERSONAL, "--order", "R-P-ALIPAY", "--amount", "1.23"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    return same, refused.value, cli


def test_what_the_openapi_document_allows_is_never_bad_input(api: Api) -> None:
    """Issue 26: a reversed time range is an empty answer (the document cannot say that
    `until` must follow `since`); a 405 names every method the path serves; a cursor has
    the documented form; the create answer links to what comes next."""
    reversed_range = api.get(
        f"/v1/accounts/{PERSONAL}/transactions",
        params={"since": "2026-11-05", "until": "2026-11-01"},
    )
    assert reversed_range.status_code == 200 and reversed_range.json()["count"] == 0
    assert api.get(f"/v1/accounts/{PERSONAL}/transactions?since=9999-12-31").status_code == 200
    method = api.http.request("DELETE", "/v1/withdrawals")
    assert method.status_code == 405 and method.headers["allow"] == "GET, POST"
    page = api.get("/v1/withdrawals", params={"limit": 1}).json()
    assert page["next_cursor"] is None or re.fullmatch(
        withdrawals.CURSOR_PATTERN, page["next_cursor"]
    )
    document = api.get("/openapi.json").json()
    create = document["paths"]["/v1/withdrawals"]["post"]
    links = create["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "getWithdrawal",
        "submitCode",
        "resendCode",
        "cancelWithdrawal",
    }
    schemas = document["components"]["schemas"]
    assert schemas["WithdrawalCreate"]["properties"]["amount"]["pattern"] == (
        withdrawals.AMOUNT_PATTERN
    )
