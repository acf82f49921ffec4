"""The benchmark's stack on free ports: dev server, simulators, ledger, one worker at a time.

The dev server is started exactly as ``make run`` starts it (``stack.dev_server.command``:
SQLite file in WAL mode, the search attributes), the simulators in instant mode (the payout
settles before ``submit`` answers, so the auto path never polls). Each measured phase gets
its own worker process on its own task queue, so that process's CPU and peak memory belong
to that phase alone.

Every process of the stack stays in the bench's process group (not a session of its own,
as ``make run``'s children): whoever kills that group, a test harness on a timeout, kills
the whole stack, and nothing keeps running after a hung bench. ``stopped_at_end`` stops
the stack when the run ends; after a failure it keeps the data directory (the worker
logs are the evidence) and says where it is.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from temporalio.client import Client

from bench.deadlines import StuckWithdrawal, log_findings
from bench.progress import note
from client.polling import poll_until
from codec.encryption import new_key_line
from stack import REPO_ROOT, Ports, dev_server
from stack.child_process import ChildProcess
from stack.readiness import TEMPORAL_READY_TIMEOUT_SECONDS, WORKER_READY_TIMEOUT_SECONDS
from standins.simulators.runner import RunningServer, start_simulator

WorkerKind = Literal["real", "baseline"]

WORKER_POLL_INTERVAL_SECONDS = 0.1
STOP_TIMEOUT_SECONDS = 30.0
CODE_KEY_BYTES = 32


@dataclass
class BenchStack:
    data_dir: Path
    ports: Ports
    temporal: ChildProcess
    client: Client
    simulators: dict[str, RunningServer]
    secrets_env: dict[str, str]
    workers: list[ChildProcess] = field(default_factory=list)

    @classmethod
    async def start(cls, data_dir: Path) -> BenchStack:
        """Server first, then simulators; on any failure stop what started."""
        data_dir.mkdir(parents=True, exist_ok=True)
        ports = Ports.free()
        # One payload key and one code key for every process of this run (driver included):
        # the driver must read what the workers encrypt.
        secrets_env = {
            "PAYLOAD_KEYS": new_key_line("bench"),
            "CODE_HASH_KEY": secrets.token_hex(CODE_KEY_BYTES),
            "WITHDRAWALS_DATA_DIR": str(data_dir),
        }
        os.environ.update(secrets_env)
        temporal = ChildProcess(
            name="temporal",
            command=dev_server.command(
                ports.temporal, ports.ui, data_dir / "temporal.db", dev_server.DEFAULT_NAMESPACE
            ),
            env=dict(os.environ),
            log_path=data_dir / "logs" / "temporal.log",
            cwd=REPO_ROOT,
            stop_timeout_seconds=STOP_TIMEOUT_SECONDS,
            own_session=False,
        )
        temporal.spawn()
        simulators: dict[str, RunningServer] = {}
        try:
            address = f"127.0.0.1:{ports.temporal}"
            client = await dev_server.wait_until_ready(
                address,
                dev_server.DEFAULT_NAMESPACE,
                temporal.running,
                TEMPORAL_READY_TIMEOUT_SECONDS,
            )
            await dev_server.ensure_search_attributes(client, dev_server.DEFAULT_NAMESPACE)
            logs = data_dir / "logs"
            simulators["payout"] = start_simulator(
                "payout",
                mode="subprocess",
                port=ports.payout,
                log_file=logs / "payout.log",
                own_session=False,
                max_settle_seconds=0,
            )
            simulators["sms"] = start_simulator(
                "sms",
                mode="subprocess",
                port=ports.sms,
                log_file=logs / "sms.log",
                own_session=False,
            )
        except BaseException:
            for simulator in simulators.values():
                simulator.stop()
            temporal.stop()
            raise
        return cls(data_dir, ports, temporal, client, simulators, secrets_env)

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    def worker_env(self, task_queue: str, database_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.secrets_env)
        env.update(
            {
                "TEMPORAL_ADDRESS": self.temporal_address,
                "TEMPORAL_NAMESPACE": dev_server.DEFAULT_NAMESPACE,
                "TEMPORAL_TASK_QUEUE": task_queue,
                "DATABASE_URL": database_url,
                "PAYOUT_GATEWAY_URL": self.simulators["payout"].url,
                "SMS_GATEWAY_URL": self.simulators["sms"].url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("PAYOUT_CALLBACK_URL", None)  # instant settlement: no callbacks to receive
        return env

    async def start_worker(
        self,
        kind: WorkerKind,
        task_queue: str,
        database_url: str,
        extra_env: dict[str, str] | None = None,
    ) -> ChildProcess:
        """The production ``worker.py`` (real) or ``bench.baseline_worker`` (no-op activities),
        once it polls ``task_queue``."""
        module = ["worker.py"] if kind == "real" else ["-m", "bench.baseline_worker"]
        worker = ChildProcess(
            name=f"worker-{task_queue}",
            command=[sys.executable, *module],
            env={**self.worker_env(task_queue, database_url), **(extra_env or {})},
            log_path=self.data_dir / "logs" / f"worker-{task_queue}.log",
            cwd=REPO_ROOT,
            stop_timeout_seconds=STOP_TIMEOUT_SECONDS,
            own_session=False,
        )
        pid = worker.spawn()
        self.workers.append(worker)
        client = self.client

        async def polling() -> bool:
            if not worker.running():
                raise RuntimeError(f"worker exited during start-up:\n{worker.log_tail()}")
            pollers = await dev_server.task_queue_pollers(
                client, dev_server.DEFAULT_NAMESPACE, task_queue
            )
            return any(identity.startswith(f"{pid}@") for identity in pollers)

        await poll_until(
            polling,
            bool,
            timeout=WORKER_READY_TIMEOUT_SECONDS,
            interval=WORKER_POLL_INTERVAL_SECONDS,
            on_timeout=lambda _: RuntimeError(
                f"worker did not poll within {WORKER_READY_TIMEOUT_SECONDS} s"
            ),
        )
        return worker

    @property
    def simulator_pids(self) -> list[int]:
        return [s.pid for s in self.simulators.values() if s.pid is not None]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for simulator in self.simulators.values():
            simulator.stop()
        self.temporal.stop()


@contextmanager
def stopped_at_end(stack: BenchStack, *, keep_data: bool) -> Iterator[None]:
    """The stack stopped when the block ends. After a success its data directory is
    removed unless ``keep_data``; after a failure it is kept and named on stderr, and a
    stuck withdrawal is reported first, with what its worker log says (before the stop,
    which can take a worker's whole graceful shutdown)."""
    try:
        yield
    except BaseException as error:
        if isinstance(error, StuckWithdrawal):
            note(f"stuck: {error}")
            for path in error.worker_logs:
                note(log_findings(path))
        note(f"stopping the stack after {type(error).__name__}")
        stack.stop()
        note(f"kept {stack.data_dir} (logs in {stack.data_dir / 'logs'})")
        raise
    stack.stop()
    if not keep_data:
        shutil.rmtree(stack.data_dir, ignore_errors=True)
