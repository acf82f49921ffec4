"""Fault injection shared by the simulators: settings, a seeded dice, and counters.

Every decision comes from one ``random.Random(seed)``, drawn in a fixed order per
request, so the same seed and the same sequence of requests inject the same faults.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

# A fault that waits longer than this is a typo, not a test: bound it.
MAX_LATENCY_MS = 60_000


class SmsFaults(BaseModel):
    """Faults the SMS simulator can inject (``POST /admin/faults``)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, le=MAX_LATENCY_MS)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # 503 before doing anything
    seed: int = 0


class PayoutFaults(SmsFaults):
    """Faults the payout simulator can inject on top of latency and 5xx errors."""

    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # close without answering, no commit
    commit_then_drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # commit, then drop
    # How a commit-then-drop shows: False closes the connection, True answers 503.
    commit_then_drop_as_503: bool = False
    fail_after_accept_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    callback_lose_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    callback_duplicate_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Deliver the final callback late and then a stale 'processing' one after it.
    callback_out_of_order: bool = False


class FaultDice:
    """Seeded decisions plus counters of every fault injected (``GET /admin/stats``)."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.counters: Counter[str] = Counter()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random = random.Random(seed)

    def roll(self, name: str, rate: float) -> bool:
        """True with probability ``rate``; always draws, so decisions stay in step."""
        with self._lock:
            hit = self._random.random() < rate
            if hit:
                self.counters[name] += 1
            return hit

    def count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counters)

    def reset_counters(self) -> None:
        with self._lock:
            self.counters.clear()


async def inject_latency(faults: SmsFaults, dice: FaultDice) -> None:
    if faults.latency_ms > 0:
        dice.count("latency")
        await asyncio.sleep(faults.latency_ms / 1000)
