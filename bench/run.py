"""``make bench``: withdrawals per second and latency, against Temporal's own ceiling.

One run, on free ports: the dev server (as ``make run`` starts it), the simulators in
instant mode, and per phase a fresh worker process. Phases, each measured alone:

- ``baseline``: ``bench.baseline``, the auto path's shape with activities that do nothing;
- ``auto``: the real auto path (original route, no review) on SQLite, and again on
  PostgreSQL when ``DATABASE_URL`` points at one;
- ``review``: the same with an R17 review, approved as soon as it is under review.

``--mode burst`` (``--count`` withdrawals, ``--concurrency`` at a time) measures
throughput; ``--mode open`` (``--rate`` withdrawals/s offered for ``--seconds``) measures
latency without the driver's own queueing; ``--mode both`` (the default) runs both.
The table goes to stdout and the same figures, as JSON, to ``bench/results/latest.json``.

    .venv/bin/python -m bench.run                      # the defaults: about two minutes
    .venv/bin/python -m bench.run --mode burst --count 1000 --concurrency 60 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from temporalio.api.enums.v1 import EventType

from bench import accounts, load, profile
from bench.measure import (
    CpuSnapshot,
    CpuUse,
    machine_load,
    peak_rss_mebibytes,
    percentile,
    reset_peak_rss,
)
from bench.stack import BenchStack
from ledger.db import normalise_url
from service import settings as settings_module
from service.client import workflow_id

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT_COUNT = 200
DEFAULT_CONCURRENCY = 40
DEFAULT_RATE = 20.0
DEFAULT_SECONDS = 10.0
WARM_UP_WITHDRAWALS = 10  # imports, sandbox, connections: not part of the measure
HISTORY_SAMPLE = 10  # histories read per phase for the event count

Path_ = Literal["baseline", "auto", "review"]
Mode = Literal["burst", "open"]


@dataclass(frozen=True)
class Phase:
    path: Path_
    mode: Mode
    database: str  # "sqlite" or "postgresql"

    @property
    def name(self) -> str:
        suffix = "" if self.database == "sqlite" or self.path == "baseline" else "-pg"
        return f"{self.path}{suffix}"


@dataclass(frozen=True)
class Settings:
    count: int
    concurrency: int
    rate: float
    seconds: float
    warm_up: int
    profile: bool

    def size(self, mode: Mode) -> int:
        return self.count if mode == "burst" else max(1, round(self.rate * self.seconds))


@dataclass(frozen=True)
class Group:
    """Phases served by one worker process: one path on one database, every mode."""

    path: Path_
    database: str
    modes: tuple[Mode, ...]

    def phase(self, mode: Mode) -> Phase:
        return Phase(self.path, mode, self.database)


def groups(modes: list[Mode], paths: list[Path_], postgres: bool) -> list[Group]:
    planned: list[Group] = []
    for path in paths:
        planned.append(Group(path, "sqlite", tuple(modes)))
        if path == "auto" and postgres:
            planned.append(Group(path, "postgresql", tuple(modes)))
    return planned


async def run_group(
    stack: BenchStack,
    group: Group,
    settings: Settings,
    database_urls: dict[str, str],
    http: httpx.AsyncClient,
    number: int,
) -> list[dict[str, Any]]:
    """One worker, warmed up, then each mode measured alone on its own withdrawals."""
    tag = f"{os.getpid()}x{number}"
    tag_number = os.getpid() * 10 + number
    sizes = [settings.size(mode) for mode in group.modes]
    total = sum(sizes) + settings.warm_up
    database_url = database_urls[group.database]
    if group.path != "baseline":
        review = group.path == "review"
        accounts.load_accounts(database_url, tag, tag_number, total, review=review)
    task_queue = f"bench-{tag}"
    kind: Literal["real", "baseline"] = "baseline" if group.path == "baseline" else "real"
    worker = await stack.start_worker(kind, task_queue, database_url)
    assert worker.pid is not None
    drivers = load.Drivers(
        stack.client,
        stack.simulators["sms"].url,
        http,
        settings_module.dev_review_signing_key(stack.data_dir),
    )
    driver = (
        drivers.baseline(tag, task_queue)
        if group.path == "baseline"
        else drivers.real(tag, tag_number, task_queue, review=group.path == "review")
    )
    name = load.baseline_workflow_id if group.path == "baseline" else workflow_id
    results: list[dict[str, Any]] = []
    try:
        warm_up_from = total - settings.warm_up
        await load.burst(shifted(driver, warm_up_from), settings.warm_up, settings.warm_up)
        first = 0
        for mode, size in zip(group.modes, sizes, strict=True):
            phase = group.phase(mode)
            print(f"... {phase.name} ({mode})", file=sys.stderr, flush=True)
            measured = await _measure(stack, worker.pid, phase, settings, shifted(driver, first))
            ids = [name(accounts.request(tag, first + i).withdrawal_id) for i in range(size)]
            events, shape = await _history_events(stack, ids)
            results.append(_figures(phase, settings, *measured, events, shape))
            first += size
    finally:
        worker.stop()
    return results


def shifted(driver: load.Driver, first: int) -> load.Driver:
    """The driver on withdrawals ``first``, ``first + 1``, …: each mode has its own."""

    def one(i: int) -> Awaitable[load.Sample]:
        return driver(first + i)

    return one


async def _measure(
    stack: BenchStack, worker_pid: int, phase: Phase, settings: Settings, driver: load.Driver
) -> tuple[load.LoadResult, CpuUse, float]:
    assert stack.temporal.pid is not None
    reset_peak_rss(worker_pid)
    output = RESULTS_DIR / f"profile-{phase.name}-{phase.mode}.txt"
    output.parent.mkdir(parents=True, exist_ok=True)
    profiler = profile.start(worker_pid, output) if settings.profile else None
    harness = [os.getpid(), *stack.simulator_pids]
    before = CpuSnapshot.take(worker_pid, stack.temporal.pid, harness)
    if phase.mode == "burst":
        result = await load.burst(driver, settings.count, settings.concurrency)
    else:
        result = await load.open_loop(driver, settings.rate, settings.seconds)
    cpu = CpuUse.between(before, CpuSnapshot.take(worker_pid, stack.temporal.pid, harness))
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait()
    return result, cpu, peak_rss_mebibytes(worker_pid)


async def _history_events(stack: BenchStack, ids: list[str]) -> tuple[float, dict[str, int]]:
    """Mean events per withdrawal over a sample, and the event types of the first one."""
    step = max(1, len(ids) // HISTORY_SAMPLE)
    counts: list[int] = []
    shape: Counter[str] = Counter()
    for i, workflow in enumerate(ids[::step][:HISTORY_SAMPLE]):
        handle = stack.client.get_workflow_handle(workflow)
        events = [event async for event in handle.fetch_history_events()]
        counts.append(len(events))
        if i == 0:
            shape.update(
                EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
                for event in events
            )
    return (sum(counts) / len(counts) if counts else 0.0), dict(shape)


def _figures(
    phase: Phase,
    settings: Settings,
    result: load.LoadResult,
    cpu: CpuUse,
    peak_mebibytes: float,
    events: float,
    shape: dict[str, int],
) -> dict[str, Any]:
    done = len(result.samples)
    per = max(done, 1)
    latencies = [s.latency * 1000 for s in result.samples]
    statuses = Counter(s.status for s in result.samples)
    load_shape = (
        {"count": settings.count, "concurrency": settings.concurrency}
        if phase.mode == "burst"
        else {"rate": settings.rate, "seconds": settings.seconds}
    )
    return {
        "phase": phase.name,
        "path": phase.path,
        "mode": phase.mode,
        "database": "none" if phase.path == "baseline" else phase.database,
        "load": load_shape,
        "completed": done,
        "failed": len(result.failures),
        "failures": result.failures[:5],
        "statuses": dict(statuses),
        "seconds": round(result.seconds, 3),
        "per_second": round(done / result.seconds, 2) if result.seconds > 0 else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "raw_p99": round(percentile([s.raw_latency * 1000 for s in result.samples], 0.99), 1),
        },
        "history_events": round(events, 1),
        "history_shape": shape,
        "cpu_ms_per_withdrawal": {
            "worker": round(cpu.worker_seconds * 1000 / per, 2),
            "server": round(cpu.server_seconds * 1000 / per, 2),
            "harness": round(cpu.harness_seconds * 1000 / per, 2),
            "other": round(cpu.other_seconds * 1000 / per, 2),
        },
        "cpu_seconds": asdict(cpu),
        "peak_worker_mib": round(peak_mebibytes, 1),
    }


def ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """Real/baseline throughput in burst mode, from this run only (an open loop completes
    what it offers, so its throughput says nothing about capacity)."""
    burst = [r for r in results if r["mode"] == "burst"]
    baseline = next((r for r in burst if r["path"] == "baseline"), None)
    if baseline is None or not baseline["per_second"]:
        return {}
    return {
        r["phase"]: round(r["per_second"] / baseline["per_second"], 3)
        for r in burst
        if r["path"] != "baseline"
    }


def table(results: list[dict[str, Any]]) -> str:
    header = (
        f"{'phase':<10} {'mode':<6} {'db':<10} {'done':>5} {'fail':>4} {'wd/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'events':>6} "
        f"{'worker':>7} {'server':>7} {'harness':>7} {'other':>7} {'peak MiB':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        latency, cpu = r["latency_ms"], r["cpu_ms_per_withdrawal"]
        lines.append(
            f"{r['phase']:<10} {r['mode']:<6} {r['database']:<10} {r['completed']:>5} "
            f"{r['failed']:>4} {r['per_second']:>7.1f} {latency['p50']:>7.0f} "
            f"{latency['p95']:>7.0f} {latency['p99']:>7.0f} {r['history_events']:>6.0f} "
            f"{cpu['worker']:>7.1f} {cpu['server']:>7.1f} {cpu['harness']:>7.1f} "
            f"{cpu['other']:>7.1f} "
            f"{r['peak_worker_mib']:>8.0f}"
        )
    lines.append(
        "p50-p99: start -> final status, less the user's typing time. worker, server, harness "
        "(driver + simulators), other (PostgreSQL, anything else on the machine): CPU ms per "
        "withdrawal"
    )
    return "\n".join(lines)


def closing_note(results: list[dict[str, Any]], found: dict[str, float], rate: float) -> str:
    notes: list[str] = []
    for key, ratio in found.items():
        notes.append(f"burst throughput, {key} / baseline: {ratio:.0%} (target >= 70 % for auto)")
    for r in results:
        if r["path"] == "auto" and r["mode"] == "open":
            notes.append(
                f"{r['phase']} open loop at {rate:g}/s offered: p99 start->final "
                f"{r['latency_ms']['p99']:.0f} ms (target <= 500 ms)"
            )
        if r["path"] == "auto" and r["mode"] == "burst":
            notes.append(
                f"{r['phase']}: {r['history_events']:.0f} history events per withdrawal "
                "(target <= 40)"
            )
    return "\n".join(notes)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        args.count, args.concurrency, args.rate, args.seconds, args.warm_up, args.profile
    )
    configured = os.environ.get("DATABASE_URL", "")
    postgres = normalise_url(configured).startswith("postgresql")
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="withdrawals-bench-"))
    database_urls = {"sqlite": f"sqlite:///{data_dir / 'ledger.db'}"}
    if postgres:
        database_urls["postgresql"] = configured
    modes: list[Mode] = ["burst", "open"] if args.mode == "both" else [args.mode]
    paths: list[Path_] = args.paths
    machine = machine_load()
    stack = await BenchStack.start(data_dir)
    results: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient() as http:
            for number, group in enumerate(groups(modes, paths, postgres)):
                results += await run_group(stack, group, settings, database_urls, http, number)
    finally:
        stack.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    found = ratios(results)
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine_before": machine,
        "machine_after": machine_load(),
        "settings": asdict(settings),
        "phases": results,
        "ratios": found,
        "note": closing_note(results, found, settings.rate),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["burst", "open", "both"], default="both")
    parser.add_argument(
        "--paths",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=["baseline", "auto", "review"],
        help="comma-separated, of baseline, auto, review",
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="burst: withdrawals")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="open: offered per s")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="open: duration")
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP_WITHDRAWALS, help="unmeasured, per phase"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy flame graphs per phase")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--data-dir", help="keep servers' state and logs here (default: temp)")
    args = parser.parse_args(argv)
    unknown = set(args.paths) - {"baseline", "auto", "review"}
    if unknown:
        parser.error(f"--paths: unknown {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(bench(args))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report["phases"]))
    print()
    print(report["note"])
    print(f"\nJSON: {args.results}")
    failed = sum(r["failed"] for r in report["phases"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
