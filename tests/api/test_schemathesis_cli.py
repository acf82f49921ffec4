"""The ``schemathesis run`` CLI against the API of a real stack (issue 26, item 5): every
phase, the stateful one included, bounded to about a minute; it must find no failure and
print no warning (warnings such as "most generated requests were refused" or "operations
repeatedly returned 404" appear only in the CLI's output, never as a failure).

The stack shortens the resend throttle (R15) so that a resend right after a create, as the
create answer's links lead the stateful phase, can be accepted. ``schemathesis.toml`` beside
this file says which answers a schema-valid request may get (a rule's 422) and why the code
and resend operations are left to the stateful phase.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from ledger.db import get_engine
from stack import Stack
from tests.launched import launched_stack

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The whole run, fuzzing and stateful phases repeating until it is spent: 30 s in `make
# test` (its examples and coverage phases end in a few); `make soak` gives it 300.
MAX_SECONDS = int(os.environ.get("SCHEMATHESIS_MAX_SECONDS", "30"))
SUBPROCESS_TIMEOUT_SECONDS = 4 * MAX_SECONDS
SEED = 26  # one reproducible run; its output names the seed for `st replay`
PHASES = "examples,coverage,fuzzing,stateful"
# Words the CLI prints only when it has something to say about the schema or the run.
WARNING_WORDS = ("warning", "⚠")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    settings = {
        "CODE_RESEND_COOLDOWN_SECONDS": "0",  # the worker's R15 throttle, for tests
        # Generated bodies reuse ids, and each 409 costs the key a second of its rate
        # (issue 22): the limit is tested in tests/api/test_guard.py, not here.
        "API_RATE_PER_SECOND": "100000",
        "API_RATE_BURST": "1000000",
    }
    async with launched_stack(tmp_path_factory, "schemathesis-stack", settings) as stack:
        yield stack


def schemathesis_run(stack: Stack, work_dir: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a person would run it; from ``work_dir``, where it keeps its cache and
    reports, so nothing lands in the tree."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{stack.urls.http}/openapi.json",
        "--header",
        f"Authorization: Bearer {stack.api_key}",
        "--phases",
        PHASES,
        "--max-time",
        str(MAX_SECONDS),
        "--seed",
        str(SEED),
        "--workers",
        "1",  # two cores shared with the stack itself
        "--no-color",
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
        cwd=work_dir,
    )


def actions_counted(stack: Stack) -> dict[str, int]:
    """What the API did for its key, from the audit trail (one row per accepted call)."""
    with get_engine(stack.urls.database_url).connect() as connection:
        rows = connection.execute(
            text("SELECT action, COUNT(*) FROM audit_log WHERE actor = 'api:dev' GROUP BY action")
        ).all()
    return {str(action): int(count) for action, count in rows}


def test_schemathesis_cli_finds_no_failure_and_no_warning(
    fuzzed_stack: Stack, tmp_path: Path
) -> None:
    started = time.monotonic()
    run = schemathesis_run(fuzzed_stack, tmp_path)
    output = run.stdout + run.stderr
    elapsed = time.monotonic() - started
    assert run.returncode == 0, output
    assert "No issues found" in output, output
    assert not any(word in output.lower() for word in WARNING_WORDS), output
    assert elapsed < SUBPROCESS_TIMEOUT_SECONDS
    # The stateful phase followed the create answer's links to the code and resend
    # operations and was answered (the audit trail records only accepted calls).
    done = actions_counted(fuzzed_stack)
    assert done.get("withdrawal.create", 0) > 0, done
    assert done.get("code.submit", 0) > 0, done
    assert done.get("code.resend", 0) > 0, done
