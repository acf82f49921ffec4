"""One real stack for every CLI test, and ``starter.py`` run as a backend runs it.

The stack (Temporal dev server, simulators, callback receiver, worker, demo accounts) is
started once through ``stack`` on free ports with a temporary data directory;
each command is a real ``starter.py`` process with the environment the launcher's banner
exports. Tests share the demo accounts, so each one reads balances before it acts and
leaves no withdrawal of its own half-way through a step another test could see.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from stack import Stack
from tests.launched import launched_stack, wait_for_status

ROOT = Path(__file__).parents[2]
CLI_TIMEOUT_SECONDS = 90
PARALLEL_CALLS = 3  # refusals only read: run a few at once, the machine has 2 cores
# A proof must be a PDF, JPEG or PNG, told apart by its first bytes (application.proofs).
PROOF_BYTES = b"%PDF-1.4\n% proof of payment for the CLI tests\n%%EOF\n"


@dataclass(frozen=True)
class Cli:
    env: dict[str, str]

    def as_reviewer(self, password: str) -> Cli:
        """The same CLI with ``REVIEWER_PASSWORD`` set: approve/reject sign in with it."""
        return Cli(env={**self.env, "REVIEWER_PASSWORD": password})

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "starter.py"), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=ROOT,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    def many(self, calls: Iterable[tuple[str, ...]]) -> list[subprocess.CompletedProcess[str]]:
        with ThreadPoolExecutor(PARALLEL_CALLS) as pool:
            return list(pool.map(lambda args: self(*args), calls))

    def json(self, *args: str) -> Any:
        """Run with ``--json``; it must succeed and print exactly one JSON document."""
        result = self(*args, "--json")
        assert result.returncode == 0, f"{args}: exit {result.returncode}: {result.stderr}"
        return json.loads(result.stdout)

    def refused(self, *args: str, status: int = 3) -> str:
        """Run with ``--json``; it must fail with ``status`` and one line on stderr only."""
        return one_line_failure(self(*args, "--json"), status)

    def held(self, account: str) -> tuple[str, dict[str, str], str]:
        """What the account has frozen, each recharge order's remainder, and what is
        withdrawable: the three figures a withdrawal moves."""
        document = self.json("withdrawable", account)
        remaining = {o["order_id"]: o["remaining"] for o in document["orders"]}
        return document["held"], remaining, document["withdrawable"]

    def latest_code(self, account: str) -> str:
        inbox = self.json("sms-inbox", "--account", account)
        assert inbox and inbox[0]["code"], inbox
        return str(inbox[0]["code"])

    def wait_for_status(self, withdrawal_id: str, *statuses: str) -> dict[str, Any]:
        return wait_for_status(lambda: self.json("status", withdrawal_id), *statuses)


def one_line_failure(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, (result.args, result.returncode, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cli_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with launched_stack(tmp_path_factory, "cli-stack") as stack:
        yield stack


@pytest.fixture(scope="session")
def cli(cli_stack: Stack) -> Cli:
    env = cli_stack.child_env()
    env.pop("PYTHONUNBUFFERED", None)
    return Cli(env={**env, "COLUMNS": "200"})


@pytest.fixture(scope="session")
def proof_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("proofs") / "payment-proof.pdf"
    path.write_bytes(PROOF_BYTES)
    return str(path)


# The demo fixture's reviewers (make run prints them in its banner).
DEMO_PASSWORDS = {"rev-1": "demo-li-2026", "rev-2": "demo-wang-2026", "rev-lead": "demo-chen-2026"}
