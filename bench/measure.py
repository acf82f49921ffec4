"""What a phase cost: CPU seconds per process, peak worker memory, the machine's other load.

CPU is read from the kernel's counters (psutil) before and after a phase, so a process's
figure is its own work during the load and nothing else. The worker's peak memory is the
kernel's high-water mark of its resident set (``VmHWM``), not a sample that could miss it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import psutil

BYTES_PER_MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class CpuSnapshot:
    worker_seconds: float
    server_seconds: float
    harness_seconds: float  # this driver and the simulators: the benchmark's own load
    machine_busy_seconds: float

    @classmethod
    def take(cls, worker_pids: list[int], server_pid: int, harness_pids: list[int]) -> CpuSnapshot:
        machine = psutil.cpu_times()
        idle = machine.idle + getattr(machine, "iowait", 0.0)
        return cls(
            worker_seconds=sum(process_cpu_seconds(pid) for pid in worker_pids),
            server_seconds=process_cpu_seconds(server_pid),
            # The driver's children are the worker and the server: counted apart.
            harness_seconds=sum(process_cpu_seconds(pid, children=False) for pid in harness_pids),
            machine_busy_seconds=sum(machine) - idle,
        )


@dataclass(frozen=True)
class CpuUse:
    worker_seconds: float
    server_seconds: float
    harness_seconds: float
    other_seconds: float  # PostgreSQL when used, and anything else running on the machine

    @classmethod
    def between(cls, before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
        worker = after.worker_seconds - before.worker_seconds
        server = after.server_seconds - before.server_seconds
        harness = after.harness_seconds - before.harness_seconds
        busy = after.machine_busy_seconds - before.machine_busy_seconds
        return cls(worker, server, harness, max(0.0, busy - worker - server - harness))


def process_cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User plus system CPU of ``pid`` and, by default, of its children."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system
    for child in process.children(recursive=True) if children else []:
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


def peak_rss_mebibytes(pid: int) -> float:
    """The kernel's high-water mark of ``pid``'s resident memory; current RSS elsewhere."""
    status = f"/proc/{pid}/status"
    if os.path.exists(status):
        with open(status) as lines:
            for line in lines:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / BYTES_PER_MEBIBYTE
    return float(psutil.Process(pid).memory_info().rss) / BYTES_PER_MEBIBYTE


def reset_peak_rss(pid: int) -> None:
    """Start ``VmHWM`` afresh (Linux: writing 5 to ``clear_refs``), so a phase's peak is
    its own; elsewhere, or without the right, the peak stays the process's."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def machine_load() -> dict[str, float]:
    """Load averages and CPU count, so a reader can judge how quiet the machine was."""
    one, five, fifteen = os.getloadavg()
    return {
        "cpus": float(psutil.cpu_count() or 1),
        "load_1m": one,
        "load_5m": five,
        "load_15m": fifteen,
    }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]
