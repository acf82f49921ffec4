"""A bench that cannot hang its test: a stuck withdrawal ends the run by its deadline,
named; a bench killed on a timeout takes its whole stack with it.

The parked mode once hung the smoke tests (about one full-suite run in four): its waits
were bounded only by a 600 s deadline, far past the harness's 120 s, and the harness's
kill left the bench's dev server, simulators and worker running.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from bench import load
from bench.deadlines import wait_seconds
from bench.run import EXIT_STUCK
from tests.bench.harness import is_alive, run_bench

PARKED = 4
COUNT = 2
CONCURRENCY = 4
TOY_PARKED_RUN = (
    *("--mode", "parked", "--parked", str(PARKED), "--cache", "2", "--approval-bursts", "1"),
    *("--count", str(COUNT), "--concurrency", str(CONCURRENCY), "--warm-up", "1"),
)
STUCK_LINE = re.compile(
    r"\.\.\. stuck: withdrawal (?P<id>\S+) stuck: not (?P<state>.+) within its deadline of "
    r"(?P<seconds>\d+) s; Temporal: (?P<seen>.+); worker log: (?P<log>\S+)"
)
DESCRIBE_SECONDS = 5.0  # bench.deadlines.DESCRIBE_TIMEOUT_SECONDS, the most it adds
# The deadline's base for the stuck run (30 s in the bench): long enough for a loaded
# machine's first withdrawals, short enough not to wait half a minute for the stuck one.
WAIT_BASE_SECONDS = 12
# The harness's timeout for a bench stopped once its stack is up: long enough for the
# dev server, simulators and worker to start on a loaded machine. The test says when it
# stopped the bench, so the harness gives up a few seconds after that.
HUNG_TIMEOUT_SECONDS = 60
GONE_WITHIN_SECONDS = 10.0


def _worker(bench_pid: int) -> psutil.Process:
    (worker,) = [
        p
        for p in psutil.Process(bench_pid).children(recursive=True)
        if "worker.py" in " ".join(p.cmdline())
    ]
    return worker


def test_a_stuck_withdrawal_ends_the_bench_naming_it_by_its_deadline(tmp_path: Path) -> None:
    """The worker stopped (SIGSTOP) once the set is parked: the next auto withdrawal never
    gets its code SMS; the run ends with exit 3 when that withdrawal's deadline passes,
    naming it, the state it waited for, Temporal's view and the worker log."""
    seen: dict[str, float] = {}
    workers: list[psutil.Process] = []

    def on_progress(line: str, bench_pid: int) -> None:
        if line.startswith("... park: ") and " done, " in line and not workers:
            workers.append(_worker(bench_pid))
            workers[0].suspend()
            seen["stopped"] = time.monotonic()
        elif line.startswith("... stuck: ") and workers:
            seen["stuck"] = time.monotonic()
            workers[0].resume()  # so that the stack's stop is not a stopped worker's wait

    done = run_bench(
        "bench.run",
        *TOY_PARKED_RUN,
        *("--data-dir", str(tmp_path / "data"), "--results", str(tmp_path / "parked.json")),
        on_progress=on_progress,
        settings={"BENCH_WAIT_BASE_SECONDS": str(WAIT_BASE_SECONDS)},
    )
    assert done.returncode == EXIT_STUCK and not done.left_running, done.tails()
    assert "stopped" in seen and "stuck" in seen, done.tails()
    (stuck,) = [m for line in done.stderr.splitlines() if (m := STUCK_LINE.fullmatch(line))]
    # The burst after parking: its withdrawals wait for the SMS a stopped worker never sends.
    deadline = wait_seconds(min(COUNT, CONCURRENCY), base=WAIT_BASE_SECONDS)
    # (Its code SMS, unless the worker sent it in the moment before it was stopped.)
    assert stuck["state"] in (load.CODE_SMS, load.CODE_ACCEPTED, load.FINAL), stuck["state"]
    assert float(stuck["seconds"]) == round(deadline)
    assert "run running" in stuck["seen"] and "WithdrawalStatus" in stuck["seen"]
    assert stuck["log"].endswith(".log") and Path(stuck["log"]).is_file()  # kept for reading
    assert f"{stuck['log']}: 0 lines with 'Nondeterminism'" in done.stderr
    assert f"ended: withdrawal {stuck['id']} stuck, not {stuck['state']}" in done.stderr
    # It started after the worker was stopped: ended by its deadline, not sooner, not later.
    waited = seen["stuck"] - seen["stopped"]
    assert deadline - 1 <= waited <= deadline + DESCRIBE_SECONDS + 5, waited


def test_a_bench_killed_on_its_timeout_leaves_no_process_behind(tmp_path: Path) -> None:
    """The bench stopped (SIGSTOP) once its stack is up, a hang no deadline of its own can
    end: the harness kills its process group at the timeout, and with it the dev server,
    the simulators and the worker."""
    stack: dict[psutil.Process, str] = {}
    stopped = threading.Event()

    def on_progress(line: str, bench_pid: int) -> None:
        if " polling " in line and not stack:
            for child in psutil.Process(bench_pid).children(recursive=True):
                stack[child] = " ".join(child.cmdline())
            os.kill(bench_pid, signal.SIGSTOP)
            stopped.set()

    with pytest.raises(pytest.fail.Exception, match="hung after") as hung:
        run_bench(
            "bench.run",
            *TOY_PARKED_RUN,
            *("--data-dir", str(tmp_path / "data"), "--results", str(tmp_path / "parked.json")),
            timeout=HUNG_TIMEOUT_SECONDS,
            on_progress=on_progress,
            stopped=stopped,
        )
    # The hung run's progress so far is in the failure message.
    assert "dev server and simulators up" in str(hung.value)
    commands = list(stack.values())
    assert len(stack) >= 4, commands  # the dev server, two simulators, the worker
    assert any("worker.py" in c for c in commands) and any("simulators" in c for c in commands)
    waited_until = time.monotonic() + GONE_WITHIN_SECONDS
    while (alive := [p for p in stack if is_alive(p)]) and time.monotonic() < waited_until:
        time.sleep(0.1)
    for survivor in alive:  # this test's own leftovers: not left to the next test
        survivor.kill()
    assert alive == [], [stack[p] for p in alive]
