"""The security tests reuse the workflow tests' stack: a real Temporal server (time
skipping), a real SQLite ledger, in-process fake providers, the encryption codec on."""

from __future__ import annotations

from tests.workflows.conftest import (
    dev_env,
    edge_env,
    fake_stack,
    fakes,
    sim_stack,
    simulators,
    time_skipping_env,
)

__all__ = [
    "dev_env",
    "edge_env",
    "fake_stack",
    "fakes",
    "sim_stack",
    "simulators",
    "time_skipping_env",
]
