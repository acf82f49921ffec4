"""What a stack is started with: its ports, its data directory, its URLs and its secrets."""

from __future__ import annotations

import base64
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from api.app import DEFAULT_HTTP_PORT
from codec.encryption import DEV_KEY_FILE_NAME, KeyRing, ensure_dev_key_file
from config import settings
from models.decision_proof import public_key_text
from stack import dev_server
from standins.simulators.payout_app import DEFAULT_MAX_SETTLE_SECONDS
from standins.simulators.runner import LOCALHOST

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURE = REPO_ROOT / "fixtures" / "demo.json"
WORKER_RESTART_FIRST_BACKOFF_SECONDS = 1.0
CODEC_TOKEN_FILE_NAME = "codec-server.token"


class LaunchError(RuntimeError):
    """The stack could not start; the message says which part and where its log is."""


@dataclass(frozen=True)
class Ports:
    temporal: int = 7233
    ui: int = 8233
    payout: int = 8801
    sms: int = 8802
    callbacks: int = 8803
    codec: int = settings.DEFAULT_CODEC_SERVER_PORT
    http: int = DEFAULT_HTTP_PORT

    @classmethod
    def free(cls) -> Ports:
        """Ports nobody listens on right now (for tests running beside a ``make run``)."""
        return cls(*_free_ports(7))

    def named(self) -> dict[str, int]:
        return {
            "Temporal gRPC": self.temporal,
            "Temporal Web UI": self.ui,
            "payout simulator": self.payout,
            "SMS simulator": self.sms,
            "callback receiver": self.callbacks,
            "codec server": self.codec,
            "HTTP API": self.http,
        }


@dataclass(frozen=True)
class StackConfig:
    ports: Ports
    data_dir: Path
    database_url: str
    namespace: str = dev_server.DEFAULT_NAMESPACE
    task_queue: str = settings.DEFAULT_TASK_QUEUE
    max_settle_seconds: float = DEFAULT_MAX_SETTLE_SECONDS  # docs/interface.md: within 10 s
    # Success to return for the magic returned payees; None: 30 days scaled like settlement.
    return_after_seconds: float | None = None
    fixture: Path | None = DEFAULT_FIXTURE
    worker_restart_backoff_seconds: float = WORKER_RESTART_FIRST_BACKOFF_SECONDS
    # None: a dev key file / token under data_dir (what tests want); make run passes env.
    payload_keys: str | None = None
    payload_key_file: Path | None = None
    codec_token: str | None = None

    @classmethod
    def local(
        cls,
        data_dir: Path,
        ports: Ports | None = None,
        *,
        max_settle_seconds: float = DEFAULT_MAX_SETTLE_SECONDS,
        worker_restart_backoff_seconds: float = WORKER_RESTART_FIRST_BACKOFF_SECONDS,
        return_after_seconds: float | None = None,
    ) -> StackConfig:
        """Everything under ``data_dir``; no environment consulted (what tests want)."""
        data_dir = data_dir.resolve()
        return cls(
            ports=ports or Ports(),
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'withdrawals.db'}",
            max_settle_seconds=max_settle_seconds,
            worker_restart_backoff_seconds=worker_restart_backoff_seconds,
            return_after_seconds=return_after_seconds,
        )

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"


@dataclass(frozen=True)
class StackUrls:
    temporal_address: str
    ui: str
    payout: str
    sms: str
    callbacks: str
    database_url: str
    logs_dir: Path
    codec: str = ""
    http: str = ""

    @classmethod
    def of(cls, config: StackConfig) -> StackUrls:
        ports = config.ports
        return cls(
            temporal_address=f"localhost:{ports.temporal}",
            ui=f"http://localhost:{ports.ui}",
            payout=f"http://{LOCALHOST}:{ports.payout}",
            sms=f"http://{LOCALHOST}:{ports.sms}",
            callbacks=f"http://{LOCALHOST}:{ports.callbacks}",
            database_url=config.database_url,
            logs_dir=config.logs_dir,
            codec=f"http://localhost:{ports.codec}",
            http=f"http://localhost:{ports.http}",
        )


@dataclass(frozen=True)
class StackSecrets:
    """The payload keys every part uses, and the codec server's token."""

    key_env: dict[str, str]  # PAYLOAD_KEYS or PAYLOAD_KEY_FILE, for the children
    codec_token: str
    # The public key only: the worker verifies decisions, the signing key stays with the
    # faces where reviewers sign in (the CLI reads it under the data directory).
    review_verify_key: str = ""
    callback_secret: str = ""  # the simulator signs callbacks with it, the receiver checks

    @classmethod
    def of(cls, config: StackConfig) -> StackSecrets:
        if config.payload_keys:
            key_env = {"PAYLOAD_KEYS": config.payload_keys}
        else:
            key_file = config.payload_key_file or ensure_dev_key_file(
                config.data_dir / DEV_KEY_FILE_NAME
            )
            key_env = {"PAYLOAD_KEY_FILE": str(key_file)}
        token = config.codec_token or settings.dev_secret(config.data_dir / CODEC_TOKEN_FILE_NAME)
        signing = settings.dev_review_signing_key(config.data_dir)
        callback_secret = os.environ.get("PAYOUT_CALLBACK_SECRET") or settings.dev_secret(
            config.data_dir / "payout-callback.secret",
            lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        return cls(
            key_env=key_env,
            codec_token=token,
            review_verify_key=public_key_text(signing.public_key()),
            callback_secret=callback_secret,
        )

    def keys(self) -> KeyRing:
        if "PAYLOAD_KEYS" in self.key_env:
            return KeyRing.parse(self.key_env["PAYLOAD_KEYS"])
        return KeyRing.parse(Path(self.key_env["PAYLOAD_KEY_FILE"]).read_text())


def _free_ports(count: int) -> list[int]:
    # All probes stay open until every port is chosen, so no two are the same.
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((LOCALHOST, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()
