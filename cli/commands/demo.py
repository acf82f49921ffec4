"""``demo``: every path end to end against the running stack, then what happened.

Uses the same environment as the other commands (``make run`` prints it): Temporal,
``DATABASE_URL`` (to find the demo accounts' phones and check they can afford the run),
``SMS_GATEWAY_URL`` (the simulator's inbox, where the codes arrive) and
``TEMPORAL_UI_PORT`` for the Web UI links. Progress goes to stdout, one line a step, or
to stderr under ``--json`` so stdout stays one JSON document. Exit 0 only when every
path ended as expected, 1 otherwise (the table says which).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from application.proofs import store_proof
from application.reviews import AuthenticatedReviewer, authenticate
from cli.command import Command, Context, Result
from cli.commands._password import add_password_arguments, read_password
from cli.errors import EXIT_FAILURE, EXIT_OK
from cli.output import table
from client.connection import connect, connect_options
from client.withdrawals import WithdrawalClient
from demo.data import read_fixture
from demo.paths import DEMO_PATHS, DemoPath
from demo.runner import DemoRunner, Outcome
from gateways.http_sms import DEFAULT_SMS_GATEWAY_URL, SMS_GATEWAY_URL_ENV, HttpSmsProvider
from ledger.accounts import balance_breakdown, remaining_of
from ledger.db import session_scope
from ledger.tables import Account, RechargeOrder, Reviewer
from models.errors import InputError
from models.fixtures import Fixture
from models.money import Money

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_FIXTURE = REPO_ROOT / "fixtures" / "demo.json"
UI_PORT_ENV = "TEMPORAL_UI_PORT"
DEFAULT_UI_PORT = 8233
RESET_HINT = "start from a fresh data directory, or load balances with `starter.py load`"

# A one-page PDF, enough for R9's "attach proof material" in a demo.
DEMO_PROOF_PDF = (
    b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
    b"3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reviewer", metavar="R", help="reviewer who decides (default: the fixture's first)"
    )
    add_password_arguments(parser)


def fail(message: str) -> NoReturn:
    """Exit 1 with exactly ``message`` on stderr: the demo cannot run, nothing started."""
    print(message, file=sys.stderr)
    raise SystemExit(EXIT_FAILURE)


async def _connect() -> WithdrawalClient:
    try:
        return WithdrawalClient(await connect())
    except RuntimeError:  # temporalio's "Failed client connect: ..."
        address = connect_options().get("target_host")
        fail(f"demo: cannot reach Temporal at {address}: is `make run` running?")


def _ui_url() -> str:
    text = os.environ.get(UI_PORT_ENV, str(DEFAULT_UI_PORT))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InputError(UI_PORT_ENV, f"{text!r} is not a port number")
    return f"http://localhost:{int(text)}"


def _needs(paths: Sequence[DemoPath], key: Callable[[DemoPath], str | None]) -> dict[str, Money]:
    """What the paths hold at once, per account or order: they run concurrently (R14)."""
    needs: dict[str, Money] = defaultdict(Money.zero)
    for path in paths:
        name = key(path)
        if name is not None:
            needs[name] = needs[name] + path.amount
    return dict(needs)


def _preflight(context: Context, reviewer_id: str) -> dict[str, str]:
    """The demo accounts' phones, once the database has them and they can afford a run."""
    now = context.now()
    phones: dict[str, str] = {}
    with session_scope(context.engine) as session:
        for account_id, need in _needs(DEMO_PATHS, lambda p: p.account_id).items():
            account = session.get(Account, account_id)
            if account is None:
                fail(
                    f"demo: account {account_id} is not in the database; "
                    f"load it with `starter.py load {DEMO_FIXTURE.relative_to(REPO_ROOT)}`"
                )
            withdrawable = balance_breakdown(session, account_id, now).withdrawable
            if withdrawable < need:
                fail(f"demo: {account_id} can withdraw {withdrawable}, needs {need}; {RESET_HINT}")
            phones[account_id] = account.security_phone
        for order_id, need in _needs(DEMO_PATHS, lambda p: p.order_id).items():
            order = session.get(RechargeOrder, order_id)
            left = remaining_of(order) if order is not None else Money.zero()
            if order is None or left < need:
                fail(f"demo: order {order_id} has {left} left, needs {need}; {RESET_HINT}")
        if session.get(Reviewer, reviewer_id) is None:
            fail(f"demo: reviewer {reviewer_id} is not in the database")
    return phones


def _sign_in_demo_reviewer(
    args: argparse.Namespace, context: Context, reviewer_id: str, fixture: Fixture
) -> AuthenticatedReviewer:
    """The demo's reviewer signs in like any other: ``REVIEWER_PASSWORD`` or
    ``--password-stdin`` if given, else the demo fixture's published demo password."""
    published = {r.id: r.password for r in fixture.reviewers}
    if args.password_stdin or "REVIEWER_PASSWORD" in os.environ:
        password = read_password(args)
    elif published.get(reviewer_id):
        password = published[reviewer_id] or ""
    else:
        password = read_password(args)
    return authenticate(context.engine, reviewer_id, password, now=context.now())


def _demo_proof() -> str:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "demo-proof.pdf"
        path.write_bytes(DEMO_PROOF_PDF)
        return store_proof(path)


def _row(outcome: Outcome) -> list[str]:
    status = outcome.status.value if outcome.status else "-"
    return [
        outcome.path,
        outcome.withdrawal_id,
        str(outcome.amount),
        status,
        "yes" if outcome.ok else f"NO (expected {outcome.expected_status.value})",
        outcome.reason or outcome.error or "",
        outcome.status_zh or "",
    ]


def _text(outcomes: list[Outcome]) -> str:
    # 状态 last: the table pads by characters, and a CJK character is two columns wide.
    header = ["path", "withdrawal", "amount", "status", "as expected", "reason", "状态"]
    lines = ["", table([_row(o) for o in outcomes], header=header), "", "Temporal Web UI:"]
    lines += [f"  {o.path:<18} {o.workflow_url}" for o in outcomes]
    passed = sum(o.ok for o in outcomes)
    lines += ["", f"{passed} of {len(outcomes)} paths ended as expected."]
    return "\n".join(lines)


def _printer(to_stderr: bool) -> Callable[[str], None]:
    stream = sys.stderr if to_stderr else sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    return say


def _run(args: argparse.Namespace, context: Context) -> Result:
    fixture = read_fixture(DEMO_FIXTURE)
    reviewer_id = args.reviewer or (fixture.reviewers[0].id if fixture.reviewers else None)
    if reviewer_id is None:
        raise InputError("--reviewer", f"{DEMO_FIXTURE.name} has no reviewer; name one")
    ui_url = _ui_url()
    phones = _preflight(context, reviewer_id)
    reviewer = _sign_in_demo_reviewer(args, context, reviewer_id, fixture)
    say = _printer(to_stderr=args.json)
    sms = HttpSmsProvider(os.environ.get(SMS_GATEWAY_URL_ENV) or DEFAULT_SMS_GATEWAY_URL)

    async def drive() -> list[Outcome]:
        runner = DemoRunner(await _connect(), sms, phones, reviewer, ui_url, say)
        proofs = [_demo_proof()]  # R9; stored once connected, so a failed start leaves nothing
        say(f"demo run {runner.run_id}: {len(DEMO_PATHS)} paths, reviewer {reviewer_id}")
        return await runner.run(DEMO_PATHS, proofs)

    outcomes = asyncio.run(drive())
    failed = [o.path for o in outcomes if not o.ok]
    if failed:
        print(f"demo: not as expected: {', '.join(failed)}", file=sys.stderr)
    document: list[Any] = list(outcomes)
    return Result(
        document=document,
        text=_text(outcomes),
        exit_status=EXIT_FAILURE if failed else EXIT_OK,
    )


COMMAND = Command(
    name="demo",
    help="run every withdrawal path end to end against the running stack",
    configure=_configure,
    run=_run,
)
