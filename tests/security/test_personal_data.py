"""Nothing personal in the clear (R9 payees, R15 phones and codes): workflow ids, search
attributes, summaries, history payloads and logs carry no phone number, payee name or
full account number. A reader without the keys sees ciphertext; with them, the payee."""

from __future__ import annotations

import logging

import pytest
from temporalio.client import Client

from client.connection import plain_data_converter
from codec.encryption import ENCODING, EncryptionCodec
from models.domain import DesignatedReason, Route, Status
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.security.history import history_payloads, raw_bytes
from tests.support.withdrawals import workflow_handle
from tests.workflows import data
from tests.workflows.harness import Stack, bank_payee
from tests.workflows.keys import TEST_KEYS

Fakes = tuple[FakePayoutProvider, FakeSmsProvider]
PHONE = data.PHONES["acct-auto"]
PERSONAL = (PHONE, PHONE.lstrip("+"), data.PAYEE_NAME, data.BANK_ACCOUNT_NUMBER)


def outsider(stack: Stack) -> Client:
    """A client on the same server with the plain pydantic converter: no keys."""
    temporal = stack.env.client
    return Client(
        temporal.service_client,
        namespace=temporal.namespace,
        data_converter=plain_data_converter(),
    )


async def approved_bank_withdrawal(stack: Stack, amount: str = "200.00") -> str:
    """A withdrawal to the fixture's bank payee, verified and approved: paying out now."""
    wid = await stack.start(
        amount=amount,
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    decision = await stack.approve(wid, "rev-1", "proof matches")
    assert decision is not None and decision.accepted
    return wid


async def run_bank_withdrawal(stack: Stack) -> str:
    wid = await approved_bank_withdrawal(stack)
    doc = await stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    return wid


async def test_raw_history_and_logs_carry_no_personal_data(
    fake_stack: Stack, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the in-process worker's logs land here too
    _, sms = fakes
    wid = await run_bank_withdrawal(fake_stack)
    codes = [m.code for m in sms.inbox(PHONE) if m.code]
    assert codes, "the SMS provider, and only it, got the code"

    handle = workflow_handle(outsider(fake_stack), wid)
    history = await handle.fetch_history()
    description = await handle.describe()
    raw = raw_bytes(history, [description.raw_description])
    for secret in PERSONAL:
        assert secret.encode() not in raw, f"{secret!r} in the raw history or description"
        assert secret not in caplog.text, f"{secret!r} in the logs"
    assert wid in handle.id and PHONE not in handle.id

    payloads = history_payloads(history)
    assert payloads and all(p.metadata["encoding"] == ENCODING for p in payloads)
    for code in codes:
        assert all(code.encode() not in p.data for p in payloads)
        assert code not in caplog.text, "a verification code reached the logs"

    # The same history, decoded with the keys, does hold the payee: the scan above can fail.
    decoded = b"".join(p.data for p in await EncryptionCodec(TEST_KEYS).decode(payloads))
    assert data.BANK_ACCOUNT_NUMBER.encode() in decoded
    assert data.PAYEE_NAME.encode() in decoded


async def test_code_is_neither_input_nor_result_of_the_send_activity(
    fake_stack: Stack, fakes: Fakes
) -> None:
    """R15: the code is made and texted inside ``send_code``; history never carries it."""
    _, sms = fakes
    wid = await fake_stack.start(amount="30.00")
    await fake_stack.wait_status(wid, Status.AWAITING_CODE)
    code = await fake_stack.code_for("acct-auto")
    history = await workflow_handle(fake_stack.env.client, wid).fetch_history()
    codec = EncryptionCodec(TEST_KEYS)
    send_events = {
        event.event_id
        for event in history.events
        if event.activity_task_scheduled_event_attributes.activity_type.name == "send_code"
    }
    assert send_events
    for event in history.events:
        scheduled = event.activity_task_scheduled_event_attributes
        completed = event.activity_task_completed_event_attributes
        if event.event_id in send_events:
            payloads = list(scheduled.input.payloads)
        elif completed.scheduled_event_id in send_events:
            payloads = list(completed.result.payloads)
        else:
            continue
        for payload in await codec.decode(payloads):
            assert code.encode() not in payload.data
    assert sms.last_code(PHONE) == code  # the provider got it
