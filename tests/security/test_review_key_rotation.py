"""Issue 26 item 1 (proofs): ``REVIEW_VERIFY_KEY`` rotates without downtime.

The workers are redeployed with the list ``old,new`` while withdrawals are in review; the
signing side then switches ``REVIEW_SIGNING_KEY`` to the new key. A proof signed with the
old key before the switch still counts after it, proofs signed with the new key count on
withdrawals that had only ever seen the old one (the workflow loads keys it does not
know, ``kid`` in the proof's header), and nothing in flight is refused.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from application.reviews import (
    AuthenticatedReviewer,
    authenticate,
    cancel_as_reviewer,
    issue_decision_proof,
    send_decision,
)
from config import settings
from models import decision_proof
from models.domain import Kind, Route, Status
from models.limits import REVIEW_KEYS_REFRESH_FIRST_SECONDS
from models.messages import RecordedDecision, ReviewDecisionKind
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.workflows.harness import Stack, bank_payee
from tests.workflows.keys import review_signing_key
from tests.workflows.stacks import (
    FOUR_EYES_TEST_THRESHOLD,
    HISTORIES,
    TEST_CODE_KEY,
    workerless_fake_stack,
)
from worker import build_worker

APPROVE = ReviewDecisionKind.APPROVE
# The key rotated to: fixed, like the old one, so saved histories stay readable.
NEW_SIGNING_KEY = decision_proof.private_key_from_text(
    "bmV3LXJldmlldy1zaWduaW5nLWtleS0zMi1ieXRlcyE="
)
OLD_SIGNING_KEY = review_signing_key()


def test_review_verify_key_takes_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = OLD_SIGNING_KEY.public_key(), NEW_SIGNING_KEY.public_key()
    listed = f"{decision_proof.public_key_text(old)}, {decision_proof.public_key_text(new)}"
    monkeypatch.setenv("REVIEW_VERIFY_KEY", listed)
    keys = settings.review_verify_keys()
    assert [decision_proof.key_id(k) for k in keys] == [
        decision_proof.key_id(old),
        decision_proof.key_id(new),
    ]
    claims = decision_proof.DecisionClaims(
        wid="w-1", rid="rev-1", dec="approve", cmt="0" * 64, iat=0, nonce="a" * 32
    )
    for signer in (OLD_SIGNING_KEY, NEW_SIGNING_KEY):  # either listed key verifies
        assert decision_proof.verify(decision_proof.sign(claims, signer), keys) == claims
    with pytest.raises(decision_proof.ProofError, match="does not list"):
        decision_proof.verify(decision_proof.sign(claims, NEW_SIGNING_KEY), keys[:1])


def _activities(
    stack: Stack, payout: FakePayoutProvider, sms: FakeSmsProvider, keys: list[Ed25519PublicKey]
) -> WithdrawalActivities:
    return WithdrawalActivities(
        stack.engine,
        payout,
        sms,
        TEST_CODE_KEY,
        four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD,
        review_verify_key=keys,
    )


async def _in_review(stack: Stack, account_id: str, amount: str) -> str:
    wid = await stack.start(
        account_id=account_id,
        amount=amount,  # above the test threshold (500.00): two people approve
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=bank_payee(),
    )
    await stack.verify(wid, account_id)
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    return wid


async def test_a_rotated_review_key_keeps_every_proof_in_flight(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = time_skipping_env
    stack, payout, sms = workerless_fake_stack(env, tmp_path)
    task_queue = stack.client.task_queue
    old, new = OLD_SIGNING_KEY.public_key(), NEW_SIGNING_KEY.public_key()

    def signed_in(reviewer_id: str) -> AuthenticatedReviewer:
        return authenticate(stack.engine, reviewer_id, stack.passwords[reviewer_id])

    async def approve_with_new_key(wid: str) -> RecordedDecision | None:
        reviewer, now = signed_in("rev-2"), await stack.workflow_now()
        return await send_decision(
            stack.client, reviewer, wid, APPROVE, "agreed", signing_key=NEW_SIGNING_KEY, now=now
        )

    try:
        # Before: workers verify with the old key only, reviewers sign with it.
        # no sticky queue: the next task goes to the redeployed worker
        before = _activities(stack, payout, sms, [old])
        async with build_worker(env.client, before, task_queue, max_cached_workflows=0):
            first = await _in_review(stack, "acct-ent", "510.00")
            second = await _in_review(stack, "acct-auto", "501.00")
            approved = await stack.approve(first, "rev-1", "checked")  # signed with the old key
            assert approved is not None and approved.accepted
            # issued and sent before the switch, weighed by the new workers
            in_flight = issue_decision_proof(
                signed_in("rev-1"),
                second,
                APPROVE,
                "checked",
                signing_key=OLD_SIGNING_KEY,
                now=await stack.workflow_now(),
            )
        # Rotate: workers get "old,new"; then the signing side switches to the new key.
        async with build_worker(
            env.client, _activities(stack, payout, sms, [old, new]), task_queue
        ):
            weighed = await stack.client.decide(
                second, APPROVE, "rev-1", "checked", proof=in_flight
            )
            assert weighed is not None and weighed.accepted, weighed

            # ``first`` loaded only the old key: the new key id makes it load again, once
            # its refresh interval has passed (the proof waits meanwhile, never refused).
            sending = asyncio.create_task(approve_with_new_key(first))
            await env.sleep(timedelta(seconds=REVIEW_KEYS_REFRESH_FIRST_SECONDS + 1))
            recorded: RecordedDecision | None = await sending
            assert recorded is not None and recorded.accepted, recorded
            again = await approve_with_new_key(second)
            assert again is not None and again.accepted, again
            for wid in (first, second):
                assert (await stack.client.result(wid)).status is Status.SUCCEEDED
                assert payout.moved_count(wid) == 1

            # An ops cancel signed with the new key, on a run that has loaded no key yet.
            third = await stack.start(account_id="acct-auto", amount="20.00")
            await stack.wait_status(third, Status.AWAITING_CODE)
            doc = await cancel_as_reviewer(
                stack.client,
                signed_in("rev-ops"),
                third,
                signing_key=NEW_SIGNING_KEY,
                now=await stack.workflow_now(),
                engine=stack.engine,
            )
            assert doc.status is Status.CANCELLED
        if os.environ.get("SAVE_HISTORIES"):
            await stack.save_histories(
                HISTORIES, "test_a_rotated_review_key_keeps_every_proof_in_flight"
            )
    finally:
        await stack.terminate_leftovers()
