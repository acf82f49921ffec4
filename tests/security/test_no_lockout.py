"""Issue 22 item 5: no lock-out by refused input. Refused cancels and forged decisions
never use up the room that authorised ones need (R2, R17, R18, R19).

- Forged proofs name real reviewer ids, so no per-reviewer quota can tell them apart:
  the workflow checks the signature itself, before a decision takes any room.
- A cancel that is not authorised is refused by the update's validator (no history) and
  audited by the application layer; nothing counts refusals any more.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Sequence
from functools import partial

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowUpdateFailedError

from application import withdrawals
from application.reviews import authenticate, cancel_as_reviewer, issue_decision_proof
from ledger import audit
from ledger.tables import HoldState
from models import decision_proof
from models.domain import DesignatedReason, Kind, Route, Status
from models.errors import RuleRefusal
from models.limits import (
    MAX_CANCEL_REFUSALS,
    MAX_PROOFS_AWAITING_KEYS,
    MAX_REFUSED_DECISIONS_RECORDED,
    MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON,
)
from models.messages import ReviewDecision
from standins.fakes import FakePayoutProvider
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack, bank_payee
from tests.workflows.keys import review_signing_key, review_verify_key
from workflows.withdrawal import WithdrawalWorkflow

FORGED_PROOFS = 200
REFUSED_CANCELS = 20
PROOF_REPLAYS = 30
FRESH_REVIEWER_CANCELS = 10
ATTACKER_KEY = Ed25519PrivateKey.generate()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_proof(
    withdrawal_id: str, reviewer_id: str, decision: str, comment: str, iat: int, kid: str | None
) -> str:
    """A well-formed proof with correct claims and a fresh nonce, signed with a key no
    worker lists; ``kid`` None is the format issued before proofs named their key."""
    header = {**decision_proof.HEADER, **({"kid": kid} if kid else {})}
    claims = decision_proof.DecisionClaims(
        wid=withdrawal_id,
        rid=reviewer_id,
        dec=decision,
        cmt=decision_proof.comment_digest(comment),
        iat=iat,
        nonce=secrets.token_hex(16),
    )
    signing_input = (
        f"{_b64(json.dumps(header, separators=(',', ':')).encode())}."
        f"{_b64(claims.model_dump_json().encode())}"
    )
    return f"{signing_input}.{_b64(ATTACKER_KEY.sign(signing_input.encode()))}"


def kid_for(index: int) -> str | None:
    """Most forgeries in today's format; some name the real key, some a made-up one."""
    if index % 8 == 0:
        return decision_proof.key_id(review_verify_key())
    if index % 8 == 1:
        return _b64(secrets.token_bytes(32))  # 43 characters, like a real thumbprint
    return None


def history_counts(events: Sequence[HistoryEvent]) -> tuple[int, int, int]:
    """(review_decision activities, key loads, accepted updates)."""
    weighed = sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == "review_decision"
        for e in events
    )
    # a local activity's marker before "review-keys-loaded-by-activity", an activity since
    loads = sum(
        (
            e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
            and b"review_verify_keys" in e.marker_recorded_event_attributes.SerializeToString()
        )
        or e.activity_task_scheduled_event_attributes.activity_type.name == "review_verify_keys"
        for e in events
    )
    updates = sum(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in events
    )
    return weighed, loads, updates


async def test_200_forged_well_formed_proofs_then_two_real_approvals_pay(
    fake_stack: Stack,
) -> None:
    """Correct claims naming the real reviewers, fresh nonces, invalid signatures: on
    main they filled the verification queue and the verified count, and the two real
    approvals that four-eyes needs were refused ("50 signed decisions already weighed")."""
    stack = fake_stack
    wid = await stack.start(
        account_id="acct-ent",
        amount="700.00",  # above the test threshold (500.00): two people must approve
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=bank_payee(),
    )
    await stack.verify(wid, "acct-ent")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    handle = workflow_handle(stack.client.temporal, wid)
    iat = int((await stack.workflow_now()).timestamp())
    forgeries = [
        ReviewDecision(
            reviewer_id=("rev-1", "rev-2")[i % 2],
            comment="ok",
            proof=forged_proof(wid, ("rev-1", "rev-2")[i % 2], "approve", "ok", iat, kid_for(i)),
        )
        for i in range(FORGED_PROOFS)
    ]
    for start in range(0, FORGED_PROOFS, 50):
        await asyncio.gather(
            *(handle.signal(WithdrawalWorkflow.approve, f) for f in forgeries[start : start + 50])
        )

    first = await stack.approve(wid, "rev-1", "the real one")
    second = await stack.approve(wid, "rev-2", "agreed")
    assert first is not None and first.accepted, first
    assert second is not None and second.accepted, second
    doc = await stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED and doc.approvals == ["rev-1", "rev-2"]
    assert isinstance(stack.payout, FakePayoutProvider) and stack.payout.moved_count(wid) == 1

    events = (await handle.fetch_history()).events
    weighed, loads, _ = history_counts(events)
    assert len(events) < FORGED_PROOFS + 200  # the signals, and a run's worth more
    assert weighed == MAX_REFUSED_DECISIONS_RECORDED + 2  # the recorded few and the real two
    # The first proof loads the keys; made-up key ids cost a load at most per refresh
    # interval or per MAX_PROOFS_AWAITING_KEYS proofs waiting, never one each.
    assert 1 <= loads <= 1 + FORGED_PROOFS // MAX_PROOFS_AWAITING_KEYS
    # Forgeries naming a made-up key may still wait for a load when the review ends (they
    # are refused then): the summary counts those refused by that time.
    notes = " ".join(entry.note for entry in doc.timeline)
    assert "more decisions without a valid proof refused" in notes


async def assert_ops_cancel_works(stack: Stack, wid: str) -> None:
    """The authenticated ops cancel goes through and the money comes back (R18, R19)."""
    ops = authenticate(stack.engine, "rev-ops", stack.passwords["rev-ops"])
    doc = await cancel_as_reviewer(
        stack.client,
        ops,
        wid,
        signing_key=review_signing_key(),
        now=await stack.workflow_now(),
        engine=stack.engine,
    )
    assert doc.status is Status.CANCELLED
    hold = stack.hold(wid)
    assert hold is not None and hold.state == HoldState.VOIDED.value  # R19


async def test_20_refused_cancels_then_an_ops_cancel_still_works(fake_stack: Stack) -> None:
    """On main the eleventh cancel, whoever sent it, was refused: ten strangers locked
    out the ops cancel (R2, R18). Now each refusal is the validator's (no history), audited
    by the application layer, and counts for nothing."""
    stack = fake_stack
    wid = await stack.start(amount="30.00")
    await stack.wait_status(wid, Status.AWAITING_CODE)
    now = await stack.workflow_now()
    for n in range(1, REFUSED_CANCELS + 1):
        with pytest.raises(RuleRefusal, match=r"R2: x\d+ is neither the applicant"):
            await withdrawals.cancel(stack.engine, stack.client, wid, by=f"x{n}")
    # and forged reviewer cancels: right claims, the real ops reviewer, no valid signature
    for kid in (None, decision_proof.key_id(review_verify_key())):
        proof = forged_proof(wid, "rev-ops", "cancel", "", int(now.timestamp()), kid)
        with pytest.raises(WorkflowUpdateFailedError) as forged:
            await withdrawals.audited_cancel(
                stack.engine,
                wid,
                "rev-ops",
                partial(stack.client.cancel, wid, reviewer_id="rev-ops", proof=proof),
            )
        assert "signature does not verify" in str(forged.value.cause)
    assert REFUSED_CANCELS + 2 > MAX_CANCEL_REFUSALS  # past the old limit

    await assert_ops_cancel_works(stack, wid)

    handle = workflow_handle(stack.client.temporal, wid)
    _, _, updates = history_counts((await handle.fetch_history()).events)
    # The first reviewer's cancel found no keys loaded: it was let through to load them
    # (one load, its refusal in history); every other refusal left no history.
    assert updates == 2
    with Session(stack.engine) as session:
        rows = [r for r in audit.entries(session, subject=wid) if r.action == "withdrawal.cancel"]
    refused = [(r.actor, r.outcome) for r in rows if r.outcome == "refused"]
    assert (
        refused
        == [(f"x{n}", "refused") for n in range(1, REFUSED_CANCELS + 1)]
        + [("rev-ops", "refused")] * 2
    )
    assert (rows[-1].actor, rows[-1].outcome) == ("rev-ops", "authorised")


def cancel_costs(events: Sequence[HistoryEvent]) -> tuple[int, int, int]:
    """(accepted updates, ``authorize_cancel`` activities, events other than workflow
    tasks: the time-skipping server logs an empty task even for a validator's refusal)."""
    _, _, updates = history_counts(events)
    authorised = sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == "authorize_cancel"
        for e in events
    )
    task_events = (
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    )
    return updates, authorised, sum(e.event_type not in task_events for e in events)


async def test_replayed_and_re_signed_refused_cancels_are_capped_then_ops_cancels(
    fake_stack: Stack,
) -> None:
    """Review finding 3 (issue 22, R18, R19): on main one signed cancel proof of a
    reviewer whose role may not cancel could be replayed without limit, each replay an
    accepted update and an ``authorize_cancel`` activity (30 replays: 26 -> 361 events),
    and fresh proofs signed by that person counted towards no cap. Now the proof's nonce
    is spent when the cancel is taken, so replays are refused by the validator (no
    update, no activity), and a person's refused signed cancels stop at
    ``MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON``; the ops cancel still works afterwards."""
    stack = fake_stack
    wid = await stack.start(amount="30.00")
    await stack.wait_status(wid, Status.AWAITING_CODE)
    handle = workflow_handle(stack.client.temporal, wid)
    reviewer = authenticate(stack.engine, "rev-1", stack.passwords["rev-1"])  # may not cancel

    async def cancel_by_reviewer(proof: str) -> str:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await stack.client.cancel(wid, reviewer_id="rev-1", proof=proof)
        return str(refused.value.cause)

    async def fresh_proof() -> str:
        now = await stack.workflow_now()
        return issue_decision_proof(
            reviewer, wid, decision_proof.CANCEL, signing_key=review_signing_key(), now=now
        )

    proof = await fresh_proof()
    assert "may not cancel" in await cancel_by_reviewer(proof)
    first = cancel_costs((await handle.fetch_history()).events)
    for _ in range(PROOF_REPLAYS):
        assert "proof already used" in await cancel_by_reviewer(proof)
    assert cancel_costs((await handle.fetch_history()).events) == first  # replays: nothing

    reasons = [await cancel_by_reviewer(await fresh_proof()) for _ in range(FRESH_REVIEWER_CANCELS)]
    capped = MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON - 1  # the first proof counted already
    assert all("may not cancel" in why for why in reasons[:capped]), reasons
    assert all("cancels by this person refused" in why for why in reasons[capped:]), reasons
    updates, authorised, _ = cancel_costs((await handle.fetch_history()).events)
    assert (updates, authorised) == (MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON,) * 2

    await assert_ops_cancel_works(stack, wid)


async def test_refused_cancels_leave_no_history_on_the_dev_server(sim_stack: Stack) -> None:
    """The validator's refusal writes nothing on a real server (its workflow task is
    speculative); the time-skipping test server above still logs an empty task for each."""
    stack = sim_stack
    wid = await stack.start(amount="25.00")
    await stack.wait_status(wid, Status.AWAITING_CODE)
    handle = workflow_handle(stack.client.temporal, wid)
    before = len((await handle.fetch_history()).events)
    for n in range(1, REFUSED_CANCELS + 1):
        with pytest.raises(RuleRefusal, match="neither the applicant"):
            await withdrawals.cancel(stack.engine, stack.client, wid, by=f"x{n}")
    assert len((await handle.fetch_history()).events) == before
    doc = await withdrawals.cancel(stack.engine, stack.client, wid)  # the applicant
    assert doc.status is Status.CANCELLED


async def test_made_up_key_ids_cost_a_load_per_fifty_waiting_not_one_each(
    fake_stack: Stack,
) -> None:
    """A proof naming a key the run does not know waits for the next load of the keys
    (never refused for it); forged key ids cannot make the workflow load once per proof."""
    stack = fake_stack
    wid = await stack.start(
        amount="200.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        payee=bank_payee(),
        reason=DesignatedReason.LIMIT_PASSED,
    )
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    handle = workflow_handle(stack.client.temporal, wid)
    iat = int((await stack.workflow_now()).timestamp())
    made_up = 2 * MAX_PROOFS_AWAITING_KEYS + 1
    for start in range(0, made_up, 50):
        await asyncio.gather(
            *(
                handle.signal(
                    WithdrawalWorkflow.approve,
                    ReviewDecision(
                        reviewer_id="rev-1",
                        comment="ok",
                        proof=forged_proof(
                            wid, "rev-1", "approve", "ok", iat, _b64(secrets.token_bytes(32))
                        ),
                    ),
                )
                for _ in range(start, min(start + 50, made_up))
            )
        )
    approved = await stack.approve(wid, "rev-2", "the real one")
    assert approved is not None and approved.accepted, approved
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED
    _, loads, _ = history_counts((await handle.fetch_history()).events)
    # the first proof's load, then at most one per MAX_PROOFS_AWAITING_KEYS waiting
    # proofs; since "review-keys-loaded-by-activity" the first load is a round trip, and
    # proofs that arrive while it is in flight are answered by it (1 load, not 101)
    assert 1 <= loads <= 1 + made_up // MAX_PROOFS_AWAITING_KEYS
