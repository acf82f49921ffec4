"""Database tables of the ledger: money as integer fen, times as aware UTC.

Tables never leave the ledger and the activities; boundaries use ``models.domain``.
Every amount column carries a CHECK so a bug that would make money negative fails in
the database instead of being stored. Enum-like strings are CHECKed against the
values of the ``models.domain`` enums, so the two cannot drift apart silently; the
enum-typed columns (``ledger.types.EnumText``) read back as members of those enums.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from ledger.types import EnumText, UTCDateTime
from models.domain import (
    AccountStatus,
    AccountType,
    Channel,
    DesignatedReason,
    Kind,
    Route,
    Status,
)


class HoldState(StrEnum):
    """A hold is resolved exactly once: ``held`` → ``posted`` or ``held`` → ``voided``."""

    HELD = "held"
    POSTED = "posted"
    VOIDED = "voided"


class Direction(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class EntryType(StrEnum):
    """Types of transaction details (R20); ``withdrawal`` is the one users filter by."""

    WITHDRAWAL = "withdrawal"
    # The ledger owns the cash figure: a fixture's ``cash`` is written once as an opening
    # entry; a later correction is an audited adjustment entry, never an overwrite.
    OPENING = "opening"
    ADJUSTMENT = "adjustment"
    # The credit of a payout the provider returned (issue 25); with the unique
    # (withdrawal_id, type) a withdrawal's return can be credited only once.
    WITHDRAWAL_RETURN = "withdrawal_return"


class ReturnState(StrEnum):
    """A provider's return of a paid withdrawal: credited back, or parked for ops because
    the returned amount is not the transfer's (issue 25)."""

    CREDITED = "credited"
    PARKED = "parked"


def _one_of(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def _not_negative(table: str, *columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} >= 0", name=f"ck_{table}_{c}_not_negative") for c in columns]


def _account_fk() -> ForeignKey:
    return ForeignKey("account.id")


# Fen columns are 64-bit: 32 bits stop at about 21 million yuan, which a large
# enterprise balance can exceed (``models.money.MAX_AMOUNT_FEN`` is far larger).


class Account(SQLModel, table=True):
    """A cloud account and its R11 balance components.

    ``held_fen`` is the running total of active holds, so R12 never scans history.
    """

    __tablename__ = "account"
    __table_args__ = (
        *_not_negative(
            "account",
            "cash_fen",
            "transfer_in_fen",
            "owed_invoice_fen",
            "overdue_fen",
            "unsettled_fen",
            "held_fen",
        ),
        _one_of("type", [t.value for t in AccountType], "ck_account_type"),
        _one_of("status", [s.value for s in AccountStatus], "ck_account_status"),
    )

    id: str = Field(primary_key=True, max_length=64)
    owner_name: str = Field(max_length=200)
    type: AccountType = Field(sa_type=EnumText(AccountType, 16))
    real_name_verified: bool
    status: AccountStatus = Field(sa_type=EnumText(AccountStatus, 16))
    identity_id: str = Field(index=True, max_length=64)  # same real name (R17)
    security_phone: str = Field(max_length=32)  # R15
    master_account_id: str | None = Field(default=None, max_length=64)  # R2
    cash_fen: int = Field(default=0, sa_type=BigInteger)
    transfer_in_fen: int = Field(default=0, sa_type=BigInteger)
    owed_invoice_fen: int = Field(default=0, sa_type=BigInteger)
    overdue_fen: int = Field(default=0, sa_type=BigInteger)
    unsettled_fen: int = Field(default=0, sa_type=BigInteger)
    held_fen: int = Field(default=0, sa_type=BigInteger)


class PaygResource(SQLModel, table=True):
    """A pay-as-you-go resource; while one is live or recently released, R11 reserves 100."""

    __tablename__ = "payg_resource"

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(sa_column_args=[_account_fk()], index=True, max_length=64)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RechargeOrder(SQLModel, table=True):
    """A recharge (R5): what withdrawals took (``withdrawn_fen``) or hold (``held_fen``)."""

    __tablename__ = "recharge_order"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_recharge_order_amount_positive"),
        *_not_negative("recharge_order", "withdrawn_fen", "held_fen"),
        CheckConstraint(
            "withdrawn_fen + held_fen <= amount_fen", name="ck_recharge_order_not_overdrawn"
        ),
        _one_of("channel", [c.value for c in Channel], "ck_recharge_order_channel"),
    )

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(sa_column_args=[_account_fk()], index=True, max_length=64)
    amount_fen: int = Field(sa_type=BigInteger)
    channel: Channel = Field(sa_type=EnumText(Channel, 32))
    bank: str | None = Field(default=None, max_length=16)
    paid_at: datetime = Field(sa_type=UTCDateTime)
    withdrawn_fen: int = Field(default=0, sa_type=BigInteger)
    held_fen: int = Field(default=0, sa_type=BigInteger)


class Reviewer(SQLModel, table=True):
    """Someone who may approve or reject a withdrawal under review (R17)."""

    __tablename__ = "reviewer"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    role: str = Field(default="reviewer", max_length=32)
    # A slow salted hash (``models.passwords``); None: the reviewer cannot sign in.
    password_hash: str | None = Field(default=None, max_length=256)
    # Ties the reviewer to accounts under the same real name (R17): never theirs to decide.
    identity_id: str | None = Field(default=None, max_length=64)
    failed_logins: int = 0  # failures in a row; five lock the reviewer (``locked_until``)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # ``reviewers disable``: no sign-in, console sessions end, decisions not yet weighed
    # are refused. ``load`` never changes it (``ledger.reviewers``).
    enabled: bool = True
    # When the password was last set by ``reviewers add``/``reset-password``: a console
    # session signed in before it ends (the old password may be someone else's now).
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Withdrawal(SQLModel, table=True):
    """The withdrawal record users list (R18, R20).

    ``account_id`` has no foreign key on purpose: a request for an unknown account is
    still recorded with the reason it was refused.
    """

    __tablename__ = "withdrawal"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_withdrawal_amount_positive"),
        _one_of("status", [s.value for s in Status], "ck_withdrawal_status"),
        _one_of("kind", [k.value for k in Kind], "ck_withdrawal_kind"),
        _one_of("route", [r.value for r in Route], "ck_withdrawal_route"),
    )

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(index=True, max_length=64)
    kind: Kind = Field(sa_type=EnumText(Kind, 16))
    route: Route = Field(sa_type=EnumText(Route, 16))
    order_id: str | None = Field(default=None, max_length=64)
    amount_fen: int = Field(sa_type=BigInteger)
    status: Status = Field(sa_type=EnumText(Status, 32), index=True)
    reason: str | None = Field(default=None, sa_type=Text)  # why rejected, failed or refused
    designated_reason: DesignatedReason | None = Field(
        default=None, sa_type=EnumText(DesignatedReason, 32)
    )  # R9
    payee_json: str | None = Field(default=None, sa_type=Text)  # personal data: DB only
    payee_masked: str | None = Field(default=None, max_length=32)
    proofs_json: str = Field(default="[]", sa_type=Text)
    requested_by: str | None = Field(default=None, max_length=64)  # R2
    review_required: bool = False
    review_overdue: bool = False
    provider_reference: str | None = Field(default=None, max_length=128)
    # The payout's outcome is unknown (retries ran out, the provider knows no transfer):
    # the money stays held until the provider answers or ops resolve it.
    payout_unknown: bool = Field(default=False, index=True)
    # What ``open_withdrawal`` answered the first time, so a retried open answers the
    # same instead of re-running checks that may refuse while the money is frozen.
    opened_json: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WithdrawalEvent(SQLModel, table=True):
    """One step of a withdrawal's timeline; rows are only ever appended."""

    __tablename__ = "withdrawal_event"
    __table_args__ = (_one_of("status", [s.value for s in Status], "ck_withdrawal_event_status"),)

    id: int | None = Field(default=None, primary_key=True)
    withdrawal_id: str = Field(
        sa_column_args=[ForeignKey("withdrawal.id")], index=True, max_length=64
    )
    at: datetime = Field(sa_type=UTCDateTime)
    status: Status = Field(sa_type=EnumText(Status, 32))
    note: str = Field(default="", sa_type=Text)


class Hold(SQLModel, table=True):
    """Money frozen for one withdrawal (R12 *beyond*, R14); the withdrawal id is the key."""

    __tablename__ = "hold"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_hold_amount_positive"),
        _one_of("state", [s.value for s in HoldState], "ck_hold_state"),
    )

    withdrawal_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(sa_column_args=[_account_fk()], index=True, max_length=64)
    order_id: str | None = Field(
        default=None, sa_column_args=[ForeignKey("recharge_order.id")], max_length=64
    )
    amount_fen: int = Field(sa_type=BigInteger)
    state: HoldState = Field(default=HoldState.HELD, sa_type=EnumText(HoldState, 16))
    created_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """An immutable transaction detail (R20); a correction is a new entry, never an edit."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_ledger_entry_amount_positive"),
        CheckConstraint("balance_after_fen >= 0", name="ck_ledger_entry_balance_not_negative"),
        _one_of("direction", [d.value for d in Direction], "ck_ledger_entry_direction"),
        # A withdrawal moves money once: posting twice must fail here if anywhere.
        UniqueConstraint("withdrawal_id", "type", name="uq_ledger_entry_withdrawal_type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(sa_column_args=[_account_fk()], index=True, max_length=64)
    withdrawal_id: str | None = Field(default=None, max_length=64)
    type: str = Field(max_length=32)
    direction: str = Field(max_length=8)
    amount_fen: int = Field(sa_type=BigInteger)
    balance_after_fen: int = Field(sa_type=BigInteger)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    note: str = Field(default="", sa_type=Text)


class VerificationCode(SQLModel, table=True):
    """R15: the current code of a withdrawal, stored only as a hash."""

    __tablename__ = "verification_code"
    __table_args__ = (CheckConstraint("send_count >= 0", name="ck_verification_code_sends"),)

    withdrawal_id: str = Field(primary_key=True, max_length=64)
    code_hash: str = Field(max_length=256)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    send_count: int = 0
    used: bool = False
    attempts: int = 0  # codes checked against this row, right or wrong (R15 attempt limit)


class ReviewDecisionRecord(SQLModel, table=True):
    """One approve/reject signal as the workflow weighed it (R17): who, when, why, and
    whether it counted. ``sequence`` is the workflow's count of decisions before this
    one, so a retried activity finds its row instead of writing a second."""

    __tablename__ = "review_decision"
    __table_args__ = (
        UniqueConstraint("withdrawal_id", "sequence", name="uq_review_decision_sequence"),
        _one_of("decision", ["approve", "reject"], "ck_review_decision_decision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    withdrawal_id: str = Field(
        sa_column_args=[ForeignKey("withdrawal.id")], index=True, max_length=64
    )
    sequence: int
    reviewer_id: str = Field(max_length=64)
    role: str | None = Field(default=None, max_length=32)
    decision: str = Field(max_length=16)
    accepted: bool
    why: str = Field(default="", sa_type=Text)  # why it counted or was ignored
    comment: str = Field(default="", sa_type=Text)  # the reviewer's reason
    at: datetime = Field(sa_type=UTCDateTime)


class SpentProofNonce(SQLModel, table=True):
    """A decision proof's nonce, spent once (``models.decision_proof``): a replayed
    proof, even for the same withdrawal, never counts twice."""

    __tablename__ = "spent_proof_nonce"

    nonce: str = Field(primary_key=True, max_length=64)
    withdrawal_id: str = Field(max_length=64)
    reviewer_id: str = Field(max_length=64)
    decision: str = Field(max_length=16)
    spent_at: datetime = Field(sa_type=UTCDateTime)


class CallbackReceipt(SQLModel, table=True):
    """A payout callback's ``webhook-id``, remembered so a replay is refused (401) even
    after the receiver restarts."""

    __tablename__ = "callback_receipt"

    webhook_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


class CallbackForwarding(SQLModel, table=True):
    """How many payout callbacks the receiver forwarded to a withdrawal's workflow, and
    how many it held back past ``MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL``: each one
    forwarded is a signal in the workflow's history, so their number is bounded here,
    across restarts and receivers (``callbacks.forwarding``)."""

    __tablename__ = "callback_forwarding"
    __table_args__ = (
        CheckConstraint("forwarded >= 0", name="ck_callback_forwarding_forwarded"),
        CheckConstraint("held_back >= 0", name="ck_callback_forwarding_held_back"),
    )

    withdrawal_id: str = Field(primary_key=True, max_length=64)
    forwarded: int = Field(default=0)
    held_back: int = Field(default=0)


class AuditEntry(SQLModel, table=True):
    """Append-only, hash-chained audit log (see ``ledger.audit``).

    One chain per subject (``chain``, usually a withdrawal id): ``chain_seq`` counts
    from 1 without gaps inside the chain, and ``hash`` is SHA-256 over the row's
    canonical form, which includes ``prev_hash``, the hash of the chain's previous row.
    A unique ``(chain, chain_seq)`` means a chain cannot fork; triggers refuse UPDATE
    and DELETE. ``seq`` only orders rows across chains (a sequence on PostgreSQL, so
    writers of different chains never wait for each other).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("chain", "chain_seq", name="uq_audit_log_chain_seq"),
        UniqueConstraint("hash", name="uq_audit_log_hash"),
        CheckConstraint("seq > 0", name="ck_audit_log_seq_positive"),
        CheckConstraint("chain_seq > 0", name="ck_audit_log_chain_seq_positive"),
    )

    seq: int = Field(
        primary_key=True,
        sa_type=BigInteger,
        sa_column_kwargs={"autoincrement": False, "server_default": FetchedValue()},
    )
    chain: str = Field(max_length=64)
    chain_seq: int = Field(sa_type=BigInteger)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    subject: str | None = Field(default=None, index=True, max_length=64)
    outcome: str = Field(max_length=32)
    detail: str = Field(default="", sa_type=Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditAnchor(SQLModel, table=True):
    """A periodic anchor over the audit chains' heads (see ``ledger.audit.anchor``).

    Anchors form a chain of their own: ``hash`` covers ``id``, ``at``, ``prev_hash`` and
    the digest of the heads recorded with it in ``audit_anchor_head`` (only the chains
    that grew since the anchor before). Append-only like the log.
    """

    __tablename__ = "audit_anchor"
    __table_args__ = (
        UniqueConstraint("hash", name="uq_audit_anchor_hash"),
        CheckConstraint("id > 0", name="ck_audit_anchor_id_positive"),
    )

    id: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    heads: int
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditAnchorHead(SQLModel, table=True):
    """One chain's head as an anchor saw it: the row it ended with and that row's hash."""

    __tablename__ = "audit_anchor_head"

    anchor_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_args=[ForeignKey("audit_anchor.id")]
    )
    chain: str = Field(primary_key=True, max_length=64, index=True)
    chain_seq: int = Field(sa_type=BigInteger)
    hash: str = Field(max_length=64)


class PayoutResolution(SQLModel, table=True):
    """An ops decision on a payout whose outcome is unknown (``resolve-payout``).

    One row per reviewer and outcome: the same reviewer resolving again changes nothing.
    ``paid`` ends it at once (the hold is posted with the reference); ``not_paid``
    releases money only once a second, different reviewer recorded ``not_paid`` too.
    """

    __tablename__ = "payout_resolution"
    __table_args__ = (
        UniqueConstraint(
            "withdrawal_id", "reviewer_id", "outcome", name="uq_payout_resolution_reviewer"
        ),
        _one_of("outcome", ["paid", "not_paid"], "ck_payout_resolution_outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    withdrawal_id: str = Field(
        sa_column_args=[ForeignKey("withdrawal.id")], index=True, max_length=64
    )
    reviewer_id: str = Field(max_length=64)
    role: str = Field(max_length=32)
    outcome: str = Field(max_length=16)
    reference: str | None = Field(default=None, max_length=128)
    evidence: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)


class WithdrawalReturn(SQLModel, table=True):
    """The provider's return of a paid withdrawal (issue 25): one per withdrawal (the
    key), credited once in the transaction that writes it, or parked for two ops."""

    __tablename__ = "withdrawal_return"
    __table_args__ = (
        CheckConstraint("returned_fen > 0", name="ck_withdrawal_return_amount_positive"),
        CheckConstraint("credited_fen >= 0", name="ck_withdrawal_return_credited_not_negative"),
        _one_of("state", [s.value for s in ReturnState], "ck_withdrawal_return_state"),
    )

    withdrawal_id: str = Field(
        primary_key=True, sa_column_args=[ForeignKey("withdrawal.id")], max_length=64
    )
    state: ReturnState = Field(sa_type=EnumText(ReturnState, 16), index=True)
    returned_fen: int = Field(sa_type=BigInteger)  # what the provider says came back
    credited_fen: int = Field(default=0, sa_type=BigInteger)  # what the balance got back
    reason: str = Field(max_length=32)  # gateways.payout.ReturnReason
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # provider's time
    provider_reference: str | None = Field(default=None, max_length=128)
    problem: str | None = Field(default=None, sa_type=Text)  # why it was parked
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    credited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReturnCreditApproval(SQLModel, table=True):
    """An ops reviewer's approval to credit a parked return (``credit-return``); the
    credit happens when two different reviewers approved the same amount."""

    __tablename__ = "return_credit_approval"
    __table_args__ = (
        UniqueConstraint("withdrawal_id", "reviewer_id", name="uq_return_credit_approval"),
        CheckConstraint("amount_fen > 0", name="ck_return_credit_approval_amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    withdrawal_id: str = Field(
        sa_column_args=[ForeignKey("withdrawal_return.withdrawal_id")], index=True, max_length=64
    )
    reviewer_id: str = Field(max_length=64)
    role: str = Field(max_length=32)
    amount_fen: int = Field(sa_type=BigInteger)
    evidence: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)


class WebhookEvent(SQLModel, table=True):
    """A status change to announce (the outbox): written in the transaction that records
    the change, so no change is lost and none is announced that did not commit.

    ``body`` is the exact JSON posted on every attempt; ``sequence`` counts a
    withdrawal's events from 1; ``dispatched_at`` is set once deliveries are under way.
    """

    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("withdrawal_id", "sequence", name="uq_webhook_event_sequence"),
        CheckConstraint("sequence > 0", name="ck_webhook_event_sequence_positive"),
    )

    id: str = Field(primary_key=True, max_length=96)
    withdrawal_id: str = Field(index=True, max_length=64)
    sequence: int
    type: str = Field(max_length=64)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class WebhookDeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the retry window


class WebhookDelivery(SQLModel, table=True):
    """One event to one URL: its attempts, the last error, and how it ended."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        _one_of("state", [s.value for s in WebhookDeliveryState], "ck_webhook_delivery_state"),
        CheckConstraint("attempts >= 0", name="ck_webhook_delivery_attempts"),
    )

    event_id: str = Field(
        primary_key=True, sa_column_args=[ForeignKey("webhook_event.id")], max_length=96
    )
    url: str = Field(primary_key=True, max_length=500)
    state: str = Field(default=WebhookDeliveryState.PENDING.value, max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
