"""What each fault run measured, printed as it ends and again in pytest's summary.

The summary section is written by ``pytest_terminal_summary`` (``conftest.py``), so the
figures show with or without ``-s``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

REPORTED: list[str] = []  # one line per run, for the terminal summary


@dataclass
class Figures:
    run: str
    seed: int
    withdrawals: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    worker_restarts: int = 0
    server_restarts: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    duplicates: int = -1  # keys the provider moved money for more than once
    mismatches: int = -1  # reconciliation findings
    retried_calls: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        statuses = " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        faults = " ".join(f"{k}={v}" for k, v in sorted(self.faults.items())) or "none"
        return (
            f"{self.run}: seed={self.seed} withdrawals={self.withdrawals} [{statuses}] "
            f"kills={self.kills} worker_restarts={self.worker_restarts} "
            f"server_restarts={self.server_restarts} faults[{faults}] "
            f"duplicates={self.duplicates} mismatches={self.mismatches} "
            f"retried_calls={self.retried_calls} seconds={self.seconds:.1f}"
        )

    def report(self) -> str:
        line = self.line()
        REPORTED.append(line)
        print(f"\n[fault run] {line}", flush=True)
        return line
