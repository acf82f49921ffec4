"""Rotating ``WEBHOOK_SECRET`` without refusing anything in flight (issue 26, item 1).

While old and new secrets are both listed, every attempt carries one signature per
secret (space-separated ``webhook-signature``, as Standard Webhooks allows), so a
receiver holding only the old secret and one holding only the new both accept the same
delivery, checked with the ``standardwebhooks`` package. A delivery whose first attempt
was signed with the old secret alone is retried under both, and only once the old secret
is retired does its receiver refuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhooks import WebhookActivities
from gateways.webhooks import WebhookSecretError, new_secret, secret_keys
from ledger.db import dispose_engine, get_engine
from models.webhooks import WebhookTarget
from tests.support.ports import free_port
from tests.webhooks.receiver import Attempt, Receiver, stored_event


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    yield get_engine(url)
    dispose_engine(url)


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    """A backend still on the old secret (its first answer a 500: a delivery in flight)
    and one already on the new."""
    old = Receiver(secret=new_secret(), port=free_port(), fail_first=1)
    new = Receiver(secret=new_secret(), port=free_port())
    old.start()
    new.start()
    yield old, new
    old.stop()
    new.stop()


async def _deliver(engine: Engine, webhook_secret: str, event_id: str, url: str) -> bool:
    """One attempt by a worker configured with ``WEBHOOK_SECRET=webhook_secret``."""
    async with httpx.AsyncClient(timeout=5) as http:
        activities = WebhookActivities(engine, secret_keys(webhook_secret), http)
        try:
            await ActivityEnvironment().run(
                activities.deliver_webhook, WebhookTarget(event_id=event_id, url=url)
            )
        except ApplicationError:
            return False
    return True


def _verifies(secret: str, attempt: Attempt) -> bool:
    headers = {
        "webhook-id": attempt.id,
        "webhook-timestamp": str(attempt.timestamp),
        "webhook-signature": attempt.signature,
    }
    try:
        Webhook(secret).verify(attempt.body, headers)
    except Exception:
        return False
    return True


@pytest.mark.asyncio
async def test_old_and_new_secret_receivers_both_accept_while_both_are_listed(
    engine: Engine, receivers: tuple[Receiver, Receiver]
) -> None:
    old, new = receivers
    event_id = stored_event(engine)
    # Before the rotation: one secret; the old-secret backend answers 500 (in flight).
    assert not await _deliver(engine, old.secret, event_id, old.url)
    assert [a.verified for a in old.attempts] == [True]
    assert " " not in old.attempts[0].signature  # one secret, one signature

    # Rotation: workers restart with "new,old"; the retry carries both signatures.
    both = f"{new.secret}, {old.secret}"
    assert await _deliver(engine, both, event_id, old.url)
    assert await _deliver(engine, both, event_id, new.url)
    retry, first_at_new = old.attempts[1], new.attempts[0]
    assert (retry.answered, first_at_new.answered) == (200, 200)
    assert len(retry.signature.split(" ")) == 2
    # The very same attempt verifies under either secret alone.
    assert _verifies(old.secret, retry) and _verifies(new.secret, retry)
    assert retry.id == first_at_new.id == event_id and retry.body == first_at_new.body


@pytest.mark.asyncio
async def test_after_the_old_secret_is_retired_only_the_new_one_verifies(
    engine: Engine, receivers: tuple[Receiver, Receiver]
) -> None:
    old, new = receivers
    old.fail_first = 0
    event_id = stored_event(engine)
    assert await _deliver(engine, new.secret, event_id, new.url)
    assert not await _deliver(engine, new.secret, event_id, old.url)  # 401: retire last
    assert [a.answered for a in old.attempts] == [401]
    assert " " not in new.attempts[0].signature


def test_a_malformed_secret_anywhere_in_the_list_is_refused_at_start() -> None:
    good = new_secret()
    assert secret_keys(f" {good} ,") == secret_keys(good)  # blanks and spaces ignored
    with pytest.raises(WebhookSecretError, match="WEBHOOK_SECRET"):
        secret_keys(f"{good},whsec_not-base64!")
    with pytest.raises(WebhookSecretError, match="no secret"):
        secret_keys(" , ")
