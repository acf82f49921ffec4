"""``make run``: the whole stack in the foreground, stopped cleanly by Ctrl-C.

Starts, in order: the Temporal dev server (state in ``<data dir>/temporal.db``; its Web UI
decrypts payloads through the codec server), the payout and SMS simulators, the payout
callback receiver, the codec server, the database schema and demo accounts, then the
worker, which is restarted if it dies. Ctrl-C or SIGTERM stops everything in the
reverse order. Child output goes to ``<data dir>/logs/``; the terminal gets a banner and the
events that matter.

Tests start the same stack on free ports through the same code::

    stack = await Stack.start(StackConfig.local(data_dir=tmp_path, ports=Ports.free()))
    ... stack.urls.temporal_address ...
    stack.stop()

``await stack.restart_temporal()`` stops and starts only the dev server, on the same state
file (fault tests); the worker and the callback receiver reconnect by themselves.

Flags and environment (defaults follow docs/interface.md): ``--temporal-port``/``TEMPORAL_PORT``
7233, ``--ui-port``/``TEMPORAL_UI_PORT`` 8233, ``--payout-port``/``PAYOUT_SIMULATOR_PORT``
8801, ``--sms-port``/``SMS_SIMULATOR_PORT`` 8802, ``--callback-port``/``PAYOUT_CALLBACK_PORT``
8803, ``--codec-port``/``CODEC_SERVER_PORT`` 8804, ``--http-port``/``HTTP_PORT`` 8805 (the HTTP
API, ``api/``, with a dev key in ``<data dir>/api-key.dev`` unless ``API_KEYS``),
``--data-dir``/``WITHDRAWALS_DATA_DIR`` ``.data``,
``--max-settle-seconds``/``SIM_MAX_SETTLE_SECONDS`` 10; ``DATABASE_URL``,
``TEMPORAL_NAMESPACE`` and ``TEMPORAL_TASK_QUEUE`` as everywhere else.

Payload keys: ``PAYLOAD_KEYS`` or ``PAYLOAD_KEY_FILE`` when set, else a dev key file in the
data directory, handed to every child (and to the CLI through the banner's exports) so
they all read each other's payloads. The codec server's token: ``CODEC_SERVER_TOKEN``, else
a dev token in ``<data dir>/codec-server.token``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from temporalio.client import Client

from api.app import DEFAULT_HTTP_PORT
from api.keys import DEV_KEY_FILE_NAME as API_KEY_FILE_NAME
from api.keys import dev_key as dev_api_key
from gateways.http_payout import DEFAULT_PAYOUT_GATEWAY_URL
from gateways.http_sms import DEFAULT_SMS_GATEWAY_URL
from gateways.simulators.payout_app import DEFAULT_MAX_SETTLE_SECONDS
from gateways.simulators.runner import LOCALHOST, RunningServer, start_simulator
from ledger.db import dispose_engine, get_engine, run_in_transaction
from ledger.loading import LoadSummary
from models.decision_proof import public_key_text
from models.errors import InputError
from models.polling import poll_until
from observability.runtime import metrics_address_from_env
from service import dev_server, settings
from service.callbacks import CALLBACK_PATH
from service.child_process import ChildProcess
from service.codec_server import ui_endpoint
from service.demo_data import DemoHints, demo_hints, demo_reviewers, load_missing_demo_data
from service.dev_server import READY_POLL_INTERVAL_SECONDS
from service.encryption import DEV_KEY_FILE_NAME, KeyRing, ensure_dev_key_file
from service.log_filter import install_personal_data_filter
from service.temporal_client import data_converter

log = logging.getLogger("launcher")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURE = REPO_ROOT / "fixtures" / "demo.json"

TEMPORAL_READY_TIMEOUT_SECONDS = 60.0  # a first start creates the SQLite schema
HTTP_READY_TIMEOUT_SECONDS = 20.0
WORKER_READY_TIMEOUT_SECONDS = 60.0
SUPERVISE_INTERVAL_SECONDS = 0.25
# Longer than worker.GRACEFUL_SHUTDOWN_SECONDS, so running activities may finish.
WORKER_STOP_TIMEOUT_SECONDS = 40.0
SERVICE_STOP_TIMEOUT_SECONDS = 10.0
WORKER_RESTART_FIRST_BACKOFF_SECONDS = 1.0
WORKER_RESTART_MAX_BACKOFF_SECONDS = 30.0
# A worker that stayed up this long crashed for a new reason: start the backoff afresh.
WORKER_HEALTHY_UPTIME_SECONDS = 60.0
# Crash-looping this many times in a row means it will not recover by itself.
MAX_WORKER_QUICK_RESTARTS = 10
# Client settings that make no sense for the local dev server (it has no TLS or API key).
REMOTE_ONLY_ENV_PREFIXES = ("TEMPORAL_TLS", "TEMPORAL_API_KEY")
# Secrets the stack decides itself (``StackSecrets``); never inherited unchosen.
SECRET_ENV = (
    "PAYLOAD_KEYS",
    "PAYLOAD_KEY_FILE",
    "CODEC_SERVER_TOKEN",
    "CODEC_SERVER_ORIGINS",
    "REVIEW_SIGNING_KEY",
    "REVIEW_VERIFY_KEY",
    "PAYOUT_CALLBACK_SECRET",
)
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
    ) -> StackConfig:
        """Everything under ``data_dir``; no environment consulted (what tests want)."""
        data_dir = data_dir.resolve()
        return cls(
            ports=ports or Ports(),
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'withdrawals.db'}",
            max_settle_seconds=max_settle_seconds,
            worker_restart_backoff_seconds=worker_restart_backoff_seconds,
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


@dataclass
class Stack:
    """The running stack. Build it with ``await Stack.start(config)``; ``stop()`` ends it."""

    config: StackConfig
    urls: StackUrls
    echo: Callable[[str], None]
    secrets: StackSecrets
    temporal: ChildProcess | None = None
    simulators: list[RunningServer] = field(default_factory=list)
    callbacks: ChildProcess | None = None
    codec: ChildProcess | None = None
    api: ChildProcess | None = None
    worker: ChildProcess | None = None
    client: Client | None = None
    worker_restarts: int = 0
    temporal_restarts: int = 0
    failure: str | None = None  # set when a part died that the launcher cannot bring back
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    demo: DemoHints | None = None
    demo_reviewers: list[tuple[str, str, str]] = field(default_factory=list)
    _supervisor: asyncio.Task[None] | None = None
    _stopped: bool = False
    _temporal_restarting: bool = False  # the supervisor must not take it for a crash

    # ---- start ------------------------------------------------------------------------
    @classmethod
    async def start(cls, config: StackConfig, *, foreground: bool = False) -> Stack:
        """Start every part and wait until each answers; on failure stop what started.

        ``foreground`` prints events for a person at a terminal; otherwise they are logged.
        """
        _check_ports_free(config.ports)
        config.logs_dir.mkdir(parents=True, exist_ok=True)
        stack = cls(
            config=config,
            urls=_urls(config),
            echo=_say if foreground else log.info,
            secrets=StackSecrets.of(config),
        )
        try:
            await stack._start_temporal()
            stack._start_simulators()
            await stack._start_callbacks()
            await stack._start_codec_server()
            stack._prepare_database()
            await stack._start_api()
            await stack._start_worker()
        except BaseException:
            stack.stop()
            raise
        stack._supervisor = asyncio.create_task(stack._supervise(), name="launcher-supervisor")
        stack._supervisor.add_done_callback(stack._supervisor_ended)
        return stack

    async def _start_temporal(self) -> None:
        config = self.config
        self.temporal = self._child(
            "temporal",
            [
                *dev_server.command(
                    config.ports.temporal, config.ports.ui, self.temporal_db, config.namespace
                ),
                "--ui-codec-endpoint",
                self.ui_codec_endpoint,
            ],
            SERVICE_STOP_TIMEOUT_SECONDS,
        )
        self.temporal.spawn()
        await self._await_temporal()

    async def _await_temporal(self) -> None:
        """Until the frontend answers with every search attribute, and the UI is up."""
        config = self.config
        assert self.temporal is not None
        try:
            self.client = await dev_server.wait_until_ready(
                self.urls.temporal_address,
                config.namespace,
                self.temporal.running,
                TEMPORAL_READY_TIMEOUT_SECONDS,
                converter=data_converter(self.secrets.keys()),
            )
            added = await dev_server.ensure_search_attributes(self.client, config.namespace)
        except dev_server.DevServerError as error:
            raise LaunchError(_with_tail(str(error), self.temporal)) from None
        if added:
            self.echo(f"registered search attributes missing from saved state: {added}")
        await _wait_http(self.urls.ui, self.temporal)

    def _start_simulators(self) -> None:
        ports, logs = self.config.ports, self.config.logs_dir
        payout = start_simulator(
            "payout",
            mode="subprocess",
            port=ports.payout,
            log_file=logs / "payout-simulator.log",
            max_settle_seconds=self.config.max_settle_seconds,
            callback_secret=self.secrets.callback_secret,
        )
        self.simulators.append(payout)
        sms = start_simulator(
            "sms", mode="subprocess", port=ports.sms, log_file=logs / "sms-simulator.log"
        )
        self.simulators.append(sms)

    async def _start_callbacks(self) -> None:
        command = [sys.executable, "-m", "service.callbacks"]
        command += ["--host", LOCALHOST, "--port", str(self.config.ports.callbacks)]
        self.callbacks = self._child("callbacks", command, SERVICE_STOP_TIMEOUT_SECONDS)
        self.callbacks.env = {
            **self.callbacks.env,
            "PAYOUT_CALLBACK_SECRET": self.secrets.callback_secret,
        }
        self.callbacks.spawn()
        await _wait_http(self.urls.callbacks + "/health", self.callbacks)

    async def _start_codec_server(self) -> None:
        command = [sys.executable, "-m", "service.codec_server"]
        command += ["--host", LOCALHOST, "--port", str(self.config.ports.codec)]
        self.codec = self._child("codec-server", command, SERVICE_STOP_TIMEOUT_SECONDS)
        origins = [self.urls.ui, self.urls.ui.replace("localhost", LOCALHOST)]
        self.codec.env = {
            **self.codec.env,
            "CODEC_SERVER_TOKEN": self.secrets.codec_token,
            "CODEC_SERVER_ORIGINS": ",".join(origins),
        }
        self.codec.spawn()
        await _wait_http(self.urls.codec + "/health", self.codec)

    def review_signing_key(self) -> Ed25519PrivateKey:
        """The dev signing key under the data directory, for the faces that sign reviewers'
        decisions (the CLI, a test driver); never given to the worker."""
        return settings.dev_review_signing_key(self.config.data_dir)

    @property
    def ui_codec_endpoint(self) -> str:
        """The codec server as the dev server's Web UI calls it (token in the path)."""
        return ui_endpoint(self.urls.codec, self.secrets.codec_token)

    async def _start_api(self) -> None:
        """The HTTP API (``api/``) for backends; its dev key lives in the data directory."""
        command = [sys.executable, "-m", "api", "--host", LOCALHOST]
        command += ["--port", str(self.config.ports.http)]
        self.api = self._child("http-api", command, SERVICE_STOP_TIMEOUT_SECONDS)
        # The reviewer console signs decisions there and links to this stack's Web UI.
        self.api.env["TEMPORAL_UI_URL"] = self.urls.ui
        if os.environ.get("REVIEW_SIGNING_KEY"):
            self.api.env["REVIEW_SIGNING_KEY"] = os.environ["REVIEW_SIGNING_KEY"]
        if not os.environ.get("API_KEYS"):
            dev_api_key(self.config.data_dir)  # created before the child reads it
        self.api.spawn()
        await _wait_http(self.urls.http + "/health", self.api)

    @property
    def api_key(self) -> str | None:
        """The dev API key ``make run`` prints; None when ``API_KEYS`` names the keys."""
        return None if os.environ.get("API_KEYS") else dev_api_key(self.config.data_dir)

    def _prepare_database(self) -> None:
        """Schema at head (the worker would do it too) and the demo accounts, once."""
        url = self.config.database_url
        try:
            engine = get_engine(url)
            fixture = self.config.fixture
            if fixture is None:
                return
            if not fixture.is_file():
                self.echo(f"no demo data: {fixture} is missing (load one with starter.py load)")
                return
            self.demo = demo_hints(fixture)
            self.demo_reviewers = demo_reviewers(fixture)
            summary = run_in_transaction(engine, load_missing_demo_data, fixture)
            self.echo(_demo_message(fixture, summary, self.config.data_dir))
        except InputError as error:
            self.echo(f"demo data not loaded: {error}")
        except ValidationError as error:
            self.echo(f"demo data not loaded: {fixture} has {error.error_count()} problems")
        finally:
            dispose_engine(url)  # the launcher keeps no database connection open

    async def _start_worker(self) -> None:
        self.worker = self._child(
            "worker", [sys.executable, "worker.py"], WORKER_STOP_TIMEOUT_SECONDS
        )
        pid = self.worker.spawn()
        await self.wait_for_worker(pid)

    async def wait_for_worker(
        self, pid: int, timeout_seconds: float = WORKER_READY_TIMEOUT_SECONDS
    ) -> None:
        """Until the worker process ``pid`` polls the task queue (its identity is pid@host)."""
        assert self.client is not None and self.worker is not None
        client, worker = self.client, self.worker

        async def polling() -> bool:
            if worker.pid != pid or not worker.running():
                raise LaunchError(_with_tail("the worker exited during start-up", worker))
            pollers = await dev_server.task_queue_pollers(
                client, self.config.namespace, self.config.task_queue
            )
            return any(identity.startswith(f"{pid}@") for identity in pollers)

        await poll_until(
            polling,
            bool,
            timeout=timeout_seconds,
            interval=READY_POLL_INTERVAL_SECONDS,
            on_timeout=lambda _: LaunchError(
                _with_tail(f"the worker did not poll within {timeout_seconds} s", worker)
            ),
        )

    def _child(self, name: str, command: list[str], stop_timeout_seconds: float) -> ChildProcess:
        return ChildProcess(
            name=name,
            command=command,
            env=self.child_env(),
            log_path=self.config.logs_dir / f"{name}.log",
            cwd=REPO_ROOT,
            stop_timeout_seconds=stop_timeout_seconds,
        )

    def child_env(self) -> dict[str, str]:
        """The environment every command of this stack needs (the worker's, and the CLI's)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(REMOTE_ONLY_ENV_PREFIXES) and key not in SECRET_ENV
        }
        env.update(self.client_env())
        env["REVIEW_VERIFY_KEY"] = self.secrets.review_verify_key  # public: workers verify
        env["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen
        return env

    def client_env(self) -> dict[str, str]:
        urls = self.urls
        return {
            "TEMPORAL_ADDRESS": urls.temporal_address,
            "TEMPORAL_NAMESPACE": self.config.namespace,
            "TEMPORAL_TASK_QUEUE": self.config.task_queue,
            "DATABASE_URL": urls.database_url,
            "PAYOUT_GATEWAY_URL": urls.payout,
            "SMS_GATEWAY_URL": urls.sms,
            "PAYOUT_CALLBACK_URL": urls.callbacks + CALLBACK_PATH,
            "WITHDRAWALS_DATA_DIR": str(self.config.data_dir),
            **self.secrets.key_env,
        }

    @property
    def temporal_db(self) -> Path:
        return self.config.data_dir / "temporal.db"

    # ---- while running ----------------------------------------------------------------
    async def restart_temporal(self, down_seconds: float = 0.0) -> None:
        """Stop the dev server and start it again on the same state file and ports.

        For tests of a server restart (the worker, the receiver and clients reconnect by
        themselves). The server gets SIGTERM, the way an operator or an orchestrator
        stops it; what it had committed to its file must survive.
        """
        if self.temporal is None or self._stopped:
            raise LaunchError("the stack is not running")
        self._temporal_restarting = True
        try:
            await asyncio.to_thread(self.temporal.stop)
            self.echo("Temporal dev server stopped; starting it again on the same state")
            await asyncio.sleep(down_seconds)
            self.temporal.spawn()
            await self._await_temporal()
            self.temporal_restarts += 1
        finally:
            self._temporal_restarting = False

    async def _supervise(self) -> None:
        """Restart a dead worker with backoff; a dead server or receiver ends the stack."""
        backoff = self.config.worker_restart_backoff_seconds
        quick_restarts = 0
        while not self._stopped:
            await asyncio.sleep(SUPERVISE_INTERVAL_SECONDS)
            if self._essential_part_died():
                return
            worker = self.worker
            if self._stopped or worker is None or worker.exit_code() is None:
                continue
            if worker.uptime_seconds() >= WORKER_HEALTHY_UPTIME_SECONDS:
                backoff, quick_restarts = self.config.worker_restart_backoff_seconds, 0
            quick_restarts += 1
            if quick_restarts > MAX_WORKER_QUICK_RESTARTS:
                self._fail(f"the worker crashed {MAX_WORKER_QUICK_RESTARTS} times in a row", worker)
                return
            await self._restart_worker(worker, backoff)
            backoff = min(backoff * 2, WORKER_RESTART_MAX_BACKOFF_SECONDS)

    def _essential_part_died(self) -> bool:
        temporal = None if self._temporal_restarting else self.temporal
        for part in (temporal, self.callbacks, self.codec, self.api):
            if not self._stopped and part is not None and part.exit_code() is not None:
                self._fail(f"{part.name} exited (code {part.exit_code()})", part)
                return True
        return False

    async def _restart_worker(self, worker: ChildProcess, backoff: float) -> None:
        self.echo(
            f"worker exited (code {worker.exit_code()}); restarting in {backoff:g} s "
            f"(log: {worker.log_path})"
        )
        await asyncio.sleep(backoff)
        if self._stopped:
            return
        pid = worker.spawn()
        self.worker_restarts += 1
        self.echo(f"worker restarted (pid {pid})")

    def _supervisor_ended(self, task: asyncio.Task[None]) -> None:
        # A supervisor that crashed would leave a dead worker unnoticed: end the stack.
        if not task.cancelled() and task.exception() is not None and not self._stopped:
            self.failure = f"the launcher's supervisor failed: {task.exception()!r}"
            self.echo(self.failure)
            self.failed.set()

    def _fail(self, problem: str, child: ChildProcess) -> None:
        self.failure = f"{problem}; see {child.log_path}"
        self.echo(_with_tail(self.failure, child))
        self.failed.set()

    # ---- stop -------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every part that started, dependants first; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        # The worker first: it finishes its activities while Temporal is still there.
        for child in (self.worker, self.api, self.callbacks, self.codec):
            self._stop_child(child)
        for simulator in reversed(self.simulators):
            simulator.stop()
        self._stop_child(self.temporal)

    def _stop_child(self, child: ChildProcess | None) -> None:
        if child is not None and child.running():
            self.echo(f"stopping {child.name}")
            child.stop()

    def pids(self) -> list[int]:
        """Every process this stack started (the worker's latest incarnation)."""
        parts = (self.temporal, self.callbacks, self.codec, self.api, self.worker)
        children = [c.pid for c in parts if c is not None]
        return [pid for pid in [*children, *(s.pid for s in self.simulators)] if pid is not None]

    # ---- the banner -------------------------------------------------------------------
    def banner(self) -> str:
        """What is running where, and the next commands to try."""
        urls, config = self.urls, self.config
        logs = ", ".join(sorted(p.name for p in config.logs_dir.glob("*.log")))
        lines = [
            "",
            "The withdrawal stack is up.",
            "",
            f"  Temporal Web UI    {urls.ui}",
            f"  Temporal gRPC      {urls.temporal_address}   namespace {config.namespace}, "
            f"task queue {config.task_queue}",
            f"  state kept in      {config.data_dir}  (temporal.db; database {urls.database_url})",
            f"  logs               {config.logs_dir}/  ({logs})",
            f"  payout simulator   {urls.payout}  (settles every route within "
            f"{config.max_settle_seconds:g} s)",
            f"  SMS simulator      {urls.sms}",
            f"  payout callbacks   {urls.callbacks}{CALLBACK_PATH}",
            f"  codec server       {urls.codec}  (decrypts payloads for the Web UI and CLI)",
            f"  HTTP API           {urls.http}/v1  (docs {urls.http}/docs)",
            f"  reviewer console   {urls.http}/console  (demo reviewers below)",
            *self._api_key_lines(),
            f"  worker metrics     http://{metrics_address_from_env()}/metrics  (Prometheus; "
            "alert rules and a dashboard in deploy/)",
            "",
            *self._codec_lines(),
            "",
            f"Try, in another terminal, from {REPO_ROOT}:",
            *self._example_commands(),
            "",
            "Ctrl-C stops everything.",
        ]
        return "\n".join(lines)

    def _api_key_lines(self) -> list[str]:
        key = self.api_key
        if key is None:
            return ["  API keys           from API_KEYS"]
        path = self.config.data_dir / API_KEY_FILE_NAME
        return [f"  dev API key        {key}  (in {path}; README: Calling from a backend)"]

    def _codec_lines(self) -> list[str]:
        """Payloads are encrypted: how to see them in clear, for whoever holds the token."""
        token = self.secrets.codec_token
        return [
            "Payloads in Temporal are encrypted. The Web UI above decrypts them through the",
            "codec server; a Temporal UI started elsewhere needs the dev server flag",
            f"  --ui-codec-endpoint {self.ui_codec_endpoint}",
            "and the temporal CLI needs",
            f"  --codec-endpoint {self.urls.codec} --codec-auth 'Bearer {token}'",
        ]

    def _example_commands(self) -> list[str]:
        exports = [
            f"{key}={value}"
            for key, value in self.client_env().items()
            if key not in _WORKER_ONLY_ENV and _CLI_DEFAULTS.get(key) != value
        ]
        lines = [f"  export {' '.join(exports)}"] if exports else []
        cli = "  .venv/bin/python starter.py"
        demo = self.demo
        if demo is not None:
            account = demo.withdraw_account_id
            lines += [
                f"{cli} withdrawable {demo.account_id}",
                f"{cli} withdraw --account {account} --order {demo.order_id} "
                f"--amount {demo.amount}",
                f"{cli} sms-inbox --account {account}",
            ]
        lines += [f"{cli} code WITHDRAWAL_ID CODE", f"{cli} status WITHDRAWAL_ID"]
        lines.append(f"{cli} reviews")
        lines.append(f"{cli} attention   # what needs a person now (exit 4 if anything)")
        if demo is not None and demo.reviewer_id is not None:
            lines.append(f"{cli} approve WITHDRAWAL_ID --reviewer {demo.reviewer_id}")
            lines.append("    (asks for the reviewer's password; or set REVIEWER_PASSWORD)")
        if self.demo_reviewers:
            lines.append("  demo reviewers (id, role, password):")
            lines += [f"    {rid:<10} {role:<16} {pw}" for rid, role, pw in self.demo_reviewers]
        lines += [f"{cli} demo", "  make test"]
        return lines


# What the CLI assumes when a variable is unset (docs/interface.md); the banner exports the rest.
# The callback URL matters to the worker only.
_CLI_DEFAULTS = {
    "TEMPORAL_ADDRESS": settings.DEFAULT_TEMPORAL_ADDRESS,
    "TEMPORAL_NAMESPACE": settings.DEFAULT_NAMESPACE,
    "TEMPORAL_TASK_QUEUE": settings.DEFAULT_TASK_QUEUE,
    "DATABASE_URL": f"sqlite:///{REPO_ROOT / '.data' / 'withdrawals.db'}",
    "PAYOUT_GATEWAY_URL": DEFAULT_PAYOUT_GATEWAY_URL,
    "SMS_GATEWAY_URL": DEFAULT_SMS_GATEWAY_URL,
}
_CLI_DEFAULTS["PAYLOAD_KEY_FILE"] = str(REPO_ROOT / ".data" / DEV_KEY_FILE_NAME)
# The CLI reads the dev review signing key under the data directory: export it too.
_CLI_DEFAULTS["WITHDRAWALS_DATA_DIR"] = str(REPO_ROOT / ".data")
_WORKER_ONLY_ENV = frozenset({"PAYOUT_CALLBACK_URL", "PAYLOAD_KEYS"})


def _say(text: str) -> None:
    print(text, flush=True)  # flushed: the terminal may be a pipe (make, tee, a test)


def _urls(config: StackConfig) -> StackUrls:
    ports = config.ports
    return StackUrls(
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


def _check_ports_free(ports: Ports) -> None:
    """Refuse to start beside something already listening: a readiness check would
    otherwise be answered by that other server (an old ``make run``, say)."""
    taken = []
    for name, port in ports.named().items():
        with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, port), 0.2):
            taken.append(f"{name} port {port}")
    if taken:
        raise LaunchError(
            f"already in use: {', '.join(taken)}. Is another `make run` running? "
            "Stop it, or choose other ports (python -m service.launcher --help)."
        )


async def _wait_http(url: str, child: ChildProcess) -> None:
    async with httpx.AsyncClient(timeout=READY_POLL_INTERVAL_SECONDS * 20) as http:

        async def answering() -> bool:
            if not child.running():
                raise LaunchError(_with_tail(f"{child.name} exited during start-up", child))
            with contextlib.suppress(httpx.TransportError):
                return (await http.get(url)).status_code < 500
            return False

        await poll_until(
            answering,
            bool,
            timeout=HTTP_READY_TIMEOUT_SECONDS,
            interval=READY_POLL_INTERVAL_SECONDS,
            on_timeout=lambda _: LaunchError(
                _with_tail(f"{url} not answering within {HTTP_READY_TIMEOUT_SECONDS} s", child)
            ),
        )


def _with_tail(problem: str, child: ChildProcess) -> str:
    tail = child.log_tail()
    indented = "\n".join("    " + line for line in tail.splitlines())
    return f"{problem} (log: {child.log_path})" + (f"\n{indented}" if indented else "")


def _demo_message(fixture: Path, summary: LoadSummary, data_dir: Path) -> str:
    created = summary.accounts.created + summary.recharge_orders.created
    if created == 0 and summary.reviewers.created == 0:
        # Re-loading never resets balances: the ledger owns them once opened.
        return (
            f"demo data from {fixture.name} already loaded; balances kept as the ledger has "
            f"them (to start over: stop, remove {data_dir}, and `make run` again)"
        )
    return (
        f"demo data loaded from {fixture.name}: {summary.accounts.created} accounts, "
        f"{summary.recharge_orders.created} recharge orders, "
        f"{summary.reviewers.created} reviewers"
    )


# ---- make run ---------------------------------------------------------------------------
def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _parser() -> argparse.ArgumentParser:
    defaults = Ports()
    parser = argparse.ArgumentParser(
        prog="python -m service.launcher",
        description="Run the Temporal dev server, simulators, callback receiver and worker.",
    )
    port_flags = [
        ("--temporal-port", "TEMPORAL_PORT", defaults.temporal),
        ("--ui-port", "TEMPORAL_UI_PORT", defaults.ui),
        ("--payout-port", "PAYOUT_SIMULATOR_PORT", defaults.payout),
        ("--sms-port", "SMS_SIMULATOR_PORT", defaults.sms),
        ("--callback-port", "PAYOUT_CALLBACK_PORT", defaults.callbacks),
        ("--codec-port", "CODEC_SERVER_PORT", defaults.codec),
        ("--http-port", "HTTP_PORT", defaults.http),
    ]
    for flag, env, default in port_flags:
        parser.add_argument(flag, type=int, default=_env_int(env, default), help=f"env {env}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("WITHDRAWALS_DATA_DIR") or ".data"),
        help="Temporal state, the SQLite database, logs (env WITHDRAWALS_DATA_DIR)",
    )
    parser.add_argument(
        "--max-settle-seconds",
        type=float,
        default=float(os.environ.get("SIM_MAX_SETTLE_SECONDS") or DEFAULT_MAX_SETTLE_SECONDS),
        help="real seconds the payout simulator's slowest route takes (env SIM_MAX_SETTLE_SECONDS)",
    )
    parser.add_argument(
        "--fixture", type=Path, default=DEFAULT_FIXTURE, help="demo data loaded on start"
    )
    parser.add_argument("--no-fixture", action="store_true", help="load no demo data")
    return parser


def config_from_args(args: argparse.Namespace) -> StackConfig:
    data_dir = args.data_dir.resolve()
    ports = Ports(
        args.temporal_port,
        args.ui_port,
        args.payout_port,
        args.sms_port,
        args.callback_port,
        args.codec_port,
        args.http_port,
    )
    key_file = os.environ.get("PAYLOAD_KEY_FILE")
    return StackConfig(
        ports=ports,
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'withdrawals.db'}",
        namespace=os.environ.get("TEMPORAL_NAMESPACE") or dev_server.DEFAULT_NAMESPACE,
        task_queue=settings.task_queue(),
        max_settle_seconds=args.max_settle_seconds,
        fixture=None if args.no_fixture else args.fixture,
        payload_keys=os.environ.get("PAYLOAD_KEYS") or None,
        payload_key_file=Path(key_file).resolve() if key_file else None,
        codec_token=os.environ.get("CODEC_SERVER_TOKEN") or None,
    )


async def _first(*awaitables: asyncio.Future[object] | asyncio.Task[object]) -> None:
    await asyncio.wait(awaitables, return_when=asyncio.FIRST_COMPLETED)


async def run_foreground(config: StackConfig) -> int:
    """Start, print the banner, wait for Ctrl-C/SIGTERM (or a fatal failure), stop."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    print(f"starting the withdrawal stack; child logs go to {config.logs_dir}/", flush=True)
    stopping = asyncio.ensure_future(stop_requested.wait())
    starting = asyncio.ensure_future(Stack.start(config, foreground=True))
    await _first(starting, stopping)
    if not starting.done():
        starting.cancel()  # Stack.start stops what it started when cancelled
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting
        print("stopped before start-up finished")
        return 130
    try:
        stack = starting.result()
    except Exception as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    print(stack.banner(), flush=True)
    failing = asyncio.ensure_future(stack.failed.wait())
    await _first(stopping, failing)
    for waiter in (stopping, failing):
        waiter.cancel()
    print("stopping: worker, HTTP API, callback receiver, simulators, then Temporal …", flush=True)
    stack.stop()
    print(f"stopped. State is kept in {config.data_dir}; `make run` picks it up again.")
    return 1 if stack.failure else 0


def main(argv: list[str] | None = None) -> int:
    # Warnings only from libraries (httpx logs every readiness probe, alembic every step);
    # the launcher's own events reach the terminal through print.
    install_personal_data_filter()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    config = config_from_args(_parser().parse_args(argv))
    return asyncio.run(run_foreground(config))


if __name__ == "__main__":
    raise SystemExit(main())
