"""``make run`` as a test: the launcher's own code starts the whole stack on free ports.

One stack serves the module (starting it takes seconds); the tests run in file order and
the last two stop it and start it again on the same data directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.operatorservice.v1 import RemoveSearchAttributesRequest
from temporalio.client import WorkflowExecutionStatus

from callbacks.receiver import CALLBACK_PATH
from client.withdrawals import WithdrawalClient, workflow_id
from codec.encryption import EncryptionCodec
from demo.data import read_fixture
from gateways import webhook_signature
from gateways.payout import Transfer, TransferState
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.messages import CodeVerdict
from models.money import Money
from stack import DEFAULT_FIXTURE, Ports, Stack, StackConfig, dev_server
from tests.support.polling import eventually
from tests.support.withdrawals import SIGNAL_PAYOUT_UPDATE, workflow_handle
from workflows.search_attributes import ALL_KEYS, REVIEW_OVERDUE

# The slowest simulated route settles in this many real seconds; original via Alipay
# (1 hour of 15 business days) then takes a few milliseconds.
SETTLE_SECONDS = 2.0
WAIT_SECONDS = 30.0
# The end-to-end withdrawal's provider answers every request this late (the simulator's
# latency fault): its settlement callback, sent the moment the transfer settles and
# delivered in under a second here, then reaches the workflow while the settlement watch's
# first look-up is still waiting, instead of racing a look-up that ends the run first.
PROVIDER_LATENCY_MS = 4000
POLL_SECONDS = 0.1
AUTOMATIC_ACCOUNT = "acct-personal"  # no overdue debt under its real name: no review (R16)
AUTOMATIC_ORDER = "R-P-ALIPAY"


def child_pids(parent: int) -> set[int]:
    """Live (or unreaped) processes whose parent is ``parent``, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="module")
def children_before() -> set[int]:
    return child_pids(os.getpid())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(data_dir: Path, children_before: set[int]) -> AsyncIterator[Stack]:
    config = StackConfig.local(
        data_dir,
        Ports.free(),
        max_settle_seconds=SETTLE_SECONDS,
        worker_restart_backoff_seconds=0.2,
    )
    running = await Stack.start(config)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def finished() -> dict[str, str]:
    """What one test leaves for the next: the id of the withdrawal that succeeded."""
    return {}


@pytest.fixture(scope="module")
def withdrawals(stack: Stack) -> WithdrawalClient:
    assert stack.client is not None
    return WithdrawalClient(stack.client, stack.config.task_queue)


def security_phone(account_id: str) -> str:
    accounts = read_fixture(DEFAULT_FIXTURE).accounts
    return next(a.security_phone for a in accounts if a.id == account_id)


async def latest_code(sms_url: str, phone: str) -> str | None:
    async with httpx.AsyncClient() as http:
        inbox = (await http.get(sms_url + "/messages", params={"phone": phone})).json()
    return inbox[0]["code"] if inbox else None


@asynccontextmanager
async def slow_provider(stack: Stack, latency_ms: int) -> AsyncIterator[None]:
    """The payout simulator answers each submit and look-up ``latency_ms`` late, then its
    fault settings are put back as they were (the rest of the module runs without)."""
    faults_url = stack.urls.payout + "/admin/faults"
    async with httpx.AsyncClient() as http:
        before = (await http.get(faults_url)).json()
        (await http.post(faults_url, json={**before, "latency_ms": latency_ms})).raise_for_status()
        try:
            yield
        finally:
            (await http.post(faults_url, json=before)).raise_for_status()


async def test_every_part_answers(stack: Stack) -> None:
    assert stack.client is not None
    registered = await dev_server.registered_search_attributes(stack.client, stack.config.namespace)
    for key in ALL_KEYS:
        assert key.name in registered
    async with httpx.AsyncClient() as http:
        for url in (stack.urls.payout, stack.urls.sms, stack.urls.callbacks):
            assert (await http.get(url + "/health")).status_code == 200
        assert (await http.get(stack.urls.ui)).status_code == 200
        # The HTTP API answers with the dev key the banner prints, and only with it.
        api_key = stack.api_key
        assert api_key is not None and f"dev API key        {api_key}" in stack.banner()
        guarded = stack.urls.http + "/v1/withdrawals"
        assert (await http.get(guarded)).status_code == 401
        answer = await http.get(guarded, headers={"Authorization": f"Bearer {api_key}"})
        assert answer.status_code == 200
    assert "Temporal Web UI" in stack.banner()
    assert f"--account {AUTOMATIC_ACCOUNT}" in stack.banner()


async def test_codec_server_decrypts_for_the_web_ui_with_the_token(stack: Stack) -> None:
    sealed = EncryptionCodec(stack.secrets.keys()).encrypt(
        Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    )
    body = json_format.MessageToJson(Payloads(payloads=[sealed]))
    async with httpx.AsyncClient() as http:
        ui_settings = (await http.get(stack.urls.ui + "/api/v1/settings")).text
        assert stack.ui_codec_endpoint in ui_settings  # the dev server's UI was pointed at it
        decoded = await http.post(stack.ui_codec_endpoint + "/decode", content=body)
        refused = await http.post(stack.urls.codec + "/decode", content=body)
    assert decoded.status_code == 200 and '"data": "ImhlbGxvIg=="' in decoded.text
    assert refused.status_code == 401
    assert "--ui-codec-endpoint" in stack.banner()


async def test_withdrawal_runs_through_worker_simulators_and_callback(
    stack: Stack, withdrawals: WithdrawalClient, finished: dict[str, str]
) -> None:
    withdrawal_id = f"launcher-{uuid.uuid4().hex[:12]}"
    await withdrawals.start(
        WithdrawalRequest(
            withdrawal_id=withdrawal_id,
            account_id=AUTOMATIC_ACCOUNT,
            amount=Money.yuan("10.00"),
            kind=Kind.RECHARGE,
            route=Route.ORIGINAL,
            order_id=AUTOMATIC_ORDER,
        )
    )

    async def awaiting_code() -> bool:
        return (await withdrawals.status(withdrawal_id)).status is Status.AWAITING_CODE

    await eventually(awaiting_code, "awaiting_code", timeout=WAIT_SECONDS, interval=POLL_SECONDS)
    phone = security_phone(AUTOMATIC_ACCOUNT)
    code = await eventually(
        lambda: latest_code(stack.urls.sms, phone),
        "the SMS code",
        timeout=WAIT_SECONDS,
        interval=POLL_SECONDS,
    )
    # Without the latency the original route settles in milliseconds and the watch's
    # first look-up could see it, end the run, and leave the callback to arrive late
    # ("already finished": harmless, but then no signal to assert on). The provider's
    # latency holds every look-up's answer back while the callback goes out at once.
    async with slow_provider(stack, PROVIDER_LATENCY_MS):
        result = await withdrawals.submit_code(withdrawal_id, code)
        assert result.verdict is CodeVerdict.VERIFIED
        final = await asyncio.wait_for(withdrawals.result(withdrawal_id), WAIT_SECONDS)
    assert final.status is Status.SUCCEEDED
    # The simulator's settlement callback reached the workflow through the receiver.
    history = await withdrawals.temporal.get_workflow_handle(
        workflow_id(withdrawal_id)
    ).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert SIGNAL_PAYOUT_UPDATE in signals
    finished["withdrawal_id"] = withdrawal_id


async def post_callback(stack: Stack, body: bytes, *, signed: bool = True) -> httpx.Response:
    """As the provider posts it: signed with the stack's callback secret (Standard Webhooks)."""
    headers = {"content-type": "application/json"}
    if signed:
        webhook_id = f"msg_{uuid.uuid4().hex}"
        secret = stack.secrets.callback_secret
        headers.update(webhook_signature.signed_headers(secret, webhook_id, int(time.time()), body))
    async with httpx.AsyncClient() as http:
        return await http.post(stack.urls.callbacks + CALLBACK_PATH, content=body, headers=headers)


def transfer_body(key: str) -> bytes:
    transfer = Transfer(
        idempotency_key=key, state=TransferState.SUCCEEDED, amount=Money.yuan("10.00")
    )
    return transfer.model_dump_json().encode()


async def test_callback_receiver_answers_unknown_unreadable_and_late(
    stack: Stack, finished: dict[str, str]
) -> None:
    unsigned = await post_callback(stack, transfer_body("w-anything"), signed=False)
    assert unsigned.status_code == 401  # issue 12: only the provider's signed callbacks
    unknown = await post_callback(stack, transfer_body(f"nobody-{uuid.uuid4().hex}"))
    assert unknown.status_code == 404
    unreadable = await post_callback(stack, b'{"state": "succeeded"}')
    assert unreadable.status_code == 400
    if "withdrawal_id" not in finished:
        pytest.skip("needs the end-to-end withdrawal above")
    late = await post_callback(stack, transfer_body(finished["withdrawal_id"]))
    assert (late.status_code, late.json()["status"]) == (200, "already finished")


async def test_killed_worker_is_restarted_and_polls_again(stack: Stack) -> None:
    assert stack.worker is not None and stack.worker.pid is not None
    killed = stack.worker.pid
    os.kill(killed, signal.SIGKILL)

    async def new_pid() -> int | None:
        pid = stack.worker.pid if stack.worker is not None else None
        return pid if pid != killed and stack.worker_restarts >= 1 else None

    restarted = await eventually(
        new_pid, "a new worker process", timeout=WAIT_SECONDS, interval=POLL_SECONDS
    )
    await stack.wait_for_worker(restarted, timeout_seconds=WAIT_SECONDS)


async def test_stop_leaves_no_child_processes(stack: Stack, children_before: set[int]) -> None:
    started = stack.pids()
    # dev server, 2 simulators, receiver, codec server, HTTP API, worker
    assert len(started) == 7
    stack.stop()
    assert [pid for pid in started if process_exists(pid)] == []
    assert child_pids(os.getpid()) <= children_before


async def test_restart_on_the_same_data_keeps_workflows_and_search_attributes(
    stack: Stack, data_dir: Path, finished: dict[str, str]
) -> None:
    stack.stop()  # already stopped above; two servers must never share one state file
    config = StackConfig.local(data_dir, Ports.free(), max_settle_seconds=SETTLE_SECONDS)
    again = await Stack.start(config)
    try:
        assert again.client is not None
        if "withdrawal_id" in finished:
            handle = workflow_handle(again.client, finished["withdrawal_id"])
            assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
        # The CLI ignores --search-attribute on a saved state; the launcher adds what lacks.
        namespace = config.namespace
        await again.client.operator_service.remove_search_attributes(
            RemoveSearchAttributesRequest(
                namespace=namespace, search_attributes=[REVIEW_OVERDUE.name]
            )
        )
        added = await dev_server.ensure_search_attributes(again.client, namespace)
        assert added == [REVIEW_OVERDUE.name]
    finally:
        again.stop()
