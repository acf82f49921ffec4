"""A withdrawal stack for tests: a real Temporal server, a real database, providers.

The same ``Stack`` runs on the time-skipping test server with in-process fake
providers, or on the dev server with the HTTP simulators, so each path's test reads
the same on both.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from application.reviews import authenticate, send_decision
from client.polling import poll_until
from client.withdrawals import WithdrawalClient
from gateways.payout import PayoutProvider
from gateways.sms import SmsProvider
from ledger import tables
from ledger.db import session_scope
from ledger.loading import load_fixture
from models.branches import payee_from_branch
from models.domain import (
    DesignatedReason,
    Kind,
    Payee,
    Route,
    Status,
    WithdrawalRequest,
    WithdrawalStatusDoc,
)
from models.fixtures import parse_fixture
from models.messages import RecordedDecision, ReviewDecisionKind
from models.money import Money
from tests.support.withdrawals import workflow_handle
from tests.workflows import data
from tests.workflows.keys import review_signing_key
from workflows.search_attributes import ALL_KEYS

CODE_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server knows no custom attributes until told."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS
            },
        )
    )


def load_test_accounts(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_fixture(session, parse_fixture(data.fixture()))


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: WithdrawalClient
    engine: Engine
    payout: PayoutProvider
    sms: SmsProvider
    read_code: Callable[[str], Awaitable[str | None]]  # phone -> latest code
    started: list[str] = field(default_factory=list)
    # Who can sign in, and with what: the fixture's reviewers, plus any a test adds.
    passwords: dict[str, str] = field(default_factory=lambda: dict(data.PASSWORDS))

    # ---- driving --------------------------------------------------------------------
    async def start(self, **fields: Any) -> str:
        request = make_request(**fields)
        await self.client.start(request)
        self.started.append(request.withdrawal_id)
        return request.withdrawal_id

    async def code_for(self, account_id: str, *, after: str | None = None) -> str:
        """The newest code texted to the account's phone (different from ``after``)."""
        phone = data.PHONES[account_id]
        code = await poll_until(
            lambda: self.read_code(phone),
            lambda code: code is not None and code != after,
            timeout=CODE_WAIT_SECONDS,
            interval=POLL_SECONDS,
            on_timeout=lambda _: AssertionError(f"no verification code reached {account_id}"),
        )
        assert code is not None
        return code

    async def wait_status(self, withdrawal_id: str, status: Status) -> WithdrawalStatusDoc:
        return await poll_until(
            lambda: self.client.status(withdrawal_id),
            lambda doc: doc.status is status,
            timeout=CODE_WAIT_SECONDS,
            interval=POLL_SECONDS,
            on_timeout=lambda doc: AssertionError(
                f"{withdrawal_id} stuck in {doc.status}, wanted {status}"
            ),
        )

    async def wait_until_doc(
        self, withdrawal_id: str, condition: Callable[[WithdrawalStatusDoc], bool]
    ) -> WithdrawalStatusDoc:
        return await poll_until(
            lambda: self.client.status(withdrawal_id),
            condition,
            timeout=CODE_WAIT_SECONDS,
            interval=POLL_SECONDS,
            on_timeout=lambda _: AssertionError(f"{withdrawal_id}: condition not reached in time"),
        )

    async def wait_until(self, condition: Callable[[], bool]) -> None:

        async def check() -> bool:
            return condition()

        await poll_until(
            check,
            bool,
            timeout=CODE_WAIT_SECONDS,
            interval=POLL_SECONDS,
            on_timeout=lambda _: AssertionError("condition not reached in time"),
        )

    async def terminate_leftovers(self) -> None:
        """A run left open would hold the shared time-skipping clock for the next test."""
        for withdrawal_id in self.started:
            handle = workflow_handle(self.env.client, withdrawal_id)
            with contextlib.suppress(RPCError):  # already closed
                await handle.terminate("test finished")

    async def save_histories(self, folder: Path, name: str) -> None:
        """Keep each finished run's history so replay tests can catch nondeterminism.

        A committed history is never re-saved (withdrawals in flight replay it): only
        files that do not exist yet are written; a changed path gets a new test name."""
        folder.mkdir(parents=True, exist_ok=True)
        for index, withdrawal_id in enumerate(dict.fromkeys(self.started)):
            path = folder / f"{name}-{index}.json"
            if path.exists():
                continue
            handle = workflow_handle(self.env.client, withdrawal_id)
            history = await handle.fetch_history()
            path.write_text(history.to_json())

    # ---- reviewers (R17): they sign in, and each decision carries a signed proof --------
    async def approve(
        self, withdrawal_id: str, reviewer_id: str, comment: str = ""
    ) -> RecordedDecision | None:
        return await self.decide(withdrawal_id, ReviewDecisionKind.APPROVE, reviewer_id, comment)

    async def reject(
        self, withdrawal_id: str, reviewer_id: str, reason: str
    ) -> RecordedDecision | None:
        return await self.decide(withdrawal_id, ReviewDecisionKind.REJECT, reviewer_id, reason)

    async def decide(
        self, withdrawal_id: str, kind: ReviewDecisionKind, reviewer_id: str, comment: str = ""
    ) -> RecordedDecision | None:
        """As a reviewer at the CLI or console: authenticate, then send with a proof. Someone
        who cannot sign in (no password in ``passwords``) can only send the raw signal,
        as anyone with namespace access could."""
        password = self.passwords.get(reviewer_id)
        if password is None:
            return await self.client.decide(withdrawal_id, kind, reviewer_id, comment)
        reviewer = authenticate(self.engine, reviewer_id, password)
        return await send_decision(
            self.client,
            reviewer,
            withdrawal_id,
            kind,
            comment,
            signing_key=review_signing_key(),
            now=await self.workflow_now(),
        )

    async def workflow_now(self) -> datetime:
        """The server's clock: a time-skipping server runs ahead of the wall clock."""
        return await self.env.get_current_time()

    async def verify(self, withdrawal_id: str, account_id: str) -> None:
        await self.wait_status(withdrawal_id, Status.AWAITING_CODE)
        code = await self.code_for(account_id)
        result = await self.client.submit_code(withdrawal_id, code)
        assert result.verdict.value == "verified", result

    # ---- reading the ledger ---------------------------------------------------------
    def hold(self, withdrawal_id: str) -> tables.Hold | None:
        with Session(self.engine) as session:
            return session.get(tables.Hold, withdrawal_id)

    def account(self, account_id: str) -> tables.Account:
        with Session(self.engine) as session:
            account = session.get(tables.Account, account_id)
            assert account is not None
            return account

    def record(self, withdrawal_id: str) -> tables.Withdrawal:
        with Session(self.engine) as session:
            record = session.get(tables.Withdrawal, withdrawal_id)
            assert record is not None
            return record

    def debits(self, withdrawal_id: str) -> list[tables.LedgerEntry]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(tables.LedgerEntry).where(
                        tables.LedgerEntry.withdrawal_id == withdrawal_id
                    )
                )
            )

    def timeline_statuses(self, withdrawal_id: str) -> list[str]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(tables.WithdrawalEvent)
                .where(tables.WithdrawalEvent.withdrawal_id == withdrawal_id)
                .order_by(tables.WithdrawalEvent.id)  # type: ignore[arg-type]
            )
            return [row.status for row in rows]


def make_request(
    *,
    account_id: str = "acct-auto",
    amount: str = "100.00",
    kind: Kind = Kind.RECHARGE,
    route: Route = Route.ORIGINAL,
    order_id: str | None = "R-ALIPAY",
    reason: str | None = None,
    payee: Payee | None = None,
    proofs: list[str] | None = None,
    requested_by: str | None = None,
    withdrawal_id: str | None = None,
) -> WithdrawalRequest:
    return WithdrawalRequest.model_validate(
        {
            "withdrawal_id": withdrawal_id or f"w-{uuid.uuid4().hex[:12]}",
            "account_id": account_id,
            "amount": Money.yuan(amount),
            "kind": kind,
            "route": route,
            "order_id": order_id if kind is Kind.RECHARGE else None,
            "reason": reason,
            "payee": payee,
            "proofs": proofs if proofs is not None else ([] if payee is None else ["sha256:ab"]),
            "requested_by": requested_by,
        }
    )


def bank_payee(account_number: str = data.BANK_ACCOUNT_NUMBER) -> Payee:
    """Filled from the branch directory, as R10 requires of every entry point."""
    return payee_from_branch(account_number, data.PAYEE_NAME, "ICBC-BJ-01")


def alipay_payee(account_number: str = data.ALIPAY_ACCOUNT) -> Payee:
    return Payee(account_number=account_number, name=data.PAYEE_NAME)


async def start_with_a_typed_branch(stack: Stack) -> str:
    """A designated bank withdrawal whose payee names a city the branch directory does not
    (R10: typed by a backend, not filled from the directory): refused at open."""
    typed = bank_payee().model_copy(update={"city": "上海市"})
    assert isinstance(typed, Payee)
    return await stack.start(
        amount="100.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=typed,
    )


def fen(text: str) -> int:
    return Money.yuan(text).fen


def now() -> datetime:
    return datetime.now(UTC)
