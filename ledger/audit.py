"""The audit trail: append-only and hash-chained, written in the transaction it describes.

Every state change and every refused action becomes one ``audit_log`` row: who
(``actor``), what (``action``, ``subject``), when (``at``), ``outcome`` and a short
``detail``.

Chains: one per subject (``chain`` = the subject, usually a withdrawal id; rows without
a subject share ``SYSTEM_CHAIN``). Row ``chain_seq`` carries ``prev_hash``, the hash of
the chain's row ``chain_seq - 1`` (row 1: 64 zeros), and its own ``hash``: SHA-256 over
``canonical(row)``, a JSON object with sorted keys and no spaces. Editing, inserting or
deleting a row inside a chain breaks a link that ``verify`` reports. Rows written before
per-subject chains form the chain ``LEGACY_CHAIN`` and keep their original hashes.

Anchors: ``anchor`` records, for every chain that grew since the last anchor, its head
(last ``chain_seq`` and its hash), in an anchor row chained to the anchor before it. A
chain cut short or removed after it was anchored no longer reaches its anchored head, and
``verify`` reports it; the newest anchor's hash can be recorded elsewhere to protect the
anchors themselves. A Temporal Schedule runs ``anchor`` periodically
(``activities.audit_anchor``); ``starter.py audit anchor`` runs it by hand.

Ordering: a writer locks only its own chain before reading the chain's head, so two
writers never build on the same row (a fork), and writers of different withdrawals never
wait for each other. PostgreSQL: a transaction-scoped advisory lock keyed by the chain's
hash (two chains sharing a key only wait, never fork); SQLite: the write lock every
writing transaction holds from ``BEGIN IMMEDIATE`` (``ledger.db``). The unique
``(chain, chain_seq)`` would refuse a fork even if the lock failed. Append last in a
transaction: the chain lock is then held only until the commit, and it is always taken
after the account, order and hold locks, so it adds no deadlock.

Details carry ids, amounts, statuses and rule texts: never a phone number, a name or
an account number (the withdrawal row keeps those).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, text, tuple_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from ledger.tables import AuditAnchor, AuditAnchorHead, AuditEntry
from ledger.types import utc

# Core tables for the statements that need no ORM objects (cheaper, and typed).
LOG = cast(Table, AuditEntry.__table__)  # type: ignore[attr-defined]
ANCHOR_HEADS = cast(Table, AuditAnchorHead.__table__)  # type: ignore[attr-defined]

GENESIS_HASH = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that orders the anchors
# (only anchors take it; appends never do).
AUDIT_ANCHOR_LOCK_KEY = 0x0A0D_17C5
MAX_DETAIL_CHARS = 2000  # an audit row describes an action; it is not a document store
MAX_FIELD_CHARS = 64
VERIFY_BATCH_ROWS = 1000

SYSTEM_ACTOR = "system"
SYSTEM_CHAIN = "~system"  # rows without a subject (a subject never starts with "~")
LEGACY_CHAIN = "*"  # rows from before per-subject chains (migration 0007)


@dataclass(frozen=True)
class BrokenLink:
    seq: int | None  # the row's ``seq``; None when the row that should be there is gone
    chain: str
    chain_seq: int
    problem: str


@dataclass(frozen=True)
class Verification:
    rows: int
    chains: int
    anchors: int
    last_seq: int
    last_anchor_hash: str
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


@dataclass(frozen=True)
class Anchored:
    id: int
    hash: str
    heads: int  # chains whose head this anchor recorded (the ones that grew)


def chain_of(subject: str | None) -> str:
    """The chain a subject's rows join; names reserved for other chains are prefixed."""
    if not subject:
        return SYSTEM_CHAIN
    if subject == LEGACY_CHAIN or subject.startswith("~"):
        subject = "~" + subject
    return _clip(subject, MAX_FIELD_CHARS)


def canonical(
    *,
    seq: int,
    chain: str,
    chain_seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> bytes:
    """The bytes a row's hash covers: every column but the hash and the global ``seq``.

    ``seq`` only orders rows across chains; a chain's order is ``chain_seq``. Legacy
    rows (one global chain, ``seq == chain_seq``) keep the form they were hashed in.
    """
    fields: dict[str, Any] = {
        "at": utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "outcome": outcome,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    if chain == LEGACY_CHAIN:
        fields["seq"] = seq
    else:
        fields["chain"], fields["chain_seq"] = chain, chain_seq
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical(
            seq=entry.seq,
            chain=entry.chain,
            chain_seq=entry.chain_seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            outcome=entry.outcome,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
    ).hexdigest()


# Built once: constructing a statement costs more than running it (SQLAlchemy caches
# the compiled form by the statement's key, which a rebuilt statement must recompute).
_LOCK_CHAIN = text("SELECT pg_advisory_xact_lock(hashtextextended(:chain, 0))")
_HEAD = (
    core_select(LOG.c.chain_seq, LOG.c.hash)
    .where(LOG.c.chain == bindparam("chain"))
    .order_by(LOG.c.chain_seq.desc())
    .limit(1)
)
# SQLite numbers rows in the INSERT itself (its writer is alone, so max + 1 is free);
# PostgreSQL's sequence does (the column's default).
_INSERT_NUMBERED = (
    insert(LOG)
    .values(seq=core_select(func.coalesce(func.max(LOG.c.seq), 0) + 1).scalar_subquery())
    .returning(LOG.c.seq)
)
_INSERT = insert(LOG).returning(LOG.c.seq)


def _lock_chain(session: Session, chain: str, postgres: bool) -> None:
    if postgres:
        session.execute(_LOCK_CHAIN, {"chain": chain})
    # SQLite: BEGIN IMMEDIATE already made this transaction the only writer.


def _head(session: Session, chain: str) -> tuple[int, str] | None:
    row = session.execute(_HEAD, {"chain": chain}).first()
    return None if row is None else (int(row[0]), str(row[1]))


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
    """Chain one row onto its subject's chain inside the caller's transaction (never
    commits). Locks that chain only, until the caller's commit."""
    chain = chain_of(subject)
    postgres = session.connection().dialect.name == "postgresql"
    _lock_chain(session, chain, postgres)
    session.flush()  # earlier writes of this transaction first: they stay in order
    head = _head(session, chain)
    values: dict[str, Any] = {
        "chain": chain,
        "chain_seq": (head[0] + 1) if head else 1,
        "at": utc(at or datetime.now(UTC)),
        "actor": _clip(actor or SYSTEM_ACTOR, MAX_FIELD_CHARS),
        "action": _clip(action, MAX_FIELD_CHARS),
        "subject": _clip(subject, MAX_FIELD_CHARS) if subject else None,
        "outcome": _clip(outcome, 32),
        "detail": _clip(detail, MAX_DETAIL_CHARS),
        "prev_hash": head[1] if head else GENESIS_HASH,
    }
    # ``seq`` is not hashed (see ``canonical``): the database assigns it below.
    values["hash"] = hashlib.sha256(canonical(seq=0, **values)).hexdigest()
    # A core INSERT, no ORM unit of work: one statement, and the row is never read back
    # through this session.
    assigned = session.execute(_INSERT if postgres else _INSERT_NUMBERED, values).scalar_one()
    return AuditEntry.model_construct(seq=int(assigned), **values)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def entries(session: Session, subject: str | None = None) -> list[AuditEntry]:
    """Rows in the order they were written, optionally only those about ``subject``."""
    query = select(AuditEntry)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    return list(session.exec(query.order_by(col(AuditEntry.seq))).all())


# ---- anchors ------------------------------------------------------------------------------


def heads_digest(heads: list[tuple[str, int, str]]) -> str:
    """SHA-256 over ``chain`` / ``chain_seq`` / ``hash`` lines, sorted by chain."""
    digest = hashlib.sha256()
    for chain, chain_seq, head_hash in sorted(heads):
        digest.update(f"{chain}\t{chain_seq}\t{head_hash}\n".encode())
    return digest.hexdigest()


def anchor_hash(anchor_id: int, at: datetime, prev_hash: str, digest: str) -> str:
    fields = {
        "id": anchor_id,
        "at": utc(at).isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
        "heads": digest,
    }
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(payload).hexdigest()


def _current_heads(session: Session) -> dict[str, tuple[int, str]]:
    last = (
        core_select(LOG.c.chain, func.max(LOG.c.chain_seq).label("chain_seq"))
        .group_by(LOG.c.chain)
        .subquery()
    )
    rows = session.execute(
        core_select(LOG.c.chain, LOG.c.chain_seq, LOG.c.hash).join(
            last, and_(LOG.c.chain == last.c.chain, LOG.c.chain_seq == last.c.chain_seq)
        )
    )
    return {str(chain): (int(seq), str(h)) for chain, seq, h in rows}


def _anchored_heads(session: Session) -> dict[str, int]:
    heads = ANCHOR_HEADS.c
    latest = (
        core_select(heads.chain, func.max(heads.anchor_id).label("anchor_id"))
        .group_by(heads.chain)
        .subquery()
    )
    rows = session.execute(
        core_select(heads.chain, heads.chain_seq).join(
            latest, and_(heads.chain == latest.c.chain, heads.anchor_id == latest.c.anchor_id)
        )
    )
    return {str(chain): int(seq) for chain, seq in rows}


def _lock_anchors(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_ANCHOR_LOCK_KEY}
        )


def anchor(session: Session, at: datetime | None = None) -> Anchored | None:
    """Record the head of every chain that grew since the last anchor, in a new anchor
    chained to that one; None when nothing grew. Runs in the caller's transaction."""
    _lock_anchors(session)
    previous = session.exec(select(AuditAnchor).order_by(col(AuditAnchor.id).desc())).first()
    anchored = _anchored_heads(session)
    grown = [
        (chain, seq, head_hash)
        for chain, (seq, head_hash) in _current_heads(session).items()
        if seq > anchored.get(chain, 0)  # a chain shorter than anchored is verify's to report
    ]
    if not grown:
        return None
    anchor_id = previous.id + 1 if previous else 1
    now = utc(at or datetime.now(UTC))
    prev_hash = previous.hash if previous else GENESIS_HASH
    own_hash = anchor_hash(anchor_id, now, prev_hash, heads_digest(grown))
    session.add(
        AuditAnchor(id=anchor_id, at=now, heads=len(grown), prev_hash=prev_hash, hash=own_hash)
    )
    session.flush()
    session.execute(
        insert(ANCHOR_HEADS),
        [
            {"anchor_id": anchor_id, "chain": chain, "chain_seq": seq, "hash": head_hash}
            for chain, seq, head_hash in grown
        ],
    )
    return Anchored(id=anchor_id, hash=own_hash, heads=len(grown))


# ---- verification -------------------------------------------------------------------------


def _rows_by_chain(session: Session) -> Iterator[AuditEntry]:
    after: tuple[str, int] = ("", 0)
    while True:
        batch = session.exec(
            select(AuditEntry)
            .where(tuple_(LOG.c.chain, LOG.c.chain_seq) > tuple_(*after))
            .order_by(col(AuditEntry.chain), col(AuditEntry.chain_seq))
            .limit(VERIFY_BATCH_ROWS)
        ).all()
        if not batch:
            return
        yield from batch
        after = (batch[-1].chain, batch[-1].chain_seq)


@dataclass
class _AnchorWalk:
    anchors: int
    last_hash: str
    heads: dict[str, tuple[int, str]]  # chain -> the newest anchored (chain_seq, hash)
    broken: BrokenLink | None


def _walk_anchors(session: Session) -> _AnchorWalk:
    walk = _AnchorWalk(0, GENESIS_HASH, {}, None)
    expected_id = 1
    for row in session.exec(select(AuditAnchor).order_by(col(AuditAnchor.id))):
        heads = session.exec(
            select(AuditAnchorHead).where(AuditAnchorHead.anchor_id == row.id)
        ).all()
        listed = [(h.chain, h.chain_seq, h.hash) for h in heads]
        problem = None
        if row.id != expected_id:
            problem = f"anchor {expected_id} is missing (next is {row.id})"
        elif row.prev_hash != walk.last_hash:
            problem = "prev_hash does not match the previous anchor's hash"
        elif (
            len(listed) != row.heads
            or anchor_hash(row.id, row.at, row.prev_hash, heads_digest(listed)) != row.hash
        ):
            problem = "hash does not match the anchor's heads"
        if problem is not None:
            walk.broken = BrokenLink(None, "anchor", expected_id, f"anchor: {problem}")
            return walk
        for chain, seq, head_hash in listed:
            walk.heads[chain] = (seq, head_hash)
        walk.anchors, walk.last_hash, expected_id = row.id, row.hash, row.id + 1
    return walk


def verify(session: Session) -> Verification:
    """Check the anchors, then every chain from its row 1: links, hashes, and that each
    chain still reaches the head its newest anchor recorded. Reports the first problem."""
    walk = _walk_anchors(session)
    rows = chains = last_seq = 0

    def result(broken: BrokenLink | None) -> Verification:
        return Verification(rows, chains, walk.anchors, last_seq, walk.last_hash, broken)

    if walk.broken is not None:
        return result(walk.broken)
    chain, expected, prev_hash = "", 1, GENESIS_HASH
    seen: set[str] = set()
    for entry in _rows_by_chain(session):
        if entry.chain != chain:
            broken = _end_of_chain(chain, expected - 1, walk.heads) if chain else None
            if broken is not None:
                return result(broken)
            chain, expected, prev_hash = entry.chain, 1, GENESIS_HASH
            seen.add(chain)
            chains += 1
        broken = _check(entry, expected, prev_hash, walk.heads.get(chain))
        if broken is not None:
            return result(broken)
        rows += 1
        last_seq = max(last_seq, entry.seq)
        expected, prev_hash = entry.chain_seq + 1, entry.hash
    broken = _end_of_chain(chain, expected - 1, walk.heads) if chain else None
    if broken is None:
        missing = sorted(set(walk.heads) - seen)
        if missing:
            seq = walk.heads[missing[0]][0]
            broken = BrokenLink(None, missing[0], 1, f"anchored chain (head row {seq}) is gone")
    return result(broken)


def _check(
    entry: AuditEntry, expected: int, prev_hash: str, anchored: tuple[int, str] | None
) -> BrokenLink | None:
    def broken(problem: str, seq: int | None = entry.seq) -> BrokenLink:
        return BrokenLink(seq, entry.chain, expected, problem)

    if entry.chain_seq != expected:
        return broken(f"row {expected} is missing (next is {entry.chain_seq})", None)
    if entry.prev_hash != prev_hash:
        return broken("prev_hash does not match the previous row's hash")
    if row_hash(entry) != entry.hash:
        return broken("hash does not match the row's contents")
    if anchored is not None and anchored[0] == entry.chain_seq and anchored[1] != entry.hash:
        return broken("hash differs from the one anchored for this row")
    return None


def _end_of_chain(chain: str, last: int, heads: dict[str, tuple[int, str]]) -> BrokenLink | None:
    anchored = heads.get(chain)
    if anchored is not None and anchored[0] > last:
        return BrokenLink(
            None, chain, last + 1, f"chain ends at row {last}; row {anchored[0]} was anchored"
        )
    return None
