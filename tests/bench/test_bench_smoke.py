"""The benchmark at toy sizes, so it cannot rot: every phase completes and is reported.

Figures are not asserted (they depend on the machine); that the report is whole is.
Both scripts run as child processes, as ``make bench`` runs them (tests/bench/harness.py:
each in a process group of its own, killed whole on a timeout, both streams' tails shown
on a failure).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.bench.harness import run_bench

SPREAD = r"\d+\.\d\d \(min \d+\.\d\d, max \d+\.\d\d\)"
RATIO_LINES = [  # the forms scripts read (issues 17 and 24)
    rf"ratio auto/baseline sqlite {SPREAD}",
    rf"ratio review/baseline sqlite {SPREAD}",
    rf"ratio review/baseline-review sqlite {SPREAD}",
    rf"cpu auto/baseline sqlite {SPREAD}",
    rf"cpu review/baseline-review sqlite {SPREAD}",
]
PATHS = ("baseline", "auto", "baseline-review", "review")
BASELINES = ("baseline", "baseline-review")


ROUNDS = 2


def test_bench_runs_every_phase_and_writes_the_report(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    done = run_bench(
        "bench.run",
        *("--mode", "both", "--paths", ",".join(PATHS), "--rounds", str(ROUNDS)),
        *("--count", "1", "--concurrency", "1", "--rate", "2", "--seconds", "0.5"),
        *("--warm-up", "1", "--results", str(results)),
    )
    assert done.ok, done.tails()
    report = json.loads(results.read_text())
    phases = {(p["phase"], p["mode"]): p for p in report["phases"]}
    assert set(phases) == {(path, mode) for path in PATHS for mode in ("burst", "open")}
    for (path, _), phase in phases.items():
        # Each baseline also runs a closing round, after every real path's last one.
        rounds = ROUNDS + 1 if path in BASELINES else ROUNDS
        assert phase["completed"] == rounds and phase["failed"] == 0, phase
        assert len(phase["rounds_per_second"]) == rounds
        assert set(phase["statuses"]) == {"succeeded"}
        assert phase["history_events"] > 0 and phase["peak_worker_mib"] > 0
    # Same shape, or the ratio compares different things. Workflow tasks and the
    # code-expiry timer are not compared: a code read before send_code's completion reaches
    # the server folds the update into that task, on either path, by chance, and then the
    # wait for the code is over before any timer is started.
    # The review path against its own shape (issue 24): the approve signal as well.
    # Markers: patches and local activities (a new patch on either path must be mirrored).
    shared = ("activity_task_scheduled", "upsert_workflow_search_attributes", "marker_recorded")
    for base, real, events in (
        ("baseline", "auto", (*shared, "workflow_execution_update_accepted")),
        ("baseline-review", "review", (*shared, "workflow_execution_signaled")),
    ):
        shape, real_shape = (phases[p, "burst"]["history_shape"] for p in (base, real))
        for event in events:
            assert shape[event] == real_shape[event], (base, event)
    # The paths alternate, and each ratio is the median of per-round ratios (issue 17).
    # Beside each throughput ratio, the CPU ratio of the same rounds (issue 24).
    assert set(report["ratios"]) == {
        f"{kind}{name}"
        for name in (
            "auto/baseline sqlite",
            "review/baseline sqlite",
            "review/baseline-review sqlite",
        )
        for kind in ("", "cpu ")
    } | {
        "p99 auto/baseline sqlite open",
        "p99 review/baseline sqlite open",
        "p99 review/baseline-review sqlite open",
    }
    assert len(report["ratios"]["auto/baseline sqlite"]["rounds"]) == ROUNDS
    lines = done.stdout.splitlines()
    for form in RATIO_LINES:
        assert any(re.fullmatch(form, line) for line in lines), (form, done.stdout)
    order = [line for line in done.stderr.splitlines() if line.startswith("... round")]
    # Round 1: each path, burst then open; then round 2 the same; then each baseline closes.
    assert [line.split(":")[1].split()[0] for line in order[:8]] == [
        path for path in PATHS for _ in ("burst", "open")
    ]
    assert order[8].startswith("... round 2: baseline")
    assert [line.split(":")[1].split()[0] for line in order[-4:]] == [
        path for path in BASELINES for _ in ("burst", "open")
    ]


def test_two_workers_on_postgresql_share_the_queue_and_do_nothing_twice(
    tmp_path: Path, postgres_url: str
) -> None:
    """Issue 17, item 6: the split is reported, and every withdrawal was paid and debited
    exactly once however the two workers divided the tasks."""
    results = tmp_path / "latest.json"
    done = run_bench(
        "bench.run",
        *("--mode", "burst", "--paths", "auto", "--rounds", "1", "--only", "auto-pg-2w"),
        *("--count", "6", "--concurrency", "3", "--warm-up", "1", "--results", str(results)),
        database_url=postgres_url,
    )
    assert done.ok, done.tails()
    report = json.loads(results.read_text())
    (two,) = [p for p in report["phases"] if p["phase"] == "auto-pg-2w"]
    assert two["completed"] == 6 and two["workers"] == 2
    assert two["done_twice"] == {
        "withdrawals": 6,
        "paid_other_than_once": [],
        "debited_other_than_once": [],
    }
    assert sum(two["split"]["settled_by"].values()) == 6
    assert set(two["split"]["activity_tasks"]) <= {"worker-1", "worker-2"}
    assert "each paid and debited exactly once" in done.stdout


def test_parked_review_mode_parks_approves_and_measures(tmp_path: Path) -> None:
    """Issue 17, item 5, at toy size: a set parked under review with a worker cache smaller
    than the set, approved while auto withdrawals run; memory and rates reported."""
    results = tmp_path / "parked.json"
    done = run_bench(
        "bench.run",
        *("--mode", "parked", "--parked", "4", "--cache", "2", "--approval-bursts", "1"),
        *("--count", "2", "--concurrency", "4", "--warm-up", "1", "--results", str(results)),
    )
    assert done.ok, done.tails()
    report = json.loads(results.read_text())
    assert report["worker_cache"] < report["parked"] == 4
    assert report["park"]["done"] == 4 and report["approve_all"]["done"] == 4
    assert report["succeeded"]["done"] == 4
    assert report["auto_with_parked"]["done"] == 2
    assert report["auto_while_approving"][0]["done"] == 2
    assert report["memory_parked_mib"]["worker"] > 0 and report["memory_parked_mib"]["server"] > 0
    assert "approve all: 4 approved" in done.stdout


def test_withdrawable_benchmark_reports_each_size(tmp_path: Path) -> None:
    results = tmp_path / "withdrawable.json"
    done = run_bench(
        "bench.withdrawable", "--sizes", "100,1000", "--calls", "5", "--results", str(results)
    )
    assert done.ok, done.tails()
    report = json.loads(results.read_text())
    assert [row["ledger_entries"] for row in report["sizes"]] == [100, 1000]
    assert all("USING INDEX" in plan for plan in report["query_plans"])
