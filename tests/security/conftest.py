"""The security tests reuse the workflow tests' stack: a real Temporal server (time
skipping), a real SQLite ledger, in-process fake providers, the encryption codec on."""

from __future__ import annotations

from tests.workflow.conftest import fake_stack, fakes, time_skipping_env

__all__ = ["fake_stack", "fakes", "time_skipping_env"]
