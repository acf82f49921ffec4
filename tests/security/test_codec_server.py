"""The codec server (Temporal's remote codec protocol) decodes for a holder of the
token only, and answers browsers from the Web UI's origin only."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from codec.encryption import ENCODING, EncryptionCodec
from codec.server import create_app, ui_endpoint
from tests.workflows.keys import TEST_KEYS

TOKEN = "test-token-123"
UI_ORIGIN = "http://localhost:8233"
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name":"Zhang Sanfeng"}')


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(EncryptionCodec(TEST_KEYS), TOKEN, [UI_ORIGIN])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=list(payloads)))


def parsed(response: Any) -> list[Payload]:
    return list(json_format.Parse(response.text, Payloads()).payloads)


def encrypted() -> Payload:
    return EncryptionCodec(TEST_KEYS).encrypt(PLAIN)


async def test_decode_with_the_bearer_token_returns_the_plain_payload(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/decode",
        content=body(encrypted()),
        headers={"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"},
    )
    assert response.status_code == 200
    assert parsed(response) == [PLAIN]
    wire = json.loads(response.text)["payloads"][0]
    assert base64.b64decode(wire["data"]) == PLAIN.data  # protobuf JSON, base64 bytes


async def test_encode_then_decode_round_trips(http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    sealed = parsed(await http.post("/encode", content=body(PLAIN), headers=auth))
    assert sealed[0].metadata["encoding"] == ENCODING and b"Zhang" not in sealed[0].data
    assert parsed(await http.post("/decode", content=body(*sealed), headers=auth)) == [PLAIN]


async def test_token_in_the_path_serves_a_web_ui_that_cannot_send_headers(
    http: httpx.AsyncClient,
) -> None:
    endpoint = ui_endpoint("http://testserver", TOKEN)
    response = await http.post(f"{endpoint}/decode", content=body(encrypted()))
    assert response.status_code == 200 and parsed(response) == [PLAIN]


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/decode", {}),
        ("/decode", {"Authorization": "Bearer wrong"}),
        ("/decode", {"Authorization": TOKEN}),  # no scheme
        ("/token/wrong/decode", {}),
        ("/elsewhere/test-token-123/decode", {}),  # only the token prefix carries it
    ],
)
async def test_without_the_token_nothing_is_decoded(
    http: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    response = await http.post(path, content=body(encrypted()), headers=headers)
    assert response.status_code == 401
    assert "Zhang" not in response.text


async def test_cors_answers_the_ui_origin_only(http: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await http.options("/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    refused = await http.options("/decode", headers={"Origin": "http://evil.example", **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = await http.post(
        "/decode", content=body(encrypted()), headers={"Origin": UI_ORIGIN, **auth}
    )
    assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
    other = await http.post(
        "/decode", content=body(encrypted()), headers={"Origin": "http://evil.example", **auth}
    )
    assert "access-control-allow-origin" not in other.headers  # the browser hides the answer


async def test_unknown_operations_and_bad_bodies_are_refused(http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await http.post("/export", content=body(PLAIN), headers=auth)).status_code == 404
    assert (await http.post("/decode", content="not json", headers=auth)).status_code == 400
    foreign = Payload(metadata={"encoding": ENCODING, "encryption-key-id": b"nope"}, data=b"x")
    assert (await http.post("/decode", content=body(foreign), headers=auth)).status_code == 422
    assert (await http.get("/health")).json() == {"status": "ok"}


def test_an_empty_token_is_refused_at_start() -> None:
    with pytest.raises(ValueError):
        create_app(EncryptionCodec(TEST_KEYS), "", [UI_ORIGIN])
