"""``python -m simulation --runs N --seed S``: the last line is
``N runs, 0 invariant violations (seed S)``; exit 1 on a violation, printing the
shortest failing sequence and the seed that replays it."""

from __future__ import annotations

import argparse
import sys
import time

from simulation.engine import shrink
from simulation.script import run_seed


def run_seed_of(seed: int, run: int) -> int:
    """Each run's own seed: the run number under the seed asked for."""
    return seed * 1_000_003 + run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulation")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    for run in range(args.runs):
        steps, violation = run_seed(run_seed_of(args.seed, run))
        if violation is not None:
            shortest, found = shrink(steps)
            print(f"run {run} (seed {args.seed}) broke: {'; '.join(found.names)}")
            print(f"shortest failing sequence ({len(shortest)} steps):")
            for number, step in enumerate(shortest, 1):
                print(f"  {number:3}. {step}")
            print(f"replay: make simulate RUNS={run + 1} SEED={args.seed}")
            print(f"{run + 1} runs, 1 invariant violations (seed {args.seed})")
            return 1
    seconds = time.perf_counter() - started
    rate = args.runs / seconds * 60 if seconds else float("inf")
    print(f"{rate:,.0f} runs per minute ({seconds:.1f} s)", file=sys.stderr)
    print(f"{args.runs} runs, 0 invariant violations (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
