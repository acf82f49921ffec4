"""The reviewer console in a real browser: Debian's chromium driven by Playwright, against
one real stack (dev server, worker, simulators, database, the HTTP service) started as
``make run`` starts it, with the four-eyes threshold lowered so a small withdrawal needs
two reviewers. Playwright's own browser download does not work offline: the tests use
``/usr/bin/chromium`` (``make test`` installs it, or says how)."""

from __future__ import annotations

import base64
import os
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ledger.db import get_engine, run_in_transaction
from ledger.loading import load_fixture
from models.fixtures import Fixture, FixtureReviewer
from stack import Stack
from tests.api.conftest import PDF_PROOF, Api, api_of
from tests.launched import launched_stack

T = TypeVar("T")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUEUE_REFRESH_SECONDS = 1  # the queue page reloads its list this often in the tests
FOUR_EYES_THRESHOLD = "500.00"  # above this two different reviewers approve
PAGE_TIMEOUT_MS = 20_000  # a decision waits for the workflow; the machine may be busy
expect.set_options(timeout=PAGE_TIMEOUT_MS)
PERSONAL = "acct-personal"
# The demo reviewers (fixtures/demo.json) and one under the applicant's real name (R17).
REVIEWERS = {"rev-1": "demo-li-2026", "rev-2": "demo-wang-2026", "rev-self": "self-2026-pass"}
SELF_IDENTITY = "id-demo-personal"  # acct-personal's identity_id


def proof_png(width: int = 240, height: int = 120) -> bytes:
    """A real PNG (a striped receipt-like picture), so the browser can show it."""
    rows = []
    for y in range(height):
        shade = 235 if (y // 12) % 2 else 250
        row = bytearray([0])
        for x in range(width):
            ink = 30 if 20 < x < width - 20 and y % 12 == 6 else shade
            row += bytes([ink, ink, min(255, ink + 5)])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    settings = {
        "FOUR_EYES_THRESHOLD": FOUR_EYES_THRESHOLD,  # the worker and the console
        "CONSOLE_REFRESH_SECONDS": str(QUEUE_REFRESH_SECONDS),
    }
    async with launched_stack(tmp_path_factory, "console-stack", settings) as stack:
        engine = get_engine(stack.urls.database_url)
        reviewer = FixtureReviewer(
            id="rev-self",
            name="Reviewer under the applicant's real name",
            password=REVIEWERS["rev-self"],
            identity_id=SELF_IDENTITY,
        )
        run_in_transaction(engine, load_fixture, Fixture(reviewers=[reviewer]))
        yield stack


@pytest.fixture(scope="module")
def api(console_stack: Stack) -> Iterator[Api]:
    with api_of(console_stack) as api:
        yield api


@pytest.fixture(scope="module")
def browser(console_stack: Stack) -> Iterator[Browser]:
    """Started after the stack and stopped with the module: while it runs, Playwright's
    sync API keeps an event loop running in this thread, which no other async test or
    fixture may meet (asyncio work of these tests runs in a thread: ``off_loop``)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does it as root)")
    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh temporary user-data dir of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, console_stack: Stack) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the console."""
    context = browser.new_context(base_url=console_stack.urls.http, locale="en-US")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def off_loop(call: Callable[..., T], *args: Any) -> T:
    """``call`` in a thread of its own: it may start an event loop there."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, *args).result()


def under_review(api: Api, amount: str, *, withdrawal_id: str) -> str:
    """A designated-account withdrawal (R9, R17) with a PNG and a PDF proof, its code entered: it
    waits for a reviewer."""
    proof = base64.b64encode(proof_png()).decode()
    body = {
        "id": withdrawal_id,
        "account_id": PERSONAL,
        "non_recharge": True,
        "amount": amount,
        "to": "alipay",
        "reason": "payer_account_closed",
        "payee_account": "payee.console@example.com",
        "payee_name": "Li Lei",
        "proofs": [
            {"filename": "receipt.png", "content_base64": proof},
            {"filename": "letter.pdf", "content_base64": base64.b64encode(PDF_PROOF).decode()},
        ],
    }
    created = api.post("/v1/withdrawals", json=body)
    assert created.status_code == 201, created.text
    api.wait_for_status(withdrawal_id, "awaiting_code")
    code = off_loop(api.latest_code, PERSONAL)
    answer = api.post(f"/v1/withdrawals/{withdrawal_id}/code", json={"code": code})
    assert answer.status_code == 200 and answer.json()["verdict"] == "verified", answer.text
    api.wait_for_status(withdrawal_id, "under_review")
    return withdrawal_id
