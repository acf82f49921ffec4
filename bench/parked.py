"""``bench.run --mode parked``: many withdrawals parked under review at once.

Reviews wait up to 48 hours, so thousands of withdrawals can be open at the same time.
One real worker (its workflow cache set by ``--cache``, smaller than ``--parked`` by
default, to show that evictions do not collapse throughput) runs, in order:

1. ``auto, nothing parked``: a burst of ``--count`` auto withdrawals, the reference;
2. ``park``: ``--parked`` withdrawals of the review path (R17), each started, its code
   entered, and left ``under_review``; then the worker's and the server's memory;
3. ``auto, N parked``: the same burst of auto withdrawals beside the parked set;
4. ``approve all``: every parked withdrawal approved (``--concurrency`` at a time) while
   auto bursts run beside the approvals; time until every approval is weighed and until
   every approved withdrawal has succeeded, and the auto throughput meanwhile.

Approvals take the authenticated path of ``starter.py approve`` and the console: the
reviewer signs in once (``application.reviews.authenticate``: one slow password hash),
then each decision carries its own signed proof (``application.reviews.send_decision``).

Every wait on a withdrawal has its deadline (``bench.deadlines``, from what the stage has
in flight); a withdrawal past it ends the run, naming it, the state it waited for and the
worker log. Each stage writes a progress line to stderr as it starts and ends.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from application.reviews import authenticate, send_decision
from bench import accounts, load
from bench.deadlines import StuckWithdrawal, Watch, every, wait_seconds, within
from bench.measure import (
    BYTES_PER_MEBIBYTE,
    CpuSnapshot,
    CpuUse,
    machine_load,
    peak_rss_mebibytes,
    reset_peak_rss,
)
from bench.progress import note
from bench.stack import BenchStack, stopped_at_end
from client.withdrawals import WithdrawalClient, workflow_id
from config import settings
from ledger.db import get_engine
from models.domain import Status
from models.messages import ReviewDecisionKind

DEFAULT_PARKED = 10_000
STATUS_POLL_SECONDS = 0.25
APPROVAL_WEIGHED = "past its approval (the approve signal weighed by the workflow)"
SUCCEEDED = f"{Status.SUCCEEDED.value} (the workflow's result)"


def default_cache(parked: int) -> int:
    """A quarter of the parked set: most parked withdrawals are evicted while they wait."""
    return max(10, parked // 4)


@dataclass(frozen=True)
class Outcome:
    done: int
    failed: int
    seconds: float
    first_failures: list[str]

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def document(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "failed": self.failed,
            "seconds": round(self.seconds, 2),
            "per_second": round(self.per_second, 2),
            "failures": self.first_failures,
        }


async def _many(
    stage: str,
    one: Callable[[int, Watch], Awaitable[object]],
    indexes: range,
    concurrency: int,
    in_flight: int,
) -> Outcome:
    """``one`` for each index, ``concurrency`` at a time, each by its deadline for a stage
    of ``in_flight`` withdrawals at once; a failure is counted, a stuck one ends the run."""
    seconds = wait_seconds(in_flight)
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def gated(i: int) -> None:
        async with gate:
            try:
                await within(Watch(seconds), lambda watch: one(i, watch))
            except StuckWithdrawal:
                raise
            except Exception as error:  # counted and reported, not fatal to the run
                failure = f"{i}: {type(error).__name__}: {error}"
                note(f"{stage}: withdrawal failed: {failure}")
                failures.append(failure)

    note(f"{stage}: {len(indexes)} withdrawals, {concurrency} at a time, {seconds:.0f} s each")
    began = time.monotonic()
    await every(gated(i) for i in indexes)
    seconds = time.monotonic() - began
    outcome = Outcome(len(indexes) - len(failures), len(failures), seconds, failures[:5])
    note(f"{stage}: {outcome.done} done, {outcome.failed} failed in {seconds:.1f} s")
    return outcome


def _rss_mebibytes(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / BYTES_PER_MEBIBYTE


class ParkedRun:
    def __init__(
        self,
        stack: BenchStack,
        http: httpx.AsyncClient,
        task_queue: str,
        tag: str,
        number: int,
        database_url: str,
        worker_logs: tuple[Path, ...],
    ) -> None:
        self.stack = stack
        self.worker_logs = worker_logs
        # One sign-in for the whole run, not a password hash per decision.
        self.reviewer = authenticate(
            get_engine(database_url), accounts.REVIEWERS[0], accounts.REVIEWER_PASSWORD
        )
        self.signing_key = settings.dev_review_signing_key(stack.data_dir)
        self.client = WithdrawalClient(stack.client, task_queue)
        self.tag = tag
        self.number = number
        self.drivers = load.Drivers(stack.client, stack.simulators["sms"].url, http)
        self._auto = self.drivers.real(
            f"{tag}a", number * 10 + 1, task_queue, review=False, worker_logs=worker_logs
        )
        self._auto_next = 0

    def review_id(self, i: int) -> str:
        return accounts.request(f"{self.tag}r", i).withdrawal_id

    def _follow(self, watch: Watch, i: int) -> str:
        withdrawal_id = self.review_id(i)
        describe = self.drivers.describer(workflow_id(withdrawal_id))
        watch.follow(withdrawal_id, self.worker_logs, describe)
        return withdrawal_id

    async def park(self, i: int, watch: Watch) -> None:
        """Start a review-path withdrawal, enter its code, wait until it is under review."""
        self._follow(watch, i)
        request = accounts.request(f"{self.tag}r", i)
        await self.client.start(request)
        watch.waiting_for(load.CODE_SMS)
        message = await self.drivers.code_message(accounts.phone(self.number * 10 + 2, i))
        assert message.code is not None
        watch.waiting_for(load.CODE_ACCEPTED)
        await self.client.submit_code(request.withdrawal_id, message.code)
        watch.waiting_for(Status.UNDER_REVIEW.value)
        await self._under_review(request.withdrawal_id)

    async def _under_review(self, withdrawal_id: str) -> None:
        """Until its status is under review; a final status first is a failure at once
        (it will never be under review), not a wait until the deadline."""
        while True:
            status = (await self.client.status(withdrawal_id)).status
            if status is Status.UNDER_REVIEW:
                return
            if status.is_final:
                raise RuntimeError(
                    f"withdrawal {withdrawal_id} ended {status.value} before it was under review"
                )
            await asyncio.sleep(STATUS_POLL_SECONDS)

    async def approve(self, i: int, watch: Watch) -> None:
        self._follow(watch, i)
        watch.waiting_for(APPROVAL_WEIGHED)
        recorded = await send_decision(
            self.client,
            self.reviewer,
            self.review_id(i),
            ReviewDecisionKind.APPROVE,
            "bench",
            signing_key=self.signing_key,
        )
        if recorded is None or not recorded.accepted:
            raise RuntimeError(f"approval not accepted: {recorded}")

    async def finished(self, i: int, watch: Watch) -> None:
        withdrawal_id = self._follow(watch, i)
        watch.waiting_for(SUCCEEDED)
        document = await self.client.result(withdrawal_id)
        if document.status is not Status.SUCCEEDED:
            raise RuntimeError(f"withdrawal {withdrawal_id} ended {document.status.value}")

    async def auto_burst(
        self, stage: str, count: int, concurrency: int, *, beside: int = 0
    ) -> Outcome:
        """``count`` auto withdrawals; ``beside``: parked ones resuming meanwhile."""
        first, self._auto_next = self._auto_next, self._auto_next + count
        note(f"{stage}: {count} auto withdrawals, {concurrency} at a time")
        result = await load.burst(
            lambda i, watch: self._auto(first + i, watch), count, concurrency, beside=beside
        )
        outcome = Outcome(
            len(result.samples), len(result.failures), result.seconds, result.failures[:5]
        )
        note(f"{stage}: {outcome.done} done, {outcome.failed} failed in {result.seconds:.1f} s")
        return outcome


async def bench(args: Any) -> dict[str, Any]:
    parked: int = args.parked
    cache: int = args.cache or default_cache(parked)
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="withdrawals-bench-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'ledger.db'}"
    machine = machine_load()
    stack = await BenchStack.start(data_dir)
    note(f"parked: dev server and simulators up; data and logs in {data_dir}")
    tag, number = f"{os.getpid()}p", os.getpid() % 100_000
    task_queue = f"bench-{tag}"
    report: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine_before": machine,
        "parked": parked,
        "worker_cache": cache,
        "database": database_url.partition(":")[0],
        "approval_path": "application.reviews.send_decision (one sign-in, a signed proof each)",
    }
    with stopped_at_end(stack, keep_data=args.data_dir is not None):
        auto_total = args.warm_up + args.count * (2 + args.approval_bursts)
        accounts.load_accounts(database_url, f"{tag}a", number * 10 + 1, auto_total, review=False)
        accounts.load_accounts(database_url, f"{tag}r", number * 10 + 2, parked, review=True)
        worker = await stack.start_worker(
            "real", task_queue, database_url, {"WORKER_MAX_CACHED_WORKFLOWS": str(cache)}
        )
        assert worker.pid is not None and stack.temporal.pid is not None
        pid, server = worker.pid, stack.temporal.pid
        note(f"parked: worker {pid} polling {task_queue} (cache {cache}); log {worker.log_path}")
        async with httpx.AsyncClient() as http:
            run = ParkedRun(stack, http, task_queue, tag, number, database_url, (worker.log_path,))
            await run.auto_burst("warm-up", args.warm_up, args.warm_up)
            report["auto_nothing_parked"] = (
                await run.auto_burst("auto, nothing parked", args.count, args.concurrency)
            ).document()
            report["memory_before_mib"] = {
                "worker": round(_rss_mebibytes(pid), 1),
                "server": round(_rss_mebibytes(server), 1),
            }
            reset_peak_rss(pid)
            before = CpuSnapshot.take([pid], server, [os.getpid()])
            parking = await _many(
                "park", run.park, range(parked), args.concurrency, args.concurrency
            )
            report["park"] = parking.document()
            report["park_cpu_ms_per_withdrawal"] = _per(before, pid, server, parked)
            report["memory_parked_mib"] = {
                "worker": round(_rss_mebibytes(pid), 1),
                "worker_peak": round(peak_rss_mebibytes(pid), 1),
                "server": round(_rss_mebibytes(server), 1),
            }
            report["auto_with_parked"] = (
                await run.auto_burst(f"auto, {parked} parked", args.count, args.concurrency)
            ).document()
            report.update(await _approve_all(run, args, parked))
            report["memory_after_mib"] = {
                "worker": round(_rss_mebibytes(pid), 1),
                "worker_peak": round(peak_rss_mebibytes(pid), 1),
                "server": round(_rss_mebibytes(server), 1),
            }
    report["machine_after"] = machine_load()
    return report


def _per(before: CpuSnapshot, pid: int, server: int, count: int) -> dict[str, float]:
    cpu = CpuUse.between(before, CpuSnapshot.take([pid], server, [os.getpid()]))
    per = max(count, 1)
    return {
        "worker": round(cpu.worker_seconds * 1000 / per, 2),
        "server": round(cpu.server_seconds * 1000 / per, 2),
    }


async def _approve_all(run: ParkedRun, args: Any, parked: int) -> dict[str, Any]:
    """Approve every parked withdrawal while auto bursts run beside the approvals."""
    began = time.monotonic()
    approvals = asyncio.create_task(
        _many("approve all", run.approve, range(parked), args.concurrency, args.concurrency)
    )
    beside: list[Outcome] = []
    try:
        for _ in range(args.approval_bursts):
            outcome = await run.auto_burst(
                "auto while approving", args.count, args.concurrency, beside=parked
            )
            beside.append(outcome)
            if approvals.done():
                break
        approved = await approvals
    finally:
        approvals.cancel()  # a burst beside that was stuck ends the approvals too
    # Approved withdrawals resume together: up to the whole set is paid out at once.
    finished = await _many("succeeded", run.finished, range(parked), args.concurrency, parked)
    return {
        "approve_all": approved.document(),
        "all_succeeded_seconds": round(time.monotonic() - began, 2),
        "succeeded": finished.document(),
        "auto_while_approving": [outcome.document() for outcome in beside],
    }


def text(report: dict[str, Any]) -> str:
    approve = report["approve_all"]
    beside = report["auto_while_approving"]
    beside_rates = ", ".join(f"{b['per_second']:.1f}" for b in beside)
    lines = [
        f"parked under review: {report['parked']} withdrawals, worker cache "
        f"{report['worker_cache']}, ledger {report['database']}; load "
        f"{report['machine_before']['load_1m']:.2f} before, "
        f"{report['machine_after']['load_1m']:.2f} after",
        f"park: {report['park']['done']} parked ({report['park']['failed']} failed) in "
        f"{report['park']['seconds']:.0f} s, {report['park']['per_second']:.1f}/s",
        f"memory MiB: worker {report['memory_before_mib']['worker']:.0f} before -> "
        f"{report['memory_parked_mib']['worker']:.0f} parked (peak "
        f"{report['memory_after_mib']['worker_peak']:.0f}); server "
        f"{report['memory_before_mib']['server']:.0f} -> "
        f"{report['memory_parked_mib']['server']:.0f} -> "
        f"{report['memory_after_mib']['server']:.0f} after approvals",
        f"auto wd/s: {report['auto_nothing_parked']['per_second']:.1f} nothing parked, "
        f"{report['auto_with_parked']['per_second']:.1f} with the set parked, "
        f"{beside_rates} while approving",
        f"approve all: {approve['done']} approved ({approve['failed']} failed) in "
        f"{approve['seconds']:.0f} s ({approve['per_second']:.1f}/s); all succeeded after "
        f"{report['all_succeeded_seconds']:.0f} s",
        f"approval path: {report['approval_path']}",
    ]
    return "\n".join(lines)
