"""A backend's webhook endpoint for tests: verifies each delivery with the
``standardwebhooks`` package, can fail its first N deliveries, and can be taken down and
brought back on the same port. Also a stored event to deliver."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ledger.db import run_in_transaction
from ledger.events import body_of
from ledger.tables import WebhookEvent


def stored_event(engine: Engine) -> str:
    """A status event in the outbox, as the ledger writes one; its id."""
    event_id = f"evt_w-{uuid.uuid4().hex[:8]}_1"
    now = datetime.now(UTC)
    body = body_of("withdrawal.verifying", now, {"id": "w-1", "status": "verifying", "sequence": 1})
    run_in_transaction(
        engine,
        lambda s: s.add(
            WebhookEvent(
                id=event_id,
                withdrawal_id=event_id,
                sequence=1,
                type="withdrawal.verifying",
                body=body,
                created_at=now,
            )
        ),
    )
    return event_id


@dataclass
class Attempt:
    id: str
    timestamp: int
    signature: str
    body: str
    verified: bool
    answered: int


@dataclass
class Receiver:
    secret: str
    port: int
    fail_first: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.answer(headers, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, headers: dict[str, str], body: str) -> int:
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        with self._lock:
            failing = len(self.attempts) < self.fail_first
            status = 200 if verified and not failing else (500 if verified else 401)
            self.attempts.append(
                Attempt(
                    id=headers["webhook-id"],
                    timestamp=int(headers["webhook-timestamp"]),
                    signature=headers["webhook-signature"],
                    body=body,
                    verified=verified,
                    answered=status,
                )
            )
        return status

    def delivered(self) -> dict[str, dict[str, Any]]:
        """Each event accepted (2xx), by id, as the receiver parsed it."""
        with self._lock:
            return {a.id: json.loads(a.body) for a in self.attempts if a.answered == 200}
