"""A response that never arrives: headers promise a body, then the connection closes.

ASGI has no "close the socket" message, so the simulator starts a response it never
finishes; uvicorn then closes the connection and the client sees a broken response
(``httpx.RemoteProtocolError``), which is what a dropped reply looks like on the wire.
"""

from __future__ import annotations

import logging

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# uvicorn logs an error for every unfinished response; for an injected drop that is the
# point, so the simulator logs the drop itself and keeps this line out of the output.
_UNFINISHED = "ASGI callable returned without completing response."


class _HideInjectedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _UNFINISHED


_filter_installed = False


def hide_injected_drop_errors() -> None:
    global _filter_installed
    if not _filter_installed:
        logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())
        _filter_installed = True


class DroppedResponse(Response):
    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"64"), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"state":', "more_body": True})
