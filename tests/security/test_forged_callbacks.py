"""Item 1 end to end: forged payout callbacks against the dev server leave a withdrawal's
money held and its status unchanged (R19); the real path still pays afterwards."""

from __future__ import annotations

import base64
import time

import httpx
from temporalio.client import Client

from callbacks.receiver import CALLBACK_PATH, create_app
from gateways import webhook_signature
from gateways.http_payout import parse_callback
from gateways.payout import Transfer, TransferState
from ledger.tables import HoldState
from models.domain import DesignatedReason, Route, Status
from models.money import Money
from tests.workflows.harness import Stack, bank_payee, fen

SECRET = "whsec_" + base64.b64encode(b"provider-secret-for-tests-32byte").decode()
FORGER_SECRET = "whsec_" + base64.b64encode(b"a-forger-guesses-some-secret-key").decode()


async def test_forged_callbacks_change_nothing(sim_stack: Stack) -> None:
    wid = await sim_stack.start(
        amount="200.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await sim_stack.verify(wid, "acct-auto")
    await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    held_before = sim_stack.account("acct-auto").held_fen

    async def temporal() -> Client:
        return sim_stack.env.client

    app = create_app(temporal, parse_callback, secret=SECRET, engine=sim_stack.engine)
    receiver = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
    now = int(time.time())
    failed = Transfer(idempotency_key=wid, state=TransferState.FAILED, amount=Money(fen("200.00")))
    succeeded = failed.model_copy(update={"state": TransferState.SUCCEEDED})
    attempts: list[tuple[Transfer, dict[str, object]]] = [
        (failed, {}),  # unsigned: "release the money", the bank may still pay
        (succeeded, {"secret": FORGER_SECRET}),  # wrongly signed: "post the hold"
        (failed, {"at": now - webhook_signature.TOLERANCE_SECONDS - 1}),  # stale capture
    ]
    for transfer, how in attempts:
        body = transfer.model_dump_json().encode()
        secret = str(how.get("secret", SECRET))
        stamp = int(str(how.get("at", now)))
        headers = (
            webhook_signature.signed_headers(secret, f"msg_{time.monotonic_ns()}", stamp, body)
            if how
            else {}
        )
        response = await receiver.post(CALLBACK_PATH, content=body, headers=headers)
        assert response.status_code == 401, how

    doc = await sim_stack.client.status(wid)
    assert doc.status is Status.UNDER_REVIEW and doc.provider_reference is None
    hold = sim_stack.hold(wid)
    assert hold is not None and hold.state == HoldState.HELD.value
    assert sim_stack.account("acct-auto").held_fen == held_before
    assert await sim_stack.payout.lookup(wid) is None

    approved = await sim_stack.approve(wid, "rev-1", "proof matches")
    assert approved is not None and approved.accepted
    assert (await sim_stack.client.result(wid)).status is Status.SUCCEEDED
    assert sim_stack.hold(wid).state == HoldState.POSTED.value  # type: ignore[union-attr]
