"""A ``returned`` payout callback starts the withdrawal's return workflow (issue 25).

Like every callback it is only a hint: the return workflow confirms the return with the
provider's own record before money moves, and a second start of the same return is
refused by Temporal and taken as done (``client.returns``)."""

from __future__ import annotations

import logging

from temporalio.client import Client

from client.returns import start_return
from config import settings
from gateways.payout import Transfer, TransferState

log = logging.getLogger("callbacks.returns")


async def start_return_on_callback(client: Client, transfer: Transfer) -> None:
    if transfer.state is not TransferState.RETURNED:
        return
    started = await start_return(
        client, settings.task_queue(), transfer.idempotency_key, "callback"
    )
    log.info(
        "returned callback -> return of withdrawal %s %s",
        transfer.idempotency_key,
        "started" if started else "already started",
    )
