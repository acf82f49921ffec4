"""Start a simulator on a free port, wait until it answers, stop it cleanly.

Used by the tests (``mode="thread"``: uvicorn in a daemon thread of this process) and by
the ``make run`` launcher (``mode="subprocess"``: ``python -m standins.simulators``).
Readiness is a poll of ``GET /health`` with a deadline, never a guessed sleep.

    with start_simulator("payout", max_settle_seconds=0, error_rate=0.2) as payout:
        provider = HttpPayoutProvider(payout.url)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI

from gateways.http_common import shared_tls_context
from standins.simulators.faults import PayoutFaults, SmsFaults
from standins.simulators.payout_app import PayoutSimulatorSettings, create_payout_app
from standins.simulators.sms_app import SmsSimulatorSettings, create_sms_app

Kind = Literal["payout", "sms"]
Mode = Literal["thread", "subprocess"]

LOCALHOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 15.0
READY_POLL_INTERVAL_SECONDS = 0.02
STOP_TIMEOUT_SECONDS = 5.0
ADMIN_TIMEOUT_SECONDS = 5.0


@dataclass
class RunningServer:
    """A simulator that is up: its base URL, and how to stop it."""

    url: str
    kind: Kind
    _stop: Callable[[], None] = field(repr=False)
    _stopped: bool = field(default=False, repr=False)
    _http: httpx.Client | None = field(default=None, repr=False)
    pid: int | None = None  # subprocess mode: the simulator's process

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            if self._http is not None:
                self._http.close()
            self._stop()

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault settings (omitted faults are off); returns what is now set."""
        return self._admin("POST", "/admin/faults", faults)

    def fault_stats(self) -> dict[str, int]:
        return self._admin("GET", "/admin/stats")

    def reset(self) -> None:
        """Forget transfers or messages, faults and counters."""
        self._admin("POST", "/admin/reset")

    def stats(self) -> dict[str, Any]:
        """The payout simulator's ``GET /stats``: money movements per key and in total."""
        result: dict[str, Any] = self._admin("GET", "/stats")
        return result

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        # One client for the server's life: a new one per call costs a TLS context each.
        if self._http is None:
            self._http = httpx.Client(timeout=ADMIN_TIMEOUT_SECONDS, verify=shared_tls_context())
        response = self._http.request(method, self.url + path, json=body)
        response.raise_for_status()
        return response.json()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_simulator(
    kind: Kind,
    *,
    mode: Mode = "thread",
    host: str = LOCALHOST,
    port: int = 0,
    log_file: Path | None = None,
    own_session: bool = True,
    **settings: Any,
) -> RunningServer:
    """Start the ``kind`` simulator on ``port`` (0: a free one) and wait until it is ready.

    ``settings`` are the simulator's settings (``max_settle_seconds``, ``settle_scale``)
    and any fault by name (``error_rate=0.1``, ``seed=7``), or ``faults={...}``.
    ``log_file`` (subprocess mode) appends the simulator's output there instead of this
    terminal, and (``own_session``) puts it in its own session so a terminal's Ctrl-C
    reaches only the caller, which then stops it in its own order; without, it stays in
    the caller's process group, so whoever kills that group kills it too (the bench).
    """
    app_settings = _settings(kind, settings)
    if mode == "thread":
        return _start_thread(kind, app_settings, host, port)
    return _start_subprocess(kind, app_settings, host, port, log_file, own_session)


def _settings(kind: Kind, given: dict[str, Any]) -> PayoutSimulatorSettings | SmsSimulatorSettings:
    settings_type = PayoutSimulatorSettings if kind == "payout" else SmsSimulatorSettings
    faults_type = PayoutFaults if kind == "payout" else SmsFaults
    faults: dict[str, Any] = dict(given.pop("faults", None) or {})
    for name in list(given):
        if name in faults_type.model_fields:
            faults[name] = given.pop(name)
    unknown = set(given) - set(settings_type.model_fields)
    if unknown:
        raise TypeError(f"unknown {kind} simulator settings: {sorted(unknown)}")
    return settings_type.model_validate({**given, "faults": faults})


def create_app(kind: Kind, settings: PayoutSimulatorSettings | SmsSimulatorSettings) -> FastAPI:
    if isinstance(settings, PayoutSimulatorSettings):
        return create_payout_app(settings)
    return create_sms_app(settings)


def _start_thread(
    kind: Kind, settings: PayoutSimulatorSettings | SmsSimulatorSettings, host: str, port: int
) -> RunningServer:
    # Binding here (port 0 → the kernel picks) tells us the port before uvicorn starts,
    # with no window for another process to take it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    url = f"http://{host}:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        create_app(kind, settings), log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{kind}-simulator", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_SECONDS)
        sock.close()

    try:
        _wait_ready(url, thread.is_alive)
    except BaseException:
        stop()
        raise
    return RunningServer(url=url, kind=kind, _stop=stop)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _start_subprocess(
    kind: Kind,
    settings: PayoutSimulatorSettings | SmsSimulatorSettings,
    host: str,
    port: int,
    log_file: Path | None = None,
    own_session: bool = True,
) -> RunningServer:
    port = port or _free_port(host)
    command = [sys.executable, "-m", "standins.simulators", kind, "--host", host]
    command += ["--port", str(port), "--faults", settings.faults.model_dump_json()]
    if isinstance(settings, PayoutSimulatorSettings):
        command += ["--max-settle-seconds", str(settings.max_settle_seconds)]
        if settings.settle_scale is not None:
            command += ["--settle-scale", str(settings.settle_scale)]
        if settings.return_after_seconds is not None:
            command += ["--return-after-seconds", str(settings.return_after_seconds)]
    env = dict(os.environ)
    if isinstance(settings, PayoutSimulatorSettings) and settings.callback_secret:
        env["PAYOUT_CALLBACK_SECRET"] = settings.callback_secret  # not on the command line
    output = None if log_file is None else log_file.open("ab")
    try:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=output,
            start_new_session=own_session and output is not None,
            env=env,
        )
    finally:
        if output is not None:
            output.close()  # the child holds its own copy of the descriptor
    url = f"http://{host}:{port}"

    def stop() -> None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)

    try:
        _wait_ready(url, lambda: process.poll() is None)
    except BaseException:
        stop()
        raise
    return RunningServer(url=url, kind=kind, _stop=stop, pid=process.pid)


def _wait_ready(url: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(
        timeout=READY_POLL_INTERVAL_SECONDS * 50, verify=shared_tls_context()
    ) as client:
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError(f"simulator at {url} exited before it was ready")
            try:
                if client.get(url + "/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(READY_POLL_INTERVAL_SECONDS)
    raise TimeoutError(f"simulator at {url} not ready within {READY_TIMEOUT_SECONDS} s")
