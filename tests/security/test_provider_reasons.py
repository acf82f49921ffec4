"""A provider's free-text reason never leaks (issue 22, item 7). Providers explain a
failure in their own words, and those words may name the payee ("account 6222… of Zhang
Sanfeng is closed"). They are mapped to the fixed vocabulary of
``models.provider_reasons`` where they enter; only the word reaches the status document,
the record and its timeline, the audit trail, the webhook events, the search attributes
and the Web UI's details, and the logs. The raw text is kept in the encrypted history
only, which this test also shows (so the scans above it could fail)."""

from __future__ import annotations

import json
import logging

import pytest
from sqlmodel import Session, col, select

from codec.encryption import EncryptionCodec
from gateways.payout import TransferRequest
from ledger import tables
from models.domain import Status
from models.provider_reasons import ProviderReason, provider_reason
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.security.history import history_payloads, raw_bytes
from tests.security.test_personal_data import approved_bank_withdrawal, outsider
from tests.support.withdrawals import workflow_handle
from tests.workflows import data
from tests.workflows.harness import Stack
from tests.workflows.keys import TEST_KEYS

Fakes = tuple[FakePayoutProvider, FakeSmsProvider]
PERSONAL = (data.PAYEE_NAME, data.BANK_ACCOUNT_NUMBER)
# What a real provider might say: the payee's full account number and name in the text.
FAILURE_TEXT = f"account {data.BANK_ACCOUNT_NUMBER} of {data.PAYEE_NAME} closed at the bank"


def refusal_naming_the_payee(request: TransferRequest, now: object) -> str | None:
    assert request.payee is not None
    return f"no such account {request.payee.account_number} for {request.payee.name}"


def _everything_written(stack: Stack, wid: str) -> str:
    """The record, its timeline, its audit rows and its webhook events, as text."""
    with Session(stack.engine) as session:
        record = session.get(tables.Withdrawal, wid)
        assert record is not None
        rows: list[object] = [record.reason, record.status]
        events = select(tables.WithdrawalEvent).where(tables.WithdrawalEvent.withdrawal_id == wid)
        rows += [event.note for event in session.exec(events)]
        audit = select(tables.AuditEntry).where(col(tables.AuditEntry.subject) == wid)
        rows += [(a.action, a.outcome, a.detail) for a in session.exec(audit)]
        hooks = select(tables.WebhookEvent).where(tables.WebhookEvent.withdrawal_id == wid)
        bodies = [hook.body for hook in session.exec(hooks)]
    assert bodies, "the status changes were written to the webhook outbox"
    return json.dumps(rows, default=str) + "".join(bodies)


async def _assert_only_the_word(
    stack: Stack, wid: str, word: ProviderReason, logs: str, raw_kept: bool
) -> None:
    doc = await stack.client.result(wid)
    assert doc.status is Status.FAILED and doc.reason == word.value
    written = _everything_written(stack, wid)
    assert word.value in written
    handle = workflow_handle(outsider(stack), wid)
    history = await handle.fetch_history()
    description = await handle.describe()
    raw = raw_bytes(history, [description.raw_description])
    for secret in PERSONAL:
        assert secret not in doc.model_dump_json(), "in the status document"
        assert secret not in written, "in the record, timeline, audit trail or webhooks"
        assert secret.encode() not in raw, "in the history's clear parts or search attributes"
        assert secret not in logs, "in the logs"
    if raw_kept:  # the provider's own words stay in the encrypted history
        decoded = await EncryptionCodec(TEST_KEYS).decode(history_payloads(history))
        assert any(FAILURE_TEXT.encode() in p.data for p in decoded)


async def test_a_failure_reason_naming_the_payee_reaches_nothing_but_the_history(
    fake_stack: Stack, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payout, _ = fakes
    payout.auto_settle = False
    wid = await approved_bank_withdrawal(fake_stack, "120.00")
    await fake_stack.wait_until(lambda: payout.request_for(wid) is not None)
    payout.fail(wid, FAILURE_TEXT)
    await _assert_only_the_word(
        fake_stack, wid, ProviderReason.ACCOUNT_CLOSED, caplog.text, raw_kept=True
    )


async def test_a_refusal_naming_the_payee_reaches_nothing_but_the_word(
    fake_stack: Stack,
    fakes: Fakes,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr("standins.fakes.refusal_at_submit", refusal_naming_the_payee)
    wid = await approved_bank_withdrawal(fake_stack, "120.00")
    await _assert_only_the_word(
        fake_stack, wid, ProviderReason.ACCOUNT_INVALID, caplog.text, raw_kept=False
    )


@pytest.mark.parametrize(
    ("text", "fallback", "word"),
    [
        (
            "Insufficient balance in the settlement account",
            ProviderReason.UNKNOWN,
            "insufficient_funds",
        ),
        ("account name does not match the closed account", ProviderReason.UNKNOWN, "name_mismatch"),
        ("payee account closed", ProviderReason.REFUSED_BY_PROVIDER, "account_closed"),
        ("invalid account number", ProviderReason.REFUSED_BY_PROVIDER, "account_invalid"),
        ("original route expired: ... (R8)", ProviderReason.REFUSED_BY_PROVIDER, "route_expired"),
        (
            "incomplete bank payee: branch details missing (R10)",
            ProviderReason.REFUSED_BY_PROVIDER,
            "details_incomplete",
        ),
        (
            "idempotency key reused with different details",
            ProviderReason.REFUSED_BY_PROVIDER,
            "key_conflict",
        ),
        ("payee bank returned the transfer", ProviderReason.UNKNOWN, "returned"),
        ("系统繁忙 Zhang Sanfeng 6222020200112233445", ProviderReason.UNKNOWN, "unknown"),
        (
            "payout provider refused: HTTP 403",
            ProviderReason.REFUSED_BY_PROVIDER,
            "refused_by_provider",
        ),
        ("account_closed", ProviderReason.UNKNOWN, "account_closed"),
        (None, ProviderReason.UNKNOWN, "unknown"),
    ],
)
def test_free_text_maps_to_one_fixed_word(
    text: str | None, fallback: ProviderReason, word: str
) -> None:
    assert provider_reason(text, fallback).value == word
