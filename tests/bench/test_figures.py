"""The benchmark's arithmetic, without servers: percentiles, load shapes, the ratio."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench import load, profile
from bench.deadlines import Watch
from bench.measure import CpuUse, percentile
from bench.run import Group, Lane, Measured, Path_, bracketed, cpu_ms, per_round_ratio, ratios


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_latency_leaves_out_the_users_typing_time() -> None:
    sample = load.Sample(started=10.0, finished=12.5, user_seconds=2.0, status="succeeded")
    assert sample.raw_latency == 2.5
    assert sample.latency == 0.5


async def _instant(i: int, watch: Watch) -> load.Sample:
    now = time.monotonic()
    return load.Sample(now, now, 0.0, "succeeded")


async def test_burst_never_runs_more_than_its_concurrency_at_once() -> None:
    running = 0
    most = 0

    async def driver(i: int, watch: Watch) -> load.Sample:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1
        return await _instant(i, watch)

    result = await load.burst(driver, count=20, concurrency=4)
    assert len(result.samples) == 20 and most == 4 and result.failures == []


async def test_open_loop_offers_its_rate_and_counts_failures() -> None:
    async def failing_on_three(i: int, watch: Watch) -> load.Sample:
        if i == 3:
            raise RuntimeError("boom")
        return await _instant(i, watch)

    result = await load.open_loop(failing_on_three, rate=100.0, seconds=0.1)
    assert len(result.samples) == 9 and len(result.failures) == 1
    assert 0.05 <= result.seconds < 1.0  # ten starts spread over about 0.1 s


def test_each_round_is_compared_with_the_baseline_rounds_before_and_after_it() -> None:
    """The machine drifts between rounds: a real round between a fast and a slow baseline
    round is compared with their mean; the last one with the closing baseline round."""
    assert bracketed([5.0, 4.0, 6.0], [10.0, 6.0, 10.0, 12.0]) == [5.0 / 8.0, 0.5, 6.0 / 11.0]
    assert bracketed([5.0, 4.0], [10.0]) == [0.5]  # no baseline for the second round
    assert bracketed([5.0], [0.0]) == []


def test_a_ratio_is_the_median_of_its_rounds_with_their_spread() -> None:
    ratio = per_round_ratio("auto/baseline sqlite", [0.70, 0.55, 0.77, 0.61, 0.66])
    assert (ratio.median, ratio.low, ratio.high) == (0.66, 0.55, 0.77)
    assert ratio.line == "ratio auto/baseline sqlite 0.66 (min 0.55, max 0.77)"
    p99 = per_round_ratio("p99 auto/baseline sqlite open", [1.2, 1.0, 1.1])
    assert p99.line == "p99 auto/baseline sqlite open 1.10 (min 1.00, max 1.20)"


def _round(per_second: float, cpu_ms: float, done: int = 10) -> Measured:
    """A burst round of ``done`` withdrawals: worker and server split the CPU evenly."""
    samples = [load.Sample(0.0, 1.0, 0.0, "succeeded")] * done
    seconds = cpu_ms * done / 1000 / 2
    cpu = CpuUse(
        worker_seconds=seconds, server_seconds=seconds, harness_seconds=9.0, other_seconds=9.0
    )
    return Measured(load.LoadResult(samples, [], done / per_second), cpu, 1.0, 0, done)


def _lane(path: Path_, rounds: list[Measured]) -> Lane:
    async def driver(i: int, watch: Watch) -> load.Sample:
        raise AssertionError("not driven")

    lane = Lane(Group(path, "sqlite", ("burst",)), "t", [], driver, "sqlite://")
    lane.rounds["burst"] = rounds
    return lane


def test_cpu_ratio_is_the_baselines_cost_over_the_real_paths_from_the_same_rounds() -> None:
    """Issue 24, item 4: worker + server CPU per withdrawal, baseline / real, bracketed
    like throughput; the harness and everything else on the machine do not count. The
    review path is also measured against its own shape's baseline."""
    baseline = _lane("baseline", [_round(20, 100), _round(20, 100)])
    twin = _lane("baseline-review", [_round(10, 150), _round(10, 150)])
    auto = _lane("auto", [_round(10, 200)])
    review = _lane("review", [_round(8, 200)])
    found = {r.name: r for r in ratios([baseline, auto, twin, review])}
    assert cpu_ms(auto.rounds["burst"][0]) == 200.0
    assert found["auto/baseline sqlite"].median == 0.5
    assert found["cpu auto/baseline sqlite"].median == 0.5
    assert (
        found["cpu auto/baseline sqlite"].line
        == "cpu auto/baseline sqlite 0.50 (min 0.50, max 0.50)"
    )
    assert found["review/baseline-review sqlite"].median == 0.8
    assert found["cpu review/baseline-review sqlite"].median == 0.75
    assert found["review/baseline sqlite"].line.startswith("ratio review/baseline sqlite 0.40")


def test_worker_cpu_breakdown_gives_each_sample_to_its_first_part(tmp_path: Path) -> None:
    """Issue 24, item 4: SQLAlchemy under an activity is the ledger's; logging under the
    SDK is metrics and logging; the measured CPU the samples do not cover is its own line."""
    assert profile.part_of("run (worker.py:1);get (sqlalchemy/orm/session.py:9)") == "ledger"
    logged = "x (temporalio/activity.py:5);log (logging/__init__.py:1886)"
    assert profile.part_of(logged) == "metrics and logging"
    assert profile.part_of("f (/opt/venv/lib/site-packages/httpx/_client.py:3)") == (
        "provider HTTP"
    )
    stacks = tmp_path / "profile-auto-burst-round1.txt"
    stacks.write_text(
        "a (activities/opening.py:1);b (ledger/holds.py:2) 30\n"
        "a (temporalio/worker/_workflow.py:1) 10\n"
    )
    # 40 samples at 100 Hz over 10 withdrawals: 40 ms of Python per withdrawal of 50.
    rows = {part: ms for part, _, ms in profile.breakdown([stacks], 10, 50.0)}
    assert rows == {"ledger": 30.0, "SDK and sandbox": 10.0, profile.UNSAMPLED: 10.0}
