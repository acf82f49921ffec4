"""A database outage in the middle of a burst of withdrawals (issue 26, item 4).

The stack runs on a private PostgreSQL server (``private_postgres``); once the burst has
withdrawals in flight the server is stopped for ``outage_seconds`` and started again
(``pg_ctl stop -m fast``: sessions cut, as an operator or a failover does). Withdrawals
are created through the HTTP API as a backend would: a 503 is retried after its
``Retry-After`` under the same id (``Idempotency-Key``), so nothing the backend asked
for is lost. Codes and reviews go as in the other fault runs (``driver.Driver``). A
prober reads two database-backed endpoints throughout, so the run knows what the API
answered while the database was away and when it answered again.

| variable | default | what |
| --- | --- | --- |
| ``FAULT_OUTAGE_BATCH`` | 10 | withdrawals in the burst |
| ``FAULT_OUTAGE_SECONDS`` | 10 | how long the database is stopped |
| ``FAULT_OUTAGE_IN_FLIGHT`` | 3 | it stops once this many are recorded and not final |
| ``FAULT_OUTAGE_SPREAD_SECONDS`` | 5 | starts spread over this long; it stops by then at latest |
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from ledger import audit, tables
from ledger.db import get_engine
from ledger.types import utc
from ledger.verify import verify_ledger
from stack import Stack
from tests.faults.books import check_books
from tests.faults.chaos import moments
from tests.faults.driver import Driver, StatusWatch
from tests.faults.figures import REPORTED
from tests.faults.plan import Planned, make_plan
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.scenario import DEADLINE_SECONDS, SEED, env_int, explain, load_plans

PROBE_INTERVAL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 60.0  # a create waits for its first step (START_SETTLE_SECONDS)
PROGRESS_POLL_SECONDS = 0.2
WORKER_RECOVERY_WAIT_SECONDS = 120.0  # no write by then: the figure says "never"
# Above what a 503's Retry-After may ask: a backend waits at most this long per attempt.
MAX_RETRY_AFTER_SECONDS = 30
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class OutageSettings:
    name: str = "outage"
    count: int = env_int("FAULT_OUTAGE_BATCH", 10)
    outage_seconds: float = float(env_int("FAULT_OUTAGE_SECONDS", 10))
    in_flight: int = env_int("FAULT_OUTAGE_IN_FLIGHT", 3)
    spread_seconds: float = float(env_int("FAULT_OUTAGE_SPREAD_SECONDS", 5))
    seed: int = SEED + 2  # another mix of paths than the other fault runs'


@dataclass(frozen=True)
class Answer:
    """One HTTP answer the run got; ``status`` 0: no answer at all (connection refused)."""

    what: str  # "create", "withdrawable" or "list"
    sent: float  # time.monotonic()
    received: float
    status: int
    content_type: str = ""
    retry_after: str | None = None
    error: str = ""  # why there was no answer

    def problem(self) -> str | None:
        """What is wrong with this answer during an outage run, if anything."""
        if self.status in (200, 201):
            return None
        if self.status != 503:
            return f"{self.what} answered {self.status or self.error or 'nothing'}"
        if not self.content_type.startswith(PROBLEM_JSON):
            return f"{self.what}: a 503 as {self.content_type!r}, not problem+json"
        if not (self.retry_after or "").isdigit() or int(self.retry_after or 0) < 1:
            return f"{self.what}: a 503 with Retry-After {self.retry_after!r}"
        return None


def _answer(what: str, sent: float, response: httpx.Response | Exception) -> Answer:
    if isinstance(response, Exception):
        return Answer(what, sent, time.monotonic(), 0, error=repr(response))
    return Answer(
        what,
        sent,
        time.monotonic(),
        response.status_code,
        response.headers.get("content-type", ""),
        response.headers.get("retry-after"),
    )


def _api_client(stack: Stack) -> httpx.AsyncClient:
    key = stack.api_key
    assert key is not None, "the stack's dev API key (API_KEYS must be unset)"
    return httpx.AsyncClient(
        base_url=stack.urls.http,
        headers={"Authorization": f"Bearer {key}"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )


@dataclass
class ApiDriver(Driver):
    """Creates each withdrawal with ``POST /v1/withdrawals``, as a backend: a 503 is tried
    again after its ``Retry-After``, with the same ``Idempotency-Key``."""

    answers: list[Answer] = field(default_factory=list)

    async def _start(self, plan: Planned) -> None:
        body = {
            "account_id": plan.account_id,
            "amount": str(plan.amount),
            "order_id": plan.order_id,
            "to": "original",
        }
        async with _api_client(self.stack) as http:
            while True:
                self._check_deadline(plan, "create")
                sent = time.monotonic()
                try:
                    response: httpx.Response | Exception = await http.post(
                        "/v1/withdrawals",
                        json=body,
                        headers={"Idempotency-Key": plan.withdrawal_id},
                    )
                except httpx.TransportError as error:
                    response = error
                answer = _answer("create", sent, response)
                self.answers.append(answer)
                if answer.status in (200, 201):
                    return
                if answer.problem() is not None:  # not a proper 503: the test reports it
                    await self._retry_pause()
                    continue
                self.retried_calls += 1
                await asyncio.sleep(min(int(answer.retry_after or 1), MAX_RETRY_AFTER_SECONDS))


async def probe_api(stack: Stack, account_id: str, answers: list[Answer]) -> None:
    """Read the withdrawable breakdown and the records (both from the database) every
    ``PROBE_INTERVAL_SECONDS`` until cancelled."""
    paths = {
        "withdrawable": f"/v1/accounts/{account_id}/withdrawable",
        "list": f"/v1/withdrawals?account_id={account_id}",
    }
    async with _api_client(stack) as http:
        while True:
            for what, path in paths.items():
                sent = time.monotonic()
                try:
                    response: httpx.Response | Exception = await http.get(path)
                except httpx.TransportError as error:
                    response = error
                answers.append(_answer(what, sent, response))
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)


def _timeline_rows(engine: Engine) -> int:
    """Timeline rows: only the worker's activities write them (``ledger.withdrawals``)."""
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(tables.WithdrawalEvent)).one())


@dataclass
class Outage:
    """Stops the server once withdrawals are in flight, starts it again, and notes when."""

    server: PrivatePostgres
    engine: Engine
    in_flight_at_stop: list[str] = field(default_factory=list)  # recorded, not final
    down_at: float | None = None  # stopped (pg_ctl returned)
    starting_at: float | None = None  # pg_ctl start called: it may answer from now on
    up_at: float | None = None  # pg_ctl start returned: accepting connections
    up_wall: datetime | None = None  # the same moment by the clock the ledger records
    worker_wrote_at: float | None = None  # the worker's first write after ``up_at``

    async def run(
        self,
        in_flight: Callable[[], list[str]],
        at_least: int,
        latest_seconds: float,
        seconds: float,
    ) -> None:
        """Stop the server for ``seconds`` once ``in_flight()`` withdrawals are recorded
        and not final reach ``at_least`` (at the latest after ``latest_seconds``)."""
        give_up = time.monotonic() + latest_seconds
        while len(in_flight()) < at_least and time.monotonic() < give_up:
            await asyncio.sleep(PROGRESS_POLL_SECONDS)
        self.in_flight_at_stop = in_flight()
        await asyncio.to_thread(self.server.stop)
        self.down_at = time.monotonic()
        try:
            await asyncio.sleep(seconds)
        finally:  # even if the run is cancelled, the database comes back
            self.starting_at = time.monotonic()
            await asyncio.to_thread(self.server.start)
            self.up_at, self.up_wall = time.monotonic(), datetime.now(UTC)
        await self._until_worker_writes()

    async def _until_worker_writes(self) -> None:
        """The worker's recovery: the first timeline row written after the restart (the
        rows are counted at once, before a retried activity can usually reach them)."""
        before = await asyncio.to_thread(_timeline_rows, self.engine)
        give_up = time.monotonic() + WORKER_RECOVERY_WAIT_SECONDS
        while time.monotonic() < give_up:
            if await asyncio.to_thread(_timeline_rows, self.engine) != before:
                self.worker_wrote_at = time.monotonic()
                return
            await asyncio.sleep(PROGRESS_POLL_SECONDS)

    @property
    def seconds(self) -> float:
        assert self.down_at is not None and self.up_at is not None
        return self.up_at - self.down_at


@dataclass
class OutageFigures:
    run: str
    seed: int
    withdrawals: int = 0
    outage_seconds: float = 0.0
    in_flight_at_stop: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    answers: Counter[int] = field(default_factory=Counter)  # by HTTP status, 0: none
    answers_503_during: int = 0  # 503s to requests sent while the database was away
    creates_retried: int = 0  # creates answered 503 and sent again under the same id
    api_recovered_seconds: float | None = None  # restart → the first 200 of a probe
    worker_recovered_seconds: float | None = None  # restart → the worker's first write
    stalled_final_seconds: float | None = None  # restart → the last of those in flight final
    all_final_seconds: float | None = None  # restart → every withdrawal final
    worker_restarts: int = 0
    duplicates: int = -1
    mismatches: int = -1
    seconds: float = 0.0

    def line(self) -> str:
        statuses = " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        answers = " ".join(f"{k}={v}" for k, v in sorted(self.answers.items()))

        def secs(value: float | None) -> str:
            return "never" if value is None else f"{value:.1f}"

        return (
            f"{self.run}: seed={self.seed} withdrawals={self.withdrawals} [{statuses}] "
            f"outage={self.outage_seconds:.1f}s in_flight_at_stop={self.in_flight_at_stop} "
            f"http[{answers}] "
            f"503s_during_outage={self.answers_503_during} "
            f"creates_retried={self.creates_retried} "
            f"api_recovered={secs(self.api_recovered_seconds)}s "
            f"worker_recovered={secs(self.worker_recovered_seconds)}s "
            f"stalled_final_after={secs(self.stalled_final_seconds)}s "
            f"all_final_after={secs(self.all_final_seconds)}s "
            f"worker_restarts={self.worker_restarts} duplicates={self.duplicates} "
            f"mismatches={self.mismatches} seconds={self.seconds:.1f}"
        )

    def report(self) -> None:
        REPORTED.append(self.line())
        print(f"\n[fault run] {self.line()}", flush=True)


@dataclass
class OutageRun:
    """What the run saw, for the test's assertions."""

    figures: OutageFigures
    outage: Outage
    answers: list[Answer] = field(default_factory=list)  # the creates' and the prober's
    problems: list[str] = field(default_factory=list)  # the books' problems, as sentences
    pids_before: tuple[int | None, int | None] = (None, None)  # the worker's, the API's
    pids_after: tuple[int | None, int | None] = (None, None)


def _pids(stack: Stack) -> tuple[int | None, int | None]:
    assert stack.worker is not None and stack.api is not None
    return stack.worker.pid, stack.api.pid


def _measure_answers(figures: OutageFigures, answers: list[Answer], outage: Outage) -> None:
    assert outage.down_at is not None and outage.up_at is not None
    figures.answers = Counter(a.status for a in answers)
    figures.answers_503_during = sum(
        1 for a in answers if a.status == 503 and outage.down_at <= a.sent < outage.up_at
    )
    figures.creates_retried = sum(1 for a in answers if a.what == "create" and a.status == 503)
    recovered = [
        a.received
        for a in answers
        if a.what != "create" and a.status == 200 and a.sent >= outage.up_at
    ]
    if recovered:
        figures.api_recovered_seconds = min(recovered) - outage.up_at
    if outage.worker_wrote_at is not None:
        figures.worker_recovered_seconds = outage.worker_wrote_at - outage.up_at


def _stalled_final_seconds(engine: Engine, outage: Outage) -> float | None:
    """From the database's return until the last withdrawal that was in flight when it
    stopped was final (its record's last change): how long the retries' backoff held
    them."""
    if not outage.in_flight_at_stop or outage.up_wall is None:
        return None
    with Session(engine) as session:
        last = session.exec(
            select(func.max(tables.Withdrawal.updated_at)).where(
                col(tables.Withdrawal.id).in_(outage.in_flight_at_stop)
            )
        ).one()
    return None if last is None else (utc(last) - outage.up_wall).total_seconds()


def _ledger_problems(engine: Engine) -> list[str]:
    """``ledger verify`` and the audit chains, over the whole database."""
    with Session(engine) as session:
        ledger = verify_ledger(session)
        chains = audit.verify(session)
    problems = [f"ledger verify: {p.text}" for p in ledger.problems]
    if not chains.ok:
        problems.append(f"audit chains: {chains}")
    return problems


async def _burst(
    stack: Stack,
    run: OutageRun,
    settings: OutageSettings,
    plans: list[Planned],
    starts: list[float],
    engine: Engine,
) -> None:
    """Drive ``plans`` from ``starts`` on, the outage in the middle, until all are final."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    watch = StatusWatch(engine, settings.name)
    driver = ApiDriver(stack, watch, deadline, answers=run.answers)
    watch.start()
    probing = asyncio.create_task(probe_api(stack, plans[0].account_id, run.answers))

    def in_flight() -> list[str]:  # the watch's last read is at most a poll old
        return [wid for wid, status in watch.statuses.items() if not status.is_final]

    try:
        async with asyncio.TaskGroup() as group:
            driver.run_spread(group, plans, starts)
            # Stopped in the middle of the burst: with withdrawals at every step.
            stopping = run.outage.run(
                in_flight, settings.in_flight, settings.spread_seconds, settings.outage_seconds
            )
            group.create_task(stopping)
        await watch.wait_all_final([p.withdrawal_id for p in plans], deadline)
        assert run.outage.up_at is not None
        run.figures.all_final_seconds = time.monotonic() - run.outage.up_at
    finally:
        probing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probing
        await watch.stop()


async def run_outage(stack: Stack, server: PrivatePostgres, settings: OutageSettings) -> OutageRun:
    """The burst with the outage in it, then the books checked; figures are printed
    whether it passes or not."""
    engine = get_engine(stack.config.database_url)
    rng = random.Random(settings.seed)
    plans = make_plan(settings.name, settings.count, rng)
    starts = moments(rng, len(plans), settings.spread_seconds)
    load_plans(engine, plans)
    figures = OutageFigures(run=settings.name, seed=settings.seed, withdrawals=len(plans))
    run = OutageRun(figures=figures, outage=Outage(server, engine), pids_before=_pids(stack))
    restarts_before, started = stack.worker_restarts, time.monotonic()

    def measure() -> None:
        figures.seconds = time.monotonic() - started
        figures.worker_restarts = stack.worker_restarts - restarts_before
        run.pids_after = _pids(stack)
        figures.in_flight_at_stop = len(run.outage.in_flight_at_stop)
        if run.outage.up_at is not None:
            figures.outage_seconds = run.outage.seconds
            _measure_answers(figures, run.answers, run.outage)

    try:
        await _burst(stack, run, settings, plans, starts, engine)
        measure()
        checked = await check_books(stack, engine, plans)
    except Exception as error:
        measure()
        figures.report()
        raise AssertionError(f"{figures.line()}\n{explain(error)}") from error
    figures.stalled_final_seconds = _stalled_final_seconds(engine, run.outage)
    figures.statuses = checked.statuses
    figures.duplicates = checked.duplicates
    figures.mismatches = len(checked.report.mismatches)
    figures.report()
    run.problems = [*checked.problems, *_ledger_problems(engine)]
    return run
