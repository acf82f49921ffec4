"""The audit trail: append-only and hash-chained, written in the transaction it describes.

Every state change and every refused action becomes one ``audit_log`` row: who
(``actor``), what (``action``, ``subject``), when (``at``), ``outcome`` and a short
``detail``. Row ``seq`` carries ``prev_hash``, the hash of row ``seq - 1`` (row 1: 64
zeros), and its own ``hash``: SHA-256 over ``canonical(row)``, a JSON object with sorted
keys and no spaces. Editing, inserting or deleting a row in the middle breaks a link that
``verify`` reports; the head can be anchored elsewhere by recording ``verify``'s last hash.

Ordering: a writer takes the chain lock before reading the last row, so two writers
never build on the same row (a fork). PostgreSQL: a transaction-scoped advisory lock;
SQLite: the write lock every transaction already holds from ``BEGIN IMMEDIATE``
(``ledger.db``). The unique ``prev_hash`` would refuse a fork even if the lock failed.
Append last in a transaction: the lock is then held only until the commit, and it is
always taken after the account, order and hold locks, so it adds no deadlock.

Details carry ids, amounts, statuses and rule texts: never a phone number, a name or
an account number (the withdrawal row keeps those).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from ledger.tables import AuditEntry
from ledger.types import utc

GENESIS_HASH = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that orders the chain.
AUDIT_CHAIN_LOCK_KEY = 0x0A0D_17C4
MAX_DETAIL_CHARS = 2000  # an audit row describes an action; it is not a document store
MAX_FIELD_CHARS = 64
VERIFY_BATCH_ROWS = 1000

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    problem: str


@dataclass(frozen=True)
class Verification:
    rows: int
    last_seq: int
    last_hash: str
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def canonical(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> bytes:
    """The bytes a row's hash covers: every column but the hash itself."""
    fields: dict[str, Any] = {
        "seq": seq,
        "at": utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "outcome": outcome,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            outcome=entry.outcome,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
    ).hexdigest()


def _lock_chain(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK_KEY}
        )
    # SQLite: BEGIN IMMEDIATE already made this transaction the only writer.


def _last(session: Session) -> AuditEntry | None:
    return session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(1)).first()


def append(
    session: Session,
    *,
    actor: str | None,
    action: str,
    subject: str | None,
    outcome: str,
    detail: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Chain one row onto the log inside the caller's transaction (never commits)."""
    _lock_chain(session)
    session.flush()  # earlier writes of this transaction first: they stay in order
    last = _last(session)
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        at=utc(at or datetime.now(UTC)),
        actor=_clip(actor or SYSTEM_ACTOR, MAX_FIELD_CHARS),
        action=_clip(action, MAX_FIELD_CHARS),
        subject=_clip(subject, MAX_FIELD_CHARS) if subject else None,
        outcome=_clip(outcome, 32),
        detail=_clip(detail, MAX_DETAIL_CHARS),
        prev_hash=last.hash if last else GENESIS_HASH,
        hash="",
    )
    entry.hash = row_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def entries(session: Session, subject: str | None = None) -> list[AuditEntry]:
    """Rows in chain order, optionally only those about ``subject`` (a withdrawal id)."""
    query = select(AuditEntry)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    return list(session.exec(query.order_by(col(AuditEntry.seq))).all())


def _batches(session: Session) -> Iterator[AuditEntry]:
    after = 0
    while True:
        batch = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.seq) > after)
            .order_by(col(AuditEntry.seq))
            .limit(VERIFY_BATCH_ROWS)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def verify(session: Session) -> Verification:
    """Walk the chain from row 1; report the first row whose link or hash is wrong."""
    expected_seq, prev_hash, rows = 1, GENESIS_HASH, 0
    for entry in _batches(session):
        broken = _check(entry, expected_seq, prev_hash)
        if broken is not None:
            return Verification(rows, expected_seq - 1, prev_hash, broken)
        rows += 1
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return Verification(rows, expected_seq - 1, prev_hash, None)


def _check(entry: AuditEntry, expected_seq: int, prev_hash: str) -> BrokenLink | None:
    if entry.seq != expected_seq:
        return BrokenLink(expected_seq, f"row {expected_seq} is missing (next is {entry.seq})")
    if entry.prev_hash != prev_hash:
        return BrokenLink(entry.seq, "prev_hash does not match the previous row's hash")
    if row_hash(entry) != entry.hash:
        return BrokenLink(entry.seq, "hash does not match the row's contents")
    return None
