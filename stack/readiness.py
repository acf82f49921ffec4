"""Knowing when a part of the stack is up: free ports before, answers after start-up.

A part that dies while we wait is reported with the tail of its log, so the reason is on
the terminal rather than in a file the person has to find.
"""

from __future__ import annotations

import contextlib
import socket

import httpx
from temporalio.client import Client

from client.polling import poll_until
from stack import dev_server
from stack.child_process import ChildProcess
from stack.config import LaunchError, Ports
from stack.dev_server import READY_POLL_INTERVAL_SECONDS
from standins.simulators.runner import LOCALHOST

TEMPORAL_READY_TIMEOUT_SECONDS = 60.0  # a first start creates the SQLite schema
HTTP_READY_TIMEOUT_SECONDS = 20.0
WORKER_READY_TIMEOUT_SECONDS = 60.0


def check_ports_free(ports: Ports) -> None:
    """Refuse to start beside something already listening: a readiness check would
    otherwise be answered by that other server (an old ``make run``, say)."""
    taken = []
    for name, port in ports.named().items():
        with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, port), 0.2):
            taken.append(f"{name} port {port}")
    if taken:
        raise LaunchError(
            f"already in use: {', '.join(taken)}. Is another `make run` running? "
            "Stop it, or choose other ports (python -m stack --help)."
        )


async def wait_http(url: str, child: ChildProcess) -> None:
    async with httpx.AsyncClient(timeout=READY_POLL_INTERVAL_SECONDS * 20) as http:

        async def answering() -> bool:
            if not child.running():
                raise LaunchError(with_tail(f"{child.name} exited during start-up", child))
            with contextlib.suppress(httpx.TransportError):
                return (await http.get(url)).status_code < 500
            return False

        await poll_until(
            answering,
            bool,
            timeout=HTTP_READY_TIMEOUT_SECONDS,
            interval=READY_POLL_INTERVAL_SECONDS,
            on_timeout=lambda _: LaunchError(
                with_tail(f"{url} not answering within {HTTP_READY_TIMEOUT_SECONDS} s", child)
            ),
        )


async def wait_for_worker(
    client: Client,
    worker: ChildProcess,
    pid: int,
    namespace: str,
    task_queue: str,
    timeout_seconds: float,
) -> None:
    """Until the worker process ``pid`` polls the task queue (its identity is pid@host)."""

    async def polling() -> bool:
        if worker.pid != pid or not worker.running():
            raise LaunchError(with_tail("the worker exited during start-up", worker))
        pollers = await dev_server.task_queue_pollers(client, namespace, task_queue)
        return any(identity.startswith(f"{pid}@") for identity in pollers)

    await poll_until(
        polling,
        bool,
        timeout=timeout_seconds,
        interval=READY_POLL_INTERVAL_SECONDS,
        on_timeout=lambda _: LaunchError(
            with_tail(f"the worker did not poll within {timeout_seconds} s", worker)
        ),
    )


def with_tail(problem: str, child: ChildProcess) -> str:
    tail = child.log_tail()
    indented = "\n".join("    " + line for line in tail.splitlines())
    return f"{problem} (log: {child.log_path})" + (f"\n{indented}" if indented else "")
