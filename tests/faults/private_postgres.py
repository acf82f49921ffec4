"""A PostgreSQL server of the test's own, which the test may stop and start (issue 26).

The machine's own server (port 5432) is never touched: the cluster lives in a fresh
temporary directory, listens on 127.0.0.1 at a free port and keeps its socket in a
private directory (``unix_socket_directories``). ``initdb`` and ``pg_ctl`` refuse to run
as root, so under root they run as the ``postgres`` user (``runuser``) on a directory that
user owns. ``private_postgres()`` stops and removes the cluster however the test ends.

The binaries come from ``POSTGRES_BIN`` or the newest ``/usr/lib/postgresql/<ver>/bin``
(Debian's layout; CI has 15).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.ports import free_port

POSTGRES_BIN_ENV = "POSTGRES_BIN"
DEBIAN_POSTGRES_ROOT = Path("/usr/lib/postgresql")
SERVICE_USER = "postgres"  # who runs initdb and pg_ctl when this process is root
DATABASE = "withdrawals"
PG_CTL_WAIT_SECONDS = 60
COMMAND_TIMEOUT_SECONDS = PG_CTL_WAIT_SECONDS + 30
# A throwaway cluster: durability would only slow the test (a stop still checkpoints).
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",  # the API, the worker, the receiver and the test each pool
}


def postgres_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None when there is none."""
    configured = os.environ.get(POSTGRES_BIN_ENV)
    if configured:
        return Path(configured) if (Path(configured) / "initdb").is_file() else None
    if not DEBIAN_POSTGRES_ROOT.is_dir():
        return None
    found = [d / "bin" for d in DEBIAN_POSTGRES_ROOT.iterdir() if (d / "bin" / "initdb").is_file()]
    return max(found, key=lambda d: _version(d.parent.name), default=None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def missing_reason() -> str | None:
    """Why a private server cannot be started here (the test skips saying so), or None."""
    if postgres_bin() is None:
        return (
            f"no initdb under {DEBIAN_POSTGRES_ROOT}/<version>/bin and {POSTGRES_BIN_ENV} unset "
            "(apt-get install postgresql)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root, and there is no {SERVICE_USER!r} user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root without runuser (util-linux) to run initdb as postgres"
    return None


def refused_postgres_url() -> str:
    """A PostgreSQL URL where nobody listens: every connection is refused at once, as
    while the server is stopped."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nobody"


@dataclass
class PrivatePostgres:
    bin_dir: Path
    root: Path  # owned by the user the server runs as; removed at the end
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
            cwd=self.root,  # the server's user may not be able to enter our cwd
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{self.log_tail()}"
            )
        return done

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust")
        settings = {
            **SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        data, log, wait = str(self.data_dir), str(self.log_path), str(PG_CTL_WAIT_SECONDS)
        self._run("pg_ctl", "start", "-D", data, "-l", log, "-w", "-t", wait)

    def stop(self, mode: str = "fast") -> None:
        """``fast``: the way an operator stops it (sessions cut, a clean checkpoint);
        ``immediate``: as if it crashed."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w")

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "status", "-D", str(self.data_dir))
        except RuntimeError:
            return False
        return True

    def create_database(self) -> None:
        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private server with an empty ``withdrawals`` database; stopped and its
    directory removed when the block ends, whether it passed or not."""
    bin_dir = postgres_bin()
    assert bin_dir is not None, missing_reason()
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="withdrawals-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVICE_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PrivatePostgres(bin_dir=bin_dir, root=root, port=free_port())
    try:
        server.init()
        server.socket_dir.mkdir()
        if os.geteuid() == 0:
            os.chown(server.socket_dir, user.pw_uid, user.pw_gid)
        server.start()
        server.create_database()
        yield server
    finally:
        if server.data_dir.is_dir() and server.running():
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
