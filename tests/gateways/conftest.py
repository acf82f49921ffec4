"""Simulators on free ports for the gateway tests, plus request builders.

One simulator of each kind serves the whole module run; each test uses its own keys and
the fixtures put the fault settings back, so tests stay independent and fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import pytest

from gateways.http_payout import HttpPayoutProvider
from gateways.http_sms import HttpSmsProvider
from gateways.payout import OriginalRoute, TransferRequest
from models.domain import Channel, Payee, Route
from models.money import Money
from standins.simulators.runner import RunningServer, start_simulator
from tests.support.polling import wait_for

_keys = count(1)


def new_key(prefix: str = "wd") -> str:
    return f"{prefix}-{time.monotonic_ns()}-{next(_keys)}"


def original_request(
    key: str | None = None,
    *,
    amount: str = "100.00",
    channel: Channel = Channel.ALIPAY,
    bank: str | None = None,
    paid_days_ago: int = 1,
    order_id: str = "R-1",
    callback_url: str | None = None,
) -> TransferRequest:
    return TransferRequest(
        idempotency_key=key or new_key(),
        amount=Money.yuan(amount),
        route=Route.ORIGINAL,
        original=OriginalRoute(
            order_id=order_id,
            channel=channel,
            bank=bank,
            paid_at=datetime.now(UTC) - timedelta(days=paid_days_ago),
        ),
        callback_url=callback_url,
    )


def bank_request(
    key: str | None = None,
    *,
    amount: str = "100.00",
    account_number: str = "6222020200112233",
    name: str = "Zhang San",
    callback_url: str | None = None,
) -> TransferRequest:
    return TransferRequest(
        idempotency_key=key or new_key(),
        amount=Money.yuan(amount),
        route=Route.BANK,
        payee=Payee(
            account_number=account_number,
            name=name,
            branch_id="ICBC-110000-001",
            bank="ICBC",
            province="Beijing",
            city="Beijing",
            branch_name="ICBC Beijing Xidan",
        ),
        callback_url=callback_url,
    )


@pytest.fixture(scope="session")
def payout_server() -> Iterator[RunningServer]:
    with start_simulator("payout", max_settle_seconds=0) as server:
        yield server


@pytest.fixture
def payout_sim(payout_server: RunningServer) -> Iterator[RunningServer]:
    """The instant-settling payout simulator, with no faults before and after the test."""
    payout_server.set_faults()
    yield payout_server
    payout_server.set_faults()


@pytest.fixture
def payout(payout_sim: RunningServer) -> HttpPayoutProvider:
    return HttpPayoutProvider(payout_sim.url)


@pytest.fixture(scope="session")
def sms_server() -> Iterator[RunningServer]:
    with start_simulator("sms") as server:
        yield server


@pytest.fixture
def sms_sim(sms_server: RunningServer) -> Iterator[RunningServer]:
    sms_server.set_faults()
    yield sms_server
    sms_server.set_faults()


@pytest.fixture
def sms(sms_sim: RunningServer) -> HttpSmsProvider:
    return HttpSmsProvider(sms_sim.url)


class CallbackReceiver:
    """A tiny HTTP server that records every POST body it gets."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.bodies.append(body)
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/payout-callback"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def received(self) -> list[bytes]:
        with self._lock:
            return list(self.bodies)

    def wait_for_count(self, count: int) -> list[bytes]:
        return wait_for(
            lambda: bodies if len(bodies := self.received()) >= count else None,
            f"{count} callbacks",
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def callbacks() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()
