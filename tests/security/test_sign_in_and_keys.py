"""Reviewer sign-in (R17) and the keys every process needs (issue 12, items 2 and 7).

- A wrong password is "authentication failed", nothing more; five in a row lock the
  reviewer for 15 minutes; every attempt is in the audit trail; no plain text is stored.
- A worker started with only the public key (``REVIEW_VERIFY_KEY``) verifies decisions:
  a stolen worker cannot approve.
- ``CODE_HASH_KEY`` is created once, atomically, for every worker in dev; with
  ``WITHDRAWALS_ENV=production`` a process lacking a key refuses to start.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from application.reviews import authenticate, send_decision
from client.withdrawals import WithdrawalClient
from ledger import audit, tables
from ledger.db import get_engine, session_scope
from ledger.loading import load_fixture
from models.decision_proof import public_key_text
from models.domain import DesignatedReason, Route, Status
from models.errors import AuthenticationFailed
from models.fixtures import parse_fixture
from models.limits import LOGIN_LOCK_MINUTES, MAX_LOGIN_FAILURES
from models.messages import ReviewDecisionKind
from standins.simulators.runner import RunningServer
from tests.workflows import data
from tests.workflows.harness import Stack, bank_payee, load_test_accounts
from tests.workflows.keys import TEST_KEY_LINE, review_signing_key, review_verify_key

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30


def load_reviewer(engine: Engine, password: str = "correct horse") -> None:
    fixture = {"reviewers": [{"id": "rev-x", "name": "Reviewer X", "password": password}]}
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture(fixture))


def test_five_wrong_passwords_lock_the_reviewer_for_15_minutes(engine: Engine) -> None:
    load_reviewer(engine)
    with Session(engine) as session:
        stored = session.get(tables.Reviewer, "rev-x")
        assert stored is not None and stored.password_hash is not None
        assert "correct horse" not in stored.password_hash  # a salted scrypt hash only
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert authenticate(engine, "rev-x", "correct horse", now=now).role == "reviewer"
    for attempt in range(MAX_LOGIN_FAILURES):
        with pytest.raises(AuthenticationFailed) as failed:
            authenticate(engine, "rev-x", f"guess {attempt}", now=now)
        assert str(failed.value) == "authentication failed"
    with pytest.raises(AuthenticationFailed):  # locked: even the right password fails
        authenticate(engine, "rev-x", "correct horse", now=now + timedelta(minutes=14))
    with pytest.raises(AuthenticationFailed):  # unknown reviewers get the same answer
        authenticate(engine, "rev-nobody", "anything", now=now)
    later = now + timedelta(minutes=LOGIN_LOCK_MINUTES, seconds=1)
    assert authenticate(engine, "rev-x", "correct horse", now=later).reviewer_id == "rev-x"
    with Session(engine) as session:
        outcomes = [
            (row.outcome, row.detail.split(";")[0])
            for row in audit.entries(session, subject="rev-x")
            if row.action == "reviewer.sign_in"
        ]
    assert outcomes[0] == ("accepted", "role reviewer")
    assert [o for o, _ in outcomes[1:6]] == ["refused"] * MAX_LOGIN_FAILURES
    assert outcomes[6][1].startswith("locked until") and outcomes[-1][0] == "accepted"


def test_a_reviewer_without_a_password_cannot_sign_in(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture({"reviewers": [{"id": "rev-y", "name": "Y"}]}))
    with pytest.raises(AuthenticationFailed):
        authenticate(engine, "rev-y", "")


def _code_key_in(data_dir: str) -> bytes:
    from config import settings

    os.environ.pop("CODE_HASH_KEY", None)
    settings.DATA_DIR = Path(data_dir)  # as WITHDRAWALS_DATA_DIR would set it at start
    return settings.code_key()


def test_processes_starting_at_once_share_one_dev_code_key(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_code_key_in, [str(tmp_path)] * 8)
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert oct((tmp_path / "code-hash.key").stat().st_mode & 0o777) == "0o600"


# Standard Webhooks form: whsec_ and base64 of the key bytes (a test value, never a real one).
TEST_WEBHOOK_SECRET = "whsec_" + "dGVzdC13ZWJob29rLXNlY3JldC0zMi1ieXRlcyEhISE="


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CODE_HASH_KEY", "REVIEW_VERIFY_KEY", "REVIEW_SIGNING_KEY"}
        and key not in {"PAYOUT_CALLBACK_SECRET", "WEBHOOK_SECRET"}
    }
    env.update(
        WITHDRAWALS_ENV="production",
        WITHDRAWALS_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
        TEMPORAL_ADDRESS="127.0.0.1:1",  # never reached: the process must stop before
        PAYLOAD_KEYS=TEST_KEY_LINE,
        WEBHOOK_SECRET=TEST_WEBHOOK_SECRET,
    )
    env.update(extra)
    return env


@pytest.mark.parametrize(
    "command, missing",
    [
        (["worker.py"], "CODE_HASH_KEY"),
        (["-m", "callbacks", "--port", "0"], "PAYOUT_CALLBACK_SECRET"),
    ],
)
def test_production_refuses_to_start_without_its_keys(
    tmp_path: Path, command: list[str], missing: str
) -> None:
    result = subprocess.run(
        [sys.executable, *command],
        cwd=REPO,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
    )
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr
    assert not list(tmp_path.glob("*.key")) and not list(tmp_path.glob("*.secret"))


@pytest.mark.parametrize(
    "given, missing",
    [
        ({"CODE_HASH_KEY": "ab" * 32}, "REVIEW_VERIFY_KEY"),
        ({"CODE_HASH_KEY": "ab" * 32, "REVIEW_VERIFY_KEY": "x", "PAYLOAD_KEYS": ""}, "PAYLOAD"),
        ({"CODE_HASH_KEY": "ab" * 32, "REVIEW_VERIFY_KEY": "x", "WEBHOOK_SECRET": ""}, "WEBHOOK"),
    ],
)
def test_production_worker_needs_every_key(
    tmp_path: Path, given: dict[str, str], missing: str
) -> None:
    if "REVIEW_VERIFY_KEY" in given:
        given["REVIEW_VERIFY_KEY"] = public_key_text(review_verify_key())
    result = subprocess.run(
        [sys.executable, "worker.py"],
        cwd=REPO,
        env=_production_env(tmp_path, **given),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
    )
    assert result.returncode != 0 and f"{missing}" in result.stderr
    assert "is not set" in result.stderr
    assert not list(tmp_path.glob("payload-keys")) and not list(tmp_path.glob("*.key"))


async def test_a_worker_with_only_the_public_key_verifies_decisions(
    sim_stack: Stack, simulators: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    """The worker process gets REVIEW_VERIFY_KEY and nothing else of the review keys
    (production mode, so it cannot invent a dev key either) and still pays an approved
    withdrawal; the signing key exists only here, where the reviewer signed in."""
    payout, sms = simulators
    db = tmp_path / "worker.db"
    engine = get_engine(f"sqlite:///{db}")
    load_test_accounts(engine)
    task_queue = f"withdrawals-pubkey-{uuid.uuid4().hex[:8]}"
    target = sim_stack.env.client.service_client.config.target_host
    env = _production_env(
        tmp_path,
        CODE_HASH_KEY="cd" * 32,
        REVIEW_VERIFY_KEY=public_key_text(review_verify_key()),
        TEMPORAL_ADDRESS=target,
        TEMPORAL_TASK_QUEUE=task_queue,
        DATABASE_URL=f"sqlite:///{db}",
        PAYOUT_GATEWAY_URL=payout.url,
        SMS_GATEWAY_URL=sms.url,
    )
    worker = subprocess.Popen(
        [sys.executable, "worker.py"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        client = WithdrawalClient(sim_stack.env.client, task_queue)
        stack = Stack(
            env=sim_stack.env,
            client=client,
            engine=engine,
            payout=sim_stack.payout,
            sms=sim_stack.sms,
            read_code=sim_stack.read_code,
        )
        wid = await stack.start(
            amount="200.00",
            route=Route.BANK,
            order_id="R-ICBC-OLD",
            reason=DesignatedReason.LIMIT_PASSED,
            payee=bank_payee(),
        )
        await stack.verify(wid, "acct-auto")
        await stack.wait_status(wid, Status.UNDER_REVIEW)
        reviewer = authenticate(engine, "rev-1", data.PASSWORDS["rev-1"])
        decision = await send_decision(
            client,
            reviewer,
            wid,
            ReviewDecisionKind.APPROVE,
            "ok",
            signing_key=review_signing_key(),
        )
        assert decision is not None and decision.accepted, decision
        doc = await asyncio.wait_for(client.result(wid), 30)
        assert doc.status is Status.SUCCEEDED
        await stack.terminate_leftovers()
    finally:
        worker.terminate()
        worker.wait(30)
    assert not list(tmp_path.glob("review-*.key"))  # no key invented, none read
