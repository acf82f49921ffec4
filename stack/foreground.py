"""``make run`` (``python -m stack``): flags and environment to a config, then the stack in
the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from config import settings
from observability.log_filter import install_personal_data_filter
from stack import dev_server
from stack.config import DEFAULT_FIXTURE, Ports, StackConfig
from stack.running import Stack
from standins.simulators.payout_app import DEFAULT_MAX_SETTLE_SECONDS


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _parser() -> argparse.ArgumentParser:
    defaults = Ports()
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        description="Run the Temporal dev server, simulators, callback receiver and worker.",
    )
    port_flags = [
        ("--temporal-port", "TEMPORAL_PORT", defaults.temporal),
        ("--ui-port", "TEMPORAL_UI_PORT", defaults.ui),
        ("--payout-port", "PAYOUT_SIMULATOR_PORT", defaults.payout),
        ("--sms-port", "SMS_SIMULATOR_PORT", defaults.sms),
        ("--callback-port", "PAYOUT_CALLBACK_PORT", defaults.callbacks),
        ("--codec-port", "CODEC_SERVER_PORT", defaults.codec),
        ("--http-port", "HTTP_PORT", defaults.http),
    ]
    for flag, env, default in port_flags:
        parser.add_argument(flag, type=int, default=_env_int(env, default), help=f"env {env}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("WITHDRAWALS_DATA_DIR") or ".data"),
        help="Temporal state, the SQLite database, logs (env WITHDRAWALS_DATA_DIR)",
    )
    parser.add_argument(
        "--max-settle-seconds",
        type=float,
        default=float(os.environ.get("SIM_MAX_SETTLE_SECONDS") or DEFAULT_MAX_SETTLE_SECONDS),
        help="real seconds the payout simulator's slowest route takes (env SIM_MAX_SETTLE_SECONDS)",
    )
    returns = os.environ.get("SIM_RETURN_AFTER_SECONDS")
    parser.add_argument(
        "--return-after-seconds",
        type=float,
        default=float(returns) if returns else None,
        help="real seconds from success to return for the simulator's magic returned payees; "
        "default 30 days scaled like settlement, 20 s (env SIM_RETURN_AFTER_SECONDS)",
    )
    parser.add_argument(
        "--fixture", type=Path, default=DEFAULT_FIXTURE, help="demo data loaded on start"
    )
    parser.add_argument("--no-fixture", action="store_true", help="load no demo data")
    return parser


def config_from_args(args: argparse.Namespace) -> StackConfig:
    data_dir = args.data_dir.resolve()
    ports = Ports(
        args.temporal_port,
        args.ui_port,
        args.payout_port,
        args.sms_port,
        args.callback_port,
        args.codec_port,
        args.http_port,
    )
    key_file = os.environ.get("PAYLOAD_KEY_FILE")
    return StackConfig(
        ports=ports,
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'withdrawals.db'}",
        namespace=os.environ.get("TEMPORAL_NAMESPACE") or dev_server.DEFAULT_NAMESPACE,
        task_queue=settings.task_queue(),
        max_settle_seconds=args.max_settle_seconds,
        return_after_seconds=args.return_after_seconds,
        fixture=None if args.no_fixture else args.fixture,
        payload_keys=os.environ.get("PAYLOAD_KEYS") or None,
        payload_key_file=Path(key_file).resolve() if key_file else None,
        codec_token=os.environ.get("CODEC_SERVER_TOKEN") or None,
    )


async def _first(*awaitables: asyncio.Future[object] | asyncio.Task[object]) -> None:
    await asyncio.wait(awaitables, return_when=asyncio.FIRST_COMPLETED)


async def run_foreground(config: StackConfig) -> int:
    """Start, print the banner, wait for Ctrl-C/SIGTERM (or a fatal failure), stop."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    print(f"starting the withdrawal stack; child logs go to {config.logs_dir}/", flush=True)
    stopping = asyncio.ensure_future(stop_requested.wait())
    starting = asyncio.ensure_future(Stack.start(config, foreground=True))
    await _first(starting, stopping)
    if not starting.done():
        starting.cancel()  # Stack.start stops what it started when cancelled
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting
        print("stopped before start-up finished")
        return 130
    try:
        stack = starting.result()
    except Exception as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    print(stack.banner(), flush=True)
    failing = asyncio.ensure_future(stack.failed.wait())
    await _first(stopping, failing)
    for waiter in (stopping, failing):
        waiter.cancel()
    print("stopping: worker, HTTP API, callback receiver, simulators, then Temporal …", flush=True)
    stack.stop()
    print(f"stopped. State is kept in {config.data_dir}; `make run` picks it up again.")
    return 1 if stack.failure else 0


def main(argv: list[str] | None = None) -> int:
    # Warnings only from libraries (httpx logs every readiness probe, alembic every step);
    # the launcher's own events reach the terminal through print.
    install_personal_data_filter()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    config = config_from_args(_parser().parse_args(argv))
    return asyncio.run(run_foreground(config))
