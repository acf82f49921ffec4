"""The running stack: every part started in order, watched, and stopped in reverse.

``Stack.start`` brings the parts up one by one and waits until each answers
(``stack.readiness``); ``stack.supervisor`` then watches them; ``stop`` ends them,
dependants first. Children are ``stack.child_process.ChildProcess`` with their output in
``<data dir>/logs/``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client

from api.keys import dev_key as dev_api_key
from callbacks.receiver import CALLBACK_PATH
from client.connection import data_converter
from codec.server import ui_endpoint
from config import settings
from demo.data import DemoHints
from stack import dev_server
from stack.banner import banner
from stack.child_process import ChildProcess
from stack.config import (
    REPO_ROOT,
    LaunchError,
    StackConfig,
    StackSecrets,
    StackUrls,
)
from stack.database import prepare_database
from stack.readiness import (
    TEMPORAL_READY_TIMEOUT_SECONDS,
    WORKER_READY_TIMEOUT_SECONDS,
    check_ports_free,
    wait_for_worker,
    wait_http,
    with_tail,
)
from stack.supervisor import supervise
from standins.simulators.runner import LOCALHOST, RunningServer, start_simulator

log = logging.getLogger("launcher")

# Longer than worker.GRACEFUL_SHUTDOWN_SECONDS, so running activities may finish.
WORKER_STOP_TIMEOUT_SECONDS = 40.0
SERVICE_STOP_TIMEOUT_SECONDS = 10.0
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
    stopped: bool = False
    temporal_restarting: bool = False  # the supervisor must not take it for a crash

    # ---- start ------------------------------------------------------------------------
    @classmethod
    async def start(cls, config: StackConfig, *, foreground: bool = False) -> Stack:
        """Start every part and wait until each answers; on failure stop what started.

        ``foreground`` prints events for a person at a terminal; otherwise they are logged.
        """
        check_ports_free(config.ports)
        config.logs_dir.mkdir(parents=True, exist_ok=True)
        stack = cls(
            config=config,
            urls=StackUrls.of(config),
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
        stack._supervisor = asyncio.create_task(supervise(stack), name="launcher-supervisor")
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
            raise LaunchError(with_tail(str(error), self.temporal)) from None
        if added:
            self.echo(f"registered search attributes missing from saved state: {added}")
        await wait_http(self.urls.ui, self.temporal)

    def _start_simulators(self) -> None:
        ports, logs = self.config.ports, self.config.logs_dir
        payout = start_simulator(
            "payout",
            mode="subprocess",
            port=ports.payout,
            log_file=logs / "payout-simulator.log",
            max_settle_seconds=self.config.max_settle_seconds,
            return_after_seconds=self.config.return_after_seconds,
            callback_secret=self.secrets.callback_secret,
        )
        self.simulators.append(payout)
        sms = start_simulator(
            "sms", mode="subprocess", port=ports.sms, log_file=logs / "sms-simulator.log"
        )
        self.simulators.append(sms)

    async def _start_callbacks(self) -> None:
        command = [sys.executable, "-m", "callbacks"]
        command += ["--host", LOCALHOST, "--port", str(self.config.ports.callbacks)]
        self.callbacks = self._child("callbacks", command, SERVICE_STOP_TIMEOUT_SECONDS)
        self.callbacks.env = {
            **self.callbacks.env,
            "PAYOUT_CALLBACK_SECRET": self.secrets.callback_secret,
        }
        self.callbacks.spawn()
        await wait_http(self.urls.callbacks + "/health", self.callbacks)

    async def _start_codec_server(self) -> None:
        command = [sys.executable, "-m", "codec"]
        command += ["--host", LOCALHOST, "--port", str(self.config.ports.codec)]
        self.codec = self._child("codec-server", command, SERVICE_STOP_TIMEOUT_SECONDS)
        origins = [self.urls.ui, self.urls.ui.replace("localhost", LOCALHOST)]
        self.codec.env = {
            **self.codec.env,
            "CODEC_SERVER_TOKEN": self.secrets.codec_token,
            "CODEC_SERVER_ORIGINS": ",".join(origins),
        }
        self.codec.spawn()
        await wait_http(self.urls.codec + "/health", self.codec)

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
        await wait_http(self.urls.http + "/health", self.api)

    @property
    def api_key(self) -> str | None:
        """The dev API key ``make run`` prints; None when ``API_KEYS`` names the keys."""
        return None if os.environ.get("API_KEYS") else dev_api_key(self.config.data_dir)

    def _prepare_database(self) -> None:
        self.demo, self.demo_reviewers = prepare_database(self.config, self.echo)

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
        config = self.config
        await wait_for_worker(
            self.client, self.worker, pid, config.namespace, config.task_queue, timeout_seconds
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
        if self.temporal is None or self.stopped:
            raise LaunchError("the stack is not running")
        self.temporal_restarting = True
        try:
            await asyncio.to_thread(self.temporal.stop)
            self.echo("Temporal dev server stopped; starting it again on the same state")
            await asyncio.sleep(down_seconds)
            self.temporal.spawn()
            await self._await_temporal()
            self.temporal_restarts += 1
        finally:
            self.temporal_restarting = False

    def _supervisor_ended(self, task: asyncio.Task[None]) -> None:
        # A supervisor that crashed would leave a dead worker unnoticed: end the stack.
        if not task.cancelled() and task.exception() is not None and not self.stopped:
            self.failure = f"the launcher's supervisor failed: {task.exception()!r}"
            self.echo(self.failure)
            self.failed.set()

    def mark_failed(self, problem: str, child: ChildProcess) -> None:
        """A part died that the launcher cannot bring back: say so, and end the stack."""
        self.failure = f"{problem}; see {child.log_path}"
        self.echo(with_tail(self.failure, child))
        self.failed.set()

    # ---- stop -------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every part that started, dependants first; safe to call twice."""
        if self.stopped:
            return
        self.stopped = True
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

    def banner(self) -> str:
        """What is running where, and the next commands to try (``stack.banner``)."""
        return banner(self)


def _say(text: str) -> None:
    print(text, flush=True)  # flushed: the terminal may be a pipe (make, tee, a test)
