"""``make bench``: withdrawals per second and latency, against Temporal's own ceiling.

One run, on free ports: the dev server (as ``make run`` starts it), the simulators in
instant mode, and one worker process per path, all started (and warmed up) first. Paths:

- ``baseline``: ``bench.baseline``, the auto path's shape with activities that do nothing;
- ``auto``: the real auto path (original route, no review) on SQLite, and again on
  PostgreSQL when ``DATABASE_URL`` points at one;
- ``review``: the same with an R17 review, approved as soon as it is under review.

The paths are measured in short alternating rounds (baseline, auto, review, baseline, …;
``--rounds``, five by default), one path at a time, so a change in the machine's load
falls on every path alike; a closing baseline round follows, and each real round is
compared with the mean of the baseline rounds before and after it. Each ratio to the
baseline is the median of the per-round ratios, printed with its min and max as
``ratio auto/baseline sqlite 0.xx (min 0.xx, max 0.xx)``. ``--mode burst`` (``--count``
withdrawals per round, ``--concurrency`` at a time) measures throughput; ``--mode open``
(``--rate`` withdrawals/s offered for ``--seconds`` per round) measures latency without
the driver's own queueing; ``--mode both`` (the default) runs both in every round. The
table (every round of a path added up) goes to stdout and the same figures, as JSON, to
``bench/results/latest.json``.

    .venv/bin/python -m bench.run                      # the defaults: 12 minutes with PostgreSQL
    .venv/bin/python -m bench.run --mode burst --count 200 --concurrency 40 --profile

Progress goes to stderr as the run goes (``... `` lines). Every withdrawal has a deadline
from its phase's size (``bench.deadlines``); one past it ends the run with exit status 3,
naming the withdrawal, the state it waited for and the worker log (the data directory is
kept after any failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from temporalio.api.enums.v1 import EventType

from bench import accounts, load, parked, profile, split
from bench.deadlines import StuckWithdrawal, Watch
from bench.measure import (
    CpuSnapshot,
    CpuUse,
    machine_load,
    peak_rss_mebibytes,
    percentile,
    reset_peak_rss,
)
from bench.progress import note
from bench.stack import BenchStack, stopped_at_end
from client.withdrawals import workflow_id
from config import settings as settings_module
from ledger.db import normalise_url
from stack.child_process import ChildProcess

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT_RESULTS = RESULTS_DIR / "latest.json"
DEFAULT_ROUNDS = 5  # per path: the fewest that give a median with a spread
DEFAULT_COUNT = 60  # per round: long enough to fill the pipeline, short enough to alternate
DEFAULT_CONCURRENCY = 20
DEFAULT_RATE = 5.0  # below the baseline's capacity on two cores: latency, not queueing
# 100 withdrawals a round: a p99 is then not one sample (6 s gave 30, and two runs of the
# same commit disagreed: 2.48 and 1.76).
DEFAULT_SECONDS = 20.0
WARM_UP_WITHDRAWALS = 10  # imports, sandbox, connections: not part of the measure
HISTORY_SAMPLE = 10  # histories read per phase for the event count
EXIT_FAILED = 1  # the run ended, some withdrawals failed
EXIT_STUCK = 3  # a withdrawal stuck past its deadline ended the run (bench.deadlines)

Path_ = Literal["baseline", "auto", "baseline-review", "review"]
BASELINES: tuple[Path_, ...] = (
    "baseline",
    "baseline-review",
)  # the review twin: the review path's own shape
Mode = Literal["burst", "open"]


@dataclass(frozen=True)
class Phase:
    path: Path_
    mode: Mode
    database: str  # "sqlite" or "postgresql"
    workers: int = 1  # worker processes sharing the phase's task queue

    @property
    def name(self) -> str:
        suffix = "" if self.database == "sqlite" or self.path in BASELINES else "-pg"
        workers = f"-{self.workers}w" if self.workers > 1 else ""
        return f"{self.path}{suffix}{workers}"


@dataclass(frozen=True)
class Settings:
    count: int
    concurrency: int
    rate: float
    seconds: float
    warm_up: int
    profile: bool
    rounds: int = DEFAULT_ROUNDS

    def size(self, mode: Mode) -> int:
        return self.count if mode == "burst" else max(1, round(self.rate * self.seconds))


@dataclass(frozen=True)
class Group:
    """Phases served by one worker process: one path on one database, every mode."""

    path: Path_
    database: str
    modes: tuple[Mode, ...]
    workers: int = 1

    def phase(self, mode: Mode) -> Phase:
        return Phase(self.path, mode, self.database, self.workers)


TWO_WORKERS = 2


def groups(
    modes: list[Mode], paths: list[Path_], postgres: bool, two_workers: bool = True
) -> list[Group]:
    """Every path on SQLite; the auto path on PostgreSQL too, once with one worker and
    (``two_workers``) once with two worker processes sharing one task queue."""
    planned: list[Group] = []
    for path in paths:
        planned.append(Group(path, "sqlite", tuple(modes)))
        if path == "auto" and postgres:
            planned.append(Group(path, "postgresql", tuple(modes)))
            if two_workers:
                planned.append(Group(path, "postgresql", tuple(modes), TWO_WORKERS))
    return planned


def planned(
    modes: list[Mode], paths: list[Path_], postgres: bool, two_workers: bool, only: list[str]
) -> list[Group]:
    """``groups``, kept to the phases named in ``only`` (all when empty)."""
    every = groups(modes, paths, postgres, two_workers)
    return [g for g in every if not only or g.phase(modes[0]).name in only]


@dataclass
class Lane:
    """One path on one database: its worker, accounts and driver, kept for every round."""

    group: Group
    tag: str
    workers: list[ChildProcess]
    driver: load.Driver
    database_url: str
    next_index: int = 0
    rounds: dict[Mode, list[Measured]] = field(default_factory=dict)

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self.workers if worker.pid is not None]

    def take(self, size: int) -> load.Driver:
        """The driver on the next ``size`` withdrawals: each round has its own."""
        first, self.next_index = self.next_index, self.next_index + size
        return shifted(self.driver, first)

    def ids(self, first: int, size: int) -> list[str]:
        name = load.baseline_workflow_id if self.group.path in BASELINES else workflow_id
        return [name(accounts.request(self.tag, first + i).withdrawal_id) for i in range(size)]


@dataclass(frozen=True)
class Measured:
    """One round of one phase."""

    result: load.LoadResult
    cpu: CpuUse
    peak_mebibytes: float
    first: int
    size: int

    @property
    def per_second(self) -> float:
        return len(self.result.samples) / self.result.seconds if self.result.seconds > 0 else 0.0

    @property
    def p99_ms(self) -> float:
        return percentile([s.latency * 1000 for s in self.result.samples], 0.99)


async def start_lane(
    stack: BenchStack,
    group: Group,
    settings: Settings,
    database_urls: dict[str, str],
    drivers: load.Drivers,
    number: int,
) -> Lane:
    """Accounts for every round, the worker polling, and the warm-up done."""
    tag = f"{os.getpid()}x{number}"
    tag_number = os.getpid() * 10 + number
    total = settings.rounds * sum(settings.size(mode) for mode in group.modes) + settings.warm_up
    database_url = database_urls[group.database]
    baseline = group.path in BASELINES
    if not baseline:
        review = group.path == "review"
        accounts.load_accounts(database_url, tag, tag_number, total, review=review)
    task_queue = f"bench-{tag}"
    kind: Literal["real", "baseline"] = "baseline" if baseline else "real"
    workers = [
        await stack.start_worker(kind, task_queue, database_url) for _ in range(group.workers)
    ]
    logs = tuple(worker.log_path for worker in workers)
    review = group.path in ("review", "baseline-review")
    driver = (
        drivers.baseline(tag, task_queue, review=review, worker_logs=logs)
        if baseline
        else drivers.real(
            tag,
            tag_number,
            task_queue,
            review=review,
            database_url=database_url,
            worker_logs=logs,
        )
    )
    lane = Lane(group, tag, workers, driver, database_url)
    name = group.phase(group.modes[0]).name
    note(f"{name}: {len(workers)} worker(s) polling {task_queue}; warming up")
    await load.burst(lane.take(settings.warm_up), settings.warm_up, settings.warm_up)
    return lane


async def run_round(
    stack: BenchStack, lane: Lane, mode: Mode, settings: Settings, number: int
) -> None:
    phase = lane.group.phase(mode)
    size = settings.size(mode)
    note(f"round {number + 1}: {phase.name} ({mode})")
    first = lane.next_index
    result, cpu, peak = await _measure(stack, lane.pids, phase, settings, lane.take(size), number)
    lane.rounds.setdefault(mode, []).append(Measured(result, cpu, peak, first, size))
    note(
        f"{phase.name} ({mode}): {len(result.samples)} done, {len(result.failures)} failed "
        f"in {result.seconds:.1f} s"
    )


async def phase_figures(stack: BenchStack, lane: Lane, settings: Settings) -> list[dict[str, Any]]:
    """Every round of a phase added up: one row of the table per path and mode."""
    results: list[dict[str, Any]] = []
    for mode in lane.group.modes:
        rounds = lane.rounds.get(mode, [])
        ids = [i for m in rounds for i in lane.ids(m.first, m.size)]
        events, shape = await _history_events(stack, ids)
        merged = load.LoadResult(
            samples=[s for m in rounds for s in m.result.samples],
            failures=[f for m in rounds for f in m.result.failures],
            seconds=sum(m.result.seconds for m in rounds),
        )
        cpu = CpuUse(*(sum(getattr(m.cpu, f) for m in rounds) for f in CpuUse.__dataclass_fields__))
        peak = max((m.peak_mebibytes for m in rounds), default=0.0)
        figures = _figures(lane.group.phase(mode), settings, merged, cpu, peak, events, shape)
        figures["rounds_per_second"] = [round(m.per_second, 2) for m in rounds]
        figures["rounds_p99_ms"] = [round(m.p99_ms, 1) for m in rounds]
        figures["workers"] = lane.group.workers
        if lane.group.workers > 1:
            withdrawal_ids = [
                accounts.request(lane.tag, m.first + i).withdrawal_id
                for m in rounds
                for i in range(m.size)
            ]
            figures["split"] = await split.split(stack.client, ids, lane.pids)
            movements = stack.simulators["payout"].stats()["movements"]
            figures["done_twice"] = split.done_twice(lane.database_url, withdrawal_ids, movements)
        results.append(figures)
    return results


def shifted(driver: load.Driver, first: int) -> load.Driver:
    """The driver on withdrawals ``first``, ``first + 1``, …: each mode has its own."""

    def one(i: int, watch: Watch) -> Awaitable[load.Sample]:
        return driver(first + i, watch)

    return one


async def _measure(
    stack: BenchStack,
    worker_pids: list[int],
    phase: Phase,
    settings: Settings,
    driver: load.Driver,
    number: int,
) -> tuple[load.LoadResult, CpuUse, float]:
    assert stack.temporal.pid is not None
    for pid in worker_pids:
        reset_peak_rss(pid)
    output = RESULTS_DIR / f"profile-{phase.name}-{phase.mode}-round{number + 1}.txt"
    output.parent.mkdir(parents=True, exist_ok=True)
    profiler = profile.start(worker_pids[0], output) if settings.profile else None
    harness = [os.getpid(), *stack.simulator_pids]
    before = CpuSnapshot.take(worker_pids, stack.temporal.pid, harness)
    if phase.mode == "burst":
        result = await load.burst(driver, settings.count, settings.concurrency)
    else:
        result = await load.open_loop(driver, settings.rate, settings.seconds)
    cpu = CpuUse.between(before, CpuSnapshot.take(worker_pids, stack.temporal.pid, harness))
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait()
    return result, cpu, max(peak_rss_mebibytes(pid) for pid in worker_pids)


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
        "database": "none" if phase.path in BASELINES else phase.database,
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


@dataclass(frozen=True)
class Ratio:
    """The median of per-round ratios to the baseline, with their spread."""

    name: str  # "auto/baseline sqlite"
    median: float
    low: float
    high: float
    rounds: list[float]

    @property
    def line(self) -> str:
        """``ratio auto/baseline sqlite 0.61 (min 0.55, max 0.66)``; latency and CPU ratios
        start with ``p99`` and ``cpu`` instead, so a script reading ``ratio`` lines gets
        throughput only."""
        prefix = "" if self.name.startswith(("p99 ", "cpu ")) else "ratio "
        spread = f"(min {self.low:.2f}, max {self.high:.2f})"
        return f"{prefix}{self.name} {self.median:.2f} {spread}"


def per_round_ratio(name: str, values: list[float]) -> Ratio:
    return Ratio(name, statistics.median(values), min(values), max(values), values)


def baseline_lane(lanes: list[Lane], path: Path_ = "baseline") -> Lane | None:
    return next((lane for lane in lanes if lane.group.path == path), None)


def cpu_ms(measured: Measured) -> float:
    """Worker plus Temporal server CPU per withdrawal in one round: what the service costs
    (the simulators stand in for providers, the driver for users; neither is ours)."""
    done = len(measured.result.samples)
    return (
        (measured.cpu.worker_seconds + measured.cpu.server_seconds) * 1000 / done if done else 0.0
    )


def ratios(lanes: list[Lane]) -> list[Ratio]:
    """Burst throughput, real / baseline; CPU per withdrawal in the same rounds, baseline /
    real (``cpu …``: higher is cheaper, as for throughput); and open-loop p99, real /
    baseline: per round, each real phase against the baseline rounds just before and just
    after it. The review path is compared with the auto path's baseline (the name scripts
    read) and with its own shape's (``review/baseline-review``)."""
    found: list[Ratio] = []
    for lane in lanes:
        if lane.group.path in BASELINES:
            continue
        references: list[Path_] = ["baseline"]
        if lane.group.path == "review":
            references.append("baseline-review")
        for reference in references:
            baseline = baseline_lane(lanes, reference)
            if baseline is not None:
                found += _ratios_against(lane, baseline)
    return found


def _ratios_against(lane: Lane, baseline: Lane) -> list[Ratio]:
    found: list[Ratio] = []
    workers = f"-{lane.group.workers}workers" if lane.group.workers > 1 else ""
    name = f"{lane.group.path}/{baseline.group.path} {lane.group.database}{workers}"
    base_rounds, real_rounds = baseline.rounds.get("burst", []), lane.rounds.get("burst", [])
    values = bracketed([m.per_second for m in real_rounds], [m.per_second for m in base_rounds])
    if values:
        found.append(per_round_ratio(name, values))
    cost = bracketed([cpu_ms(m) for m in real_rounds], [cpu_ms(m) for m in base_rounds])
    if cost:
        found.append(per_round_ratio(f"cpu {name}", [1 / v for v in cost if v]))
    base = [m.p99_ms for m in baseline.rounds.get("open", [])]
    real = [m.p99_ms for m in lane.rounds.get("open", [])]
    values = bracketed(real, base)
    if values:
        found.append(per_round_ratio(f"p99 {name} open", values))
    return found


def bracketed(real: list[float], base: list[float]) -> list[float]:
    """Round k of a real path against the mean of baseline rounds k and k + 1, which ran
    just before and just after it (the machine's speed drifts within minutes: one
    neighbour alone moved the ratio by ±0.1); the last baseline round alone if there is
    no later one."""
    values: list[float] = []
    for k, measured in enumerate(real):
        around = base[k : k + 2]
        reference = statistics.fmean(around) if around else 0.0
        if reference:
            values.append(measured / reference)
    return values


def table(results: list[dict[str, Any]]) -> str:
    header = (
        f"{'phase':<15} {'mode':<6} {'db':<10} {'done':>5} {'fail':>4} {'wd/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'events':>6} "
        f"{'worker':>7} {'server':>7} {'harness':>7} {'other':>7} {'peak MiB':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        latency, cpu = r["latency_ms"], r["cpu_ms_per_withdrawal"]
        lines.append(
            f"{r['phase']:<15} {r['mode']:<6} {r['database']:<10} {r['completed']:>5} "
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


TARGETS = {
    "auto/baseline sqlite": ">= 0.75",
    "auto/baseline postgresql": ">= 0.70",
    "review/baseline sqlite": ">= 0.65",
    "review/baseline-review sqlite": ">= 0.70",
    "cpu auto/baseline sqlite": ">= 0.70",
    "p99 auto/baseline sqlite open": "<= 1.3",
    "p99 auto/baseline postgresql open": "<= 1.3",
}


def closing_note(results: list[dict[str, Any]], found: list[Ratio], rate: float) -> str:
    notes = [r.line for r in found]
    notes.append(
        "ratio: median of per-round ratios (throughput in burst rounds; 'p99 …': open-loop "
        f"p99 latency at {rate:g}/s offered); targets: "
        + ", ".join(f"{name} {target}" for name, target in TARGETS.items())
    )
    for r in results:
        if r["path"] == "auto" and r["mode"] == "burst" and r["workers"] == 1:
            notes.append(
                f"{r['phase']}: {r['history_events']:.0f} history events per withdrawal "
                "(target <= 40)"
            )
        if "split" in r:
            twice = r["done_twice"]
            nothing_twice = (
                not twice["paid_other_than_once"] and not twice["debited_other_than_once"]
            )
            notes.append(
                f"{r['phase']} ({r['mode']}): split of workflow tasks "
                f"{_shares(r['split']['workflow_tasks'])}, activity tasks "
                f"{_shares(r['split']['activity_tasks'])}, settled "
                f"{_shares(r['split']['settled_by'])}; {twice['withdrawals']} withdrawals, "
                + (
                    "each paid and debited exactly once"
                    if nothing_twice
                    else f"DONE TWICE: {twice}"
                )
            )
    return "\n".join(notes)


def _shares(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return " / ".join(
        f"{name} {count} ({count / total:.0%})" for name, count in sorted(counts.items())
    )


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        args.count,
        args.concurrency,
        args.rate,
        args.seconds,
        args.warm_up,
        args.profile,
        args.rounds,
    )
    configured = os.environ.get("DATABASE_URL", "")
    postgres = normalise_url(configured).startswith("postgresql")
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="withdrawals-bench-"))
    database_urls = {"sqlite": f"sqlite:///{data_dir / 'ledger.db'}"}
    if postgres:
        database_urls["postgresql"] = configured
    modes: list[Mode] = ["burst", "open"] if args.mode == "both" else [args.mode]
    paths: list[Path_] = args.paths
    if settings.profile:  # ``bench.profile --breakdown`` reads every round's file: this run's
        for stale in RESULTS_DIR.glob("profile-*.txt"):
            stale.unlink()
    machine = machine_load()
    stack = await BenchStack.start(data_dir)
    note(f"dev server and simulators up; data and logs in {data_dir}")
    results: list[dict[str, Any]] = []
    with stopped_at_end(stack, keep_data=args.data_dir is not None):
        async with httpx.AsyncClient() as http:
            drivers = load.Drivers(
                stack.client,
                stack.simulators["sms"].url,
                http,
                settings_module.dev_review_signing_key(stack.data_dir),
            )
            lanes = [
                await start_lane(stack, group, settings, database_urls, drivers, number)
                for number, group in enumerate(
                    planned(modes, paths, postgres, not args.one_worker_only, args.only)
                )
            ]
            for number in range(settings.rounds):
                for lane in lanes:
                    for mode in modes:
                        await run_round(stack, lane, mode, settings, number)
            # A closing round of each baseline: every real round then has a baseline
            # before and after it, and is compared with their mean (``ratios``).
            for path in BASELINES:
                closing = baseline_lane(lanes, path)
                if closing is not None and len(lanes) > 1:
                    for mode in modes:
                        await run_round(stack, closing, mode, settings, settings.rounds)
            note("reading histories for the figures")
            for lane in lanes:
                results += await phase_figures(stack, lane, settings)
    found = ratios(lanes)
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine_before": machine,
        "machine_after": machine_load(),
        "settings": asdict(settings),
        "phases": results,
        "ratios": {r.name: asdict(r) for r in found},
        "ratio_lines": [r.line for r in found],
        "note": closing_note(results, found, settings.rate),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["burst", "open", "both", "parked"], default="both")
    parser.add_argument(
        "--parked",
        type=int,
        default=parked.DEFAULT_PARKED,
        help="parked mode: withdrawals left under review at once",
    )
    parser.add_argument(
        "--cache",
        type=int,
        default=None,
        help="parked mode: the worker's workflow cache (default: a quarter of --parked)",
    )
    parser.add_argument(
        "--approval-bursts",
        type=int,
        default=3,
        help="parked mode: auto bursts run while the parked set is approved, at most",
    )
    parser.add_argument(
        "--paths",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=["baseline", "auto", "baseline-review", "review"],
        help="comma-separated, of baseline, auto, baseline-review, review",
    )
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="alternating rounds per path"
    )
    parser.add_argument(
        "--count", type=int, default=DEFAULT_COUNT, help="burst: withdrawals per round"
    )
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="open: offered per s")
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="open: seconds per round"
    )
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP_WITHDRAWALS, help="unmeasured, per phase"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy flame graphs per phase")
    parser.add_argument(
        "--only",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=[],
        help="comma-separated phase names to run (e.g. auto-pg-2w); default: all",
    )
    parser.add_argument(
        "--one-worker-only",
        action="store_true",
        help="PostgreSQL: skip the phase with two workers sharing one task queue",
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--data-dir", help="keep servers' state and logs here (default: temp)")
    args = parser.parse_args(argv)
    unknown = set(args.paths) - {"baseline", "auto", "baseline-review", "review"}
    if unknown:
        parser.error(f"--paths: unknown {sorted(unknown)}")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _parked(args) if args.mode == "parked" else _phases(args)
    except StuckWithdrawal as stuck:
        # Its message, worker log findings and the kept data directory are on stderr
        # already (bench.stack.stopped_at_end); this is the last line, for a reader of
        # the end of the output.
        logs = ", ".join(str(path) for path in stuck.worker_logs)
        note(f"ended: withdrawal {stuck.withdrawal_id} stuck, not {stuck.state}; worker log {logs}")
        return EXIT_STUCK


def _phases(args: argparse.Namespace) -> int:
    report = asyncio.run(bench(args))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report["phases"]))
    print()
    print(report["note"])
    print(f"\nJSON: {args.results}")
    failed = sum(r["failed"] for r in report["phases"])
    return EXIT_FAILED if failed else 0


def _parked(args: argparse.Namespace) -> int:
    report = asyncio.run(parked.bench(args))
    results = (
        args.results.with_name("parked.json") if args.results == DEFAULT_RESULTS else args.results
    )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=2) + "\n")
    print(parked.text(report))
    print(f"\nJSON: {results}")
    failed = (
        report["park"]["failed"] + report["approve_all"]["failed"] + report["succeeded"]["failed"]
    )
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
