"""Where the worker's time goes: py-spy's collapsed stacks, summed by frame.

``bench.run --profile`` records each measured phase's worker with py-spy (``--nonblocking``:
it never pauses the worker) into ``bench/results/profile-<phase>-<mode>.txt``, one line per
distinct stack with its sample count, a format flame-graph tools and speedscope read.
``python -m bench.profile FILE`` prints the frames holding the most samples.

``python -m bench.profile --breakdown --phase auto --mode burst`` splits the phase's
worker CPU per withdrawal into its parts (issue 24): every sample goes to the first part,
in ``PARTS`` order, with a frame anywhere in its stack (so SQLAlchemy under the ledger
is the ledger's, and pydantic under the ledger too); the sampled Python time is scaled to
the worker CPU the run measured (``bench/results/latest.json``), and what the samples do
not see (py-spy's ``--gil`` samples Python code only: the SDK's Rust core runs in threads
without the GIL) is its own line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PROFILE_RATE_HZ = 100
TOP_FRAMES = 25


def start(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", str(PROFILE_RATE_HZ)]
    # --gil: only the thread holding the GIL is sampled, so idle pool threads and the
    # event loop's select() do not drown the Python work being looked for.
    command += ["--format", "raw", "--output", str(output), "--nonblocking", "--gil"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def inclusive(lines: list[str]) -> tuple[Counter[str], int]:
    """Samples per frame (a frame counted once per stack it appears in), and the total."""
    frames: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for frame in set(stack.split(";")):
            frames[frame] += count
    return frames, total


def summary(path: Path, top: int = TOP_FRAMES) -> str:
    frames, total = inclusive(path.read_text().splitlines())
    lines = [f"{path.name}: {total} samples"]
    for frame, count in frames.most_common(top):
        lines.append(f"{count / max(total, 1):6.1%}  {frame}")
    return "\n".join(lines)


# Which part a sample belongs to: the first part with a frame in the sample's stack. A
# py-spy frame reads ``function (path/to/file.py:line)``, the path relative to the
# project or to site-packages (absolute elsewhere): a marker is a path's start.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("ledger", ("ledger/", "sqlalchemy/", "sqlmodel/", "psycopg", "sqlite3/")),
    ("provider HTTP", ("gateways/", "httpx/", "httpcore/", "h11/", "anyio/")),
    ("payload codec", ("codec/", "cryptography/")),
    ("pydantic conversions", ("pydantic/", "pydantic_core/", "temporalio/contrib/pydantic")),
    ("metrics and logging", ("observability/", "prometheus_client/", "logging/")),
    ("SDK and sandbox", ("temporalio/",)),
]
OTHER = "other Python (event loop, activities' own code, garbage collection)"
UNSAMPLED = "not sampled: SDK core (Rust) and native threads without the GIL"
RESULTS = Path(__file__).parent / "results"


def part_of(stack: str) -> str:
    paths = [frame.rpartition(" (")[2] for frame in stack.split(";")]
    for part, markers in PARTS:
        if any(path.startswith(markers) or f"/{m}" in path for path in paths for m in markers):
            return part
    return OTHER


def parts(lines: list[str]) -> Counter[str]:
    """Samples per part."""
    found: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            found[part_of(stack)] += int(count_text)
    return found


def breakdown(
    files: list[Path], withdrawals: int, worker_cpu_ms: float, rate_hz: int = PROFILE_RATE_HZ
) -> list[tuple[str, float, float]]:
    """(part, share of the worker's CPU, ms per withdrawal), largest first; the sampled
    Python time is at most the measured worker CPU, the rest is ``UNSAMPLED``."""
    samples: Counter[str] = Counter()
    for path in files:
        samples += parts(path.read_text().splitlines())
    total = sum(samples.values())
    python_ms = min(total * 1000 / rate_hz / max(withdrawals, 1), worker_cpu_ms)
    rows = [(part, count / total * python_ms) for part, count in samples.most_common() if total]
    rows.append((UNSAMPLED, worker_cpu_ms - python_ms))
    return [(part, ms / worker_cpu_ms if worker_cpu_ms else 0.0, ms) for part, ms in rows]


def breakdown_table(rows: list[tuple[str, float, float]], worker_cpu_ms: float) -> str:
    lines = [f"{'part':<66} {'share':>6} {'ms/wd':>7}", "-" * 81]
    lines += [f"{part:<66} {share:>6.1%} {ms:>7.1f}" for part, share, ms in rows]
    lines.append(f"{'worker CPU per withdrawal (measured)':<66} {'':>6} {worker_cpu_ms:>7.1f}")
    return "\n".join(lines)


def phase_figures(results: dict[str, Any], phase: str, mode: str) -> tuple[int, float]:
    """The phase's completed withdrawals and its worker CPU ms per withdrawal."""
    for figures in results["phases"]:
        if figures["phase"] == phase and figures["mode"] == mode:
            return figures["completed"], figures["cpu_ms_per_withdrawal"]["worker"]
    raise SystemExit(f"no {phase} {mode} phase in the results")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("files", nargs="*", type=Path, help="collapsed stacks: top frames")
    parser.add_argument("--breakdown", action="store_true", help="worker CPU by part")
    parser.add_argument("--phase", default="auto")
    parser.add_argument("--mode", default="burst")
    parser.add_argument("--results", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if not args.breakdown:
        for name in args.files:
            print(summary(name))
        return 0
    files = args.files or sorted(RESULTS.glob(f"profile-{args.phase}-{args.mode}-round*.txt"))
    if not files:
        raise SystemExit(f"no profiles of {args.phase} {args.mode}: run bench.run --profile")
    withdrawals, worker_ms = phase_figures(
        json.loads(args.results.read_text()), args.phase, args.mode
    )
    print(f"{args.phase} {args.mode}: {withdrawals} withdrawals, {len(files)} profiles")
    print(breakdown_table(breakdown(files, withdrawals, worker_ms), worker_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
