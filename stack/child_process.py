"""A child process of the launcher: its output in a log file, stopped politely, then firmly.

Each child runs in its own session, so a Ctrl-C typed in the launcher's terminal reaches
the launcher only; the launcher then stops the children in dependency order (worker
before Temporal) instead of every process racing to exit at once. ``own_session=False``
keeps a child in its parent's process group instead (the bench: a harness that kills the
bench's group on a timeout must take its servers and workers with it).
"""

from __future__ import annotations

import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_LINES = 15
LOG_TAIL_MAX_BYTES = 64 * 1024


@dataclass
class ChildProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path
    stop_timeout_seconds: float
    own_session: bool = True
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0  # time.monotonic() of the last spawn

    def spawn(self) -> int:
        """Start (or start again); returns the pid. Output is appended to ``log_path``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.own_session,
            )
        self.started_at = time.monotonic()
        return self._process.pid

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def exit_code(self) -> int | None:
        """None while it runs (or was never started); its exit status once it ended."""
        return None if self._process is None else self._process.poll()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at

    def stop(self) -> int | None:
        """SIGTERM, wait up to ``stop_timeout_seconds``, then SIGKILL. Returns the exit code."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(self.stop_timeout_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The end of the log, to show why a child failed without opening the file."""
        try:
            with self.log_path.open("rb") as log:
                size = log.seek(0, 2)
                log.seek(max(0, size - LOG_TAIL_MAX_BYTES))
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(deque(text.splitlines(), maxlen=lines))
