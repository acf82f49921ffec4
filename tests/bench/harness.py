"""A bench script run as ``make bench`` runs it: a child process that cannot outlive its test.

The bench starts a dev server, simulators and workers, all in its own process group
(bench/stack.py). It is started here in a session of its own, so when it overruns its
timeout the whole group is killed at once, and after any run whatever is left of the
group is killed too (and named, when the bench had exited: its stop should have ended
everything). Both streams are read as they come; the bench writes a progress line to
stderr at every step, so a failed or hung run shows where it stopped: the tails of both
go into the failure message. The benchmark sets its keys in its own environment, which
must not leak into this test session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import psutil
import pytest

from stack import REPO_ROOT

SMOKE_TIMEOUT_SECONDS = 120
# A test that stopped the bench on purpose (``stopped`` set) needs no full timeout to see
# the harness give up on it: the run's timeout ends this long after.
STOPPED_TIMEOUT_SECONDS = 3.0
WAIT_SLICE_SECONDS = 0.2
TAIL_CHARACTERS = 5000
READER_JOIN_SECONDS = 10.0

# Called with each stderr line as it arrives, and the bench's pid (its process group).
Progress = Callable[[str, int], None]


@dataclass
class BenchRun:
    module: str
    pid: int  # also its process group's id
    returncode: int
    stdout: str
    stderr: str
    # Processes of its group still alive after it exited on its own (then killed).
    left_running: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.left_running

    def tails(self) -> str:
        left = f"; left running: {self.left_running}" if self.left_running else ""
        return (
            f"{self.module} (pid {self.pid}) exited {self.returncode}{left}\n"
            f"--- stdout, last {TAIL_CHARACTERS} characters ---\n"
            f"{self.stdout[-TAIL_CHARACTERS:]}\n"
            f"--- stderr, last {TAIL_CHARACTERS} characters ---\n"
            f"{self.stderr[-TAIL_CHARACTERS:]}"
        )


def run_bench(
    module: str,
    *args: str,
    database_url: str | None = None,
    timeout: float = SMOKE_TIMEOUT_SECONDS,
    on_progress: Progress | None = None,
    settings: dict[str, str] | None = None,
    stopped: threading.Event | None = None,
) -> BenchRun:
    """``python -m module args``; fails the test (both streams' tails shown) if it is
    still running after ``timeout`` seconds, once its whole process group is killed.
    ``settings`` are added to its environment; once ``stopped`` is set (by a test that
    stopped the bench on purpose) the timeout ends ``STOPPED_TIMEOUT_SECONDS`` later."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(settings or {})
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    out: list[str] = []
    err: list[str] = []
    callback_errors: list[BaseException] = []
    readers = [
        threading.Thread(target=_read, args=(process.stdout, out, None, process.pid, [])),
        threading.Thread(
            target=_read, args=(process.stderr, err, on_progress, process.pid, callback_errors)
        ),
    ]
    for reader in readers:
        reader.start()
    hung = False
    left: list[str] = []
    started = time.monotonic()
    waited = timeout
    try:
        hung = not _ended(process, timeout, stopped)
        waited = time.monotonic() - started
    finally:
        if not hung and process.returncode is not None:
            left = [_describe(p) for p in group_members(process.pid)]
        kill_group(process.pid)  # whatever happened above: nothing outlives the test
        process.wait()
        for reader in readers:
            reader.join(READER_JOIN_SECONDS)
    run = BenchRun(module, process.pid, process.returncode, "".join(out), "".join(err), left)
    if callback_errors:
        raise callback_errors[0]
    if hung:
        pytest.fail(
            f"{module} hung after {waited:.0f} s; killed its process group {process.pid}\n"
            f"{run.tails()}",
            pytrace=False,
        )
    return run


def _ended(process: subprocess.Popen[str], timeout: float, stopped: threading.Event | None) -> bool:
    """Whether ``process`` ended within ``timeout`` (shortened once ``stopped`` is set)."""
    deadline = time.monotonic() + timeout
    moved = False
    while (left := deadline - time.monotonic()) > 0:
        try:
            process.wait(min(left, WAIT_SLICE_SECONDS))
            return True
        except subprocess.TimeoutExpired:
            if not moved and stopped is not None and stopped.is_set():
                deadline = min(deadline, time.monotonic() + STOPPED_TIMEOUT_SECONDS)
                moved = True
    return process.poll() is not None


def _read(
    stream: IO[str],
    into: list[str],
    on_line: Progress | None,
    pid: int,
    errors: list[BaseException],
) -> None:
    # Read to the end whatever a callback does: a reader that stopped would leave the
    # bench blocked on a full pipe, a hang of the harness's own making.
    for line in stream:
        into.append(line)
        if on_line is not None and not errors:
            try:
                on_line(line.rstrip("\n"), pid)
            except BaseException as error:
                errors.append(error)


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of process group ``pgid``."""
    found: list[psutil.Process] = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and is_alive(process):
                found.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def is_alive(process: psutil.Process) -> bool:
    """Running, stopped or sleeping; a zombie is dead (its parent has yet to reap it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # nothing left in it
        os.killpg(pgid, signal.SIGKILL)


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline())[:200]}"
    except psutil.Error:
        return str(process.pid)
