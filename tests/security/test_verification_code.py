"""R15 hardening: codes come from ``secrets``, are stored only as keyed hashes bound to
amount and payee, verify once, expire, and are limited in attempts and re-sends; the
code goes to the SMS provider and nowhere else."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from ledger import audit, tables, verification_codes
from ledger.db import dispose_engine, get_engine
from models.domain import DesignatedReason, Payee, Route, Status, WithdrawalRequest
from models.limits import (
    CODE_RESEND_COOLDOWN_SECONDS,
    CODE_TTL_SECONDS,
    MAX_CODE_ATTEMPTS,
    MAX_CODE_SENDS,
)
from models.messages import CodeCheck, CodeRequest
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.workflows import data
from tests.workflows.harness import Stack, bank_payee, load_test_accounts, make_request
from tests.workflows.stacks import TEST_CODE_KEY, fake_provider_stack

PHONE = data.PHONES["acct-auto"]
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class CodeBench:
    engine: Engine
    sms: FakeSmsProvider
    activities: WithdrawalActivities
    env: ActivityEnvironment

    async def open(self, request: WithdrawalRequest) -> None:
        await self.env.run(self.activities.open_withdrawal, request)

    async def send(self, request: WithdrawalRequest) -> str:
        order = CodeRequest(
            request=request, sent_at=NOW, expires_at=NOW + timedelta(seconds=CODE_TTL_SECONDS)
        )
        await self.env.run(self.activities.send_code, order)
        code = self.sms.last_code(PHONE)
        assert code is not None
        return code

    async def check(self, withdrawal_id: str, code: str, attempt: int, at: datetime = NOW) -> bool:
        check = CodeCheck(withdrawal_id=withdrawal_id, code=code, at=at, attempt=attempt)
        result: bool = await self.env.run(self.activities.check_code, check)
        return result

    def row(self, withdrawal_id: str) -> tables.VerificationCode:
        with Session(self.engine) as session:
            row = session.get(tables.VerificationCode, withdrawal_id)
            assert row is not None
            return row

    def outcomes(self, withdrawal_id: str) -> list[str]:
        with Session(self.engine) as session:
            rows = audit.entries(session, subject=withdrawal_id)
        return [row.outcome for row in rows if row.action == "code.check"]


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[CodeBench]:
    url = f"sqlite:///{tmp_path / 'codes.db'}"
    engine = get_engine(url)
    load_test_accounts(engine)
    sms = FakeSmsProvider()
    activities = WithdrawalActivities(engine, FakePayoutProvider(), sms, TEST_CODE_KEY)
    yield CodeBench(engine, sms, activities, ActivityEnvironment())
    dispose_engine(url)


def designated_request(amount: str = "100.00") -> WithdrawalRequest:
    return make_request(
        amount=amount,
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )


async def test_code_comes_from_secrets_and_is_stored_only_as_a_keyed_hash(
    bench: CodeBench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    drawn: list[int] = []

    def randbelow(limit: int) -> int:
        drawn.append(limit)
        return 4242

    monkeypatch.setattr(verification_codes.secrets, "randbelow", randbelow)
    request = designated_request()
    await bench.open(request)
    code = await bench.send(request)

    assert drawn == [10**6] and code == "004242"
    stored = bench.row(request.withdrawal_id).code_hash
    assert code not in stored
    assert stored != hashlib.sha256(code.encode()).hexdigest()  # keyed, not a bare digest
    assert verification_codes.code_hash(b"x" * 32, request, code) != stored
    assert code not in caplog.text


@pytest.mark.parametrize("change", ["amount", "payee_account", "payee_name"])
async def test_changing_amount_or_payee_invalidates_the_code(bench: CodeBench, change: str) -> None:
    request = designated_request()
    await bench.open(request)
    code = await bench.send(request)
    with Session(bench.engine) as session:
        record = session.get(tables.Withdrawal, request.withdrawal_id)
        assert record is not None and request.payee is not None
        if change == "amount":
            record.amount_fen += 1
        else:
            payee = request.payee.model_dump()
            field = "account_number" if change == "payee_account" else "name"
            payee[field] = payee[field] + "9"
            record.payee_json = Payee.model_validate(payee).model_dump_json()
        session.add(record)
        session.commit()
    assert await bench.check(request.withdrawal_id, code, attempt=1) is False
    assert bench.outcomes(request.withdrawal_id) == ["wrong"]


async def test_a_code_verifies_once_and_a_retried_check_answers_as_the_first(
    bench: CodeBench,
) -> None:
    request = make_request(amount="10.00")
    await bench.open(request)
    code = await bench.send(request)
    assert await bench.check(request.withdrawal_id, code, attempt=1) is True
    assert await bench.check(request.withdrawal_id, code, attempt=1) is True  # a retry
    assert await bench.check(request.withdrawal_id, code, attempt=2) is False  # reuse
    assert bench.outcomes(request.withdrawal_id) == ["verified", "used"]


async def test_an_expired_code_never_verifies(bench: CodeBench) -> None:
    request = make_request(amount="10.00")
    await bench.open(request)
    code = await bench.send(request)
    expired_at = NOW + timedelta(seconds=CODE_TTL_SECONDS)
    assert await bench.check(request.withdrawal_id, code, attempt=1, at=expired_at) is False
    assert bench.outcomes(request.withdrawal_id) == ["expired"]


async def test_after_the_attempt_limit_even_the_right_code_is_refused(bench: CodeBench) -> None:
    request = make_request(amount="10.00")
    await bench.open(request)
    code = await bench.send(request)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for attempt in range(1, MAX_CODE_ATTEMPTS + 1):
        assert await bench.check(request.withdrawal_id, wrong, attempt=attempt) is False
    assert await bench.check(request.withdrawal_id, code, attempt=MAX_CODE_ATTEMPTS + 1) is False
    assert bench.outcomes(request.withdrawal_id) == ["wrong"] * MAX_CODE_ATTEMPTS + ["locked"]
    assert bench.row(request.withdrawal_id).used is False


async def test_resends_are_limited_per_withdrawal(
    edge_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A server of its own: this test moves the clock minute by minute, and on the session's
    # shared server those sleeps timed out ("Timeout expired") under a full suite's load.
    async with fake_provider_stack(edge_env, tmp_path, WithdrawalActivities) as (fake_stack, _):
        await _resend_until_refused(fake_stack)


async def _resend_until_refused(fake_stack: Stack) -> None:
    wid = await fake_stack.start(amount="15.00")
    await fake_stack.wait_status(wid, Status.AWAITING_CODE)
    for _ in range(MAX_CODE_SENDS - 1):
        await fake_stack.env.sleep(CODE_RESEND_COOLDOWN_SECONDS + 1)
        await fake_stack.client.resend(wid)
    await fake_stack.env.sleep(CODE_RESEND_COOLDOWN_SECONDS + 1)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await fake_stack.client.resend(wid)
    assert f"at most {MAX_CODE_SENDS} codes" in str(refused.value.cause)
    with Session(fake_stack.engine) as session:
        row = session.get(tables.VerificationCode, wid)
        assert row is not None and row.send_count == MAX_CODE_SENDS
