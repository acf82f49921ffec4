"""The console's form posts are bounded before they are read (issue 22, item 6): a body
over ``MAX_CONSOLE_FORM_BYTES`` is 413 from its ``Content-Length``, and a chunked one is
refused once the bytes read pass the limit, the rest never asked for. In process, on the
HTTP app the console is mounted on (no browser, no Temporal needed for these answers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.keys import KeyRing
from console.pages import MAX_CONSOLE_FORM_BYTES, PREFIX
from ledger.db import dispose_engine, get_engine

FORM = {"content-type": "application/x-www-form-urlencoded"}
CHUNK_BYTES = 64 * 1024
BIG_BODY_BYTES = 64 * 1024 * 1024


@pytest.fixture
def console(tmp_path: Path) -> Iterator[httpx.AsyncClient]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    app = create_app(engine=get_engine(url), keys=KeyRing.parse("backend:a-key-of-twenty-chars"))
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")
    dispose_engine(url)


@pytest.mark.parametrize("path", ["/sign-in", "/sign-out", "/withdrawals/w-1/decision"])
async def test_a_form_post_declaring_more_than_the_limit_is_413(
    console: httpx.AsyncClient, path: str
) -> None:
    response = await console.post(
        PREFIX + path, content=b"comment=" + b"x" * MAX_CONSOLE_FORM_BYTES, headers=FORM
    )
    assert response.status_code == 413
    assert response.headers["connection"] == "close"


async def test_a_chunked_form_post_is_refused_once_it_passes_the_limit_unread_beyond(
    console: httpx.AsyncClient,
) -> None:
    sent = 0

    async def endless_form() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"comment="
        while sent < BIG_BODY_BYTES:
            sent += CHUNK_BYTES
            yield b"x" * CHUNK_BYTES

    response = await console.post(PREFIX + "/sign-in", content=endless_form(), headers=FORM)
    assert response.status_code == 413
    # Read up to the limit and one chunk more, then nothing: not the 64 MiB offered.
    assert sent <= MAX_CONSOLE_FORM_BYTES + 2 * CHUNK_BYTES, sent


async def test_a_form_within_the_limit_reaches_the_console(console: httpx.AsyncClient) -> None:
    response = await console.post(
        PREFIX + "/sign-in", content=b"reviewer_id=rev-1&password=x&csrf_token=t", headers=FORM
    )
    assert response.status_code not in (413, 500)  # the console's own answer (CSRF refused)
    page = await console.get(PREFIX + "/sign-in")
    assert page.status_code == 200
