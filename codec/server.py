"""Codec server: lets the Temporal Web UI and the ``temporal`` CLI show decrypted payloads.

Temporal's remote codec protocol: ``POST …/encode`` and ``POST …/decode`` take and return
a ``Payloads`` message as protobuf JSON (``{"payloads": [{"metadata": …, "data": …}]}``);
only the last path segment names the operation. The keys stay in this process.

Who may call it:

- a bearer token is required (``CODEC_SERVER_TOKEN``, else a dev token generated under
  ``.data/``): ``Authorization: Bearer <token>`` (``temporal … --codec-auth``), or, for
  a Web UI that cannot send headers (the dev server's has no login), the token as a path
  prefix: ``--ui-codec-endpoint http://localhost:8804/token/<token>``;
- browsers only from the UI's origin (CORS; ``CODEC_SERVER_ORIGINS``, default
  ``http://localhost:8233``).

    python -m codec --port 8804

No access log: a token in the path must not end up in one.
"""

from __future__ import annotations

import argparse
import hmac
import logging

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from codec.encryption import EncryptionCodec, KeyRing, UnknownKeyError
from config import settings
from observability.log_filter import install_personal_data_filter

log = logging.getLogger("codec.server")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = settings.DEFAULT_CODEC_SERVER_PORT
TOKEN_PATH_PREFIX = "token"
# A history page the UI decodes at once stays far below this; more is not a codec call.
MAX_CODEC_REQUEST_BYTES = 8 * 1024 * 1024
OPERATIONS = ("encode", "decode")


def _token_of(request: Request, prefix: list[str]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if len(prefix) == 2 and prefix[0] == TOKEN_PATH_PREFIX:
        return prefix[1]
    return None


def _refuse(status_code: int, reason: str) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"reason": reason})


def create_app(codec: EncryptionCodec, token: str, allowed_origins: list[str]) -> FastAPI:
    if not token:
        raise ValueError("the codec server needs a non-empty token")
    app = FastAPI(title="Withdrawal payload codec server")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed_origins,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        allow_credentials=True,
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/{path:path}")
    async def codec_call(path: str, request: Request) -> Response:
        segments = [segment for segment in path.split("/") if segment]
        if not segments or segments[-1] not in OPERATIONS:
            return _refuse(404, "POST …/encode or …/decode")
        offered = _token_of(request, segments[:-1])
        if offered is None or not hmac.compare_digest(offered.encode(), token.encode()):
            log.warning("codec call refused: no valid token")
            return _refuse(401, "a valid bearer token is required")
        body = await request.body()
        if len(body) > MAX_CODEC_REQUEST_BYTES:
            return _refuse(413, f"larger than {MAX_CODEC_REQUEST_BYTES} bytes")
        try:
            payloads = json_format.Parse(body or b"{}", Payloads())
            if segments[-1] == "encode":
                converted = await codec.encode(payloads.payloads)
            else:
                converted = await codec.decode(payloads.payloads)
        except (json_format.ParseError, DecodeError, UnicodeDecodeError):
            return _refuse(400, "body is not Payloads in protobuf JSON")
        except UnknownKeyError as error:
            return _refuse(422, str(error))
        except ValueError as error:  # authentication failed: tampered or foreign payload
            return _refuse(422, str(error))
        return Response(
            content=json_format.MessageToJson(Payloads(payloads=converted)),
            media_type="application/json",
        )

    return app


def ui_endpoint(base_url: str, token: str) -> str:
    """What ``--ui-codec-endpoint`` takes: the token as a path prefix (see module doc)."""
    return f"{base_url.rstrip('/')}/{TOKEN_PATH_PREFIX}/{token}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m codec", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--ui-origin",
        action="append",
        help="browser origin allowed (repeatable; default env CODEC_SERVER_ORIGINS or "
        f"{settings.DEFAULT_UI_ORIGIN})",
    )
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    install_personal_data_filter()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    keys = KeyRing.from_env()
    origins = args.ui_origin or settings.codec_server_origins()
    app = create_app(EncryptionCodec(keys), settings.codec_server_token(), origins)
    log.info("codec server for keys %s; browser origins %s", [k.key_id for k in keys.keys], origins)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level=args.log_level)
