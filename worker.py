"""The withdrawal worker: runs ``WithdrawalWorkflow`` and its activities.

Connection and task queue come from the environment (CONTRACT.md); SIGTERM and
SIGINT shut it down gracefully, letting running activities finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.withdrawal import WithdrawalActivities
from gateways.http_payout import payout_provider_from_env
from gateways.http_sms import sms_provider_from_env
from ledger.db import get_engine
from service import settings
from service.temporal_client import connect
from workflows.withdrawal import WithdrawalWorkflow

# Every open withdrawal must stay cached, or each task replays its whole history.
MAX_CACHED_WORKFLOWS = 10_000
MAX_CONCURRENT_ACTIVITIES = 200
GRACEFUL_SHUTDOWN_SECONDS = 30


def build_worker(
    client: Client, activities: WithdrawalActivities, task_queue: str | None = None
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue(),
        workflows=[WithdrawalWorkflow],
        activities=[
            activities.open_withdrawal,
            activities.send_code,
            activities.check_code,
            activities.check_reviewer,
            activities.record_status,
            activities.submit_payout,
            activities.check_payout,
            activities.settle,
        ],
        max_cached_workflows=MAX_CACHED_WORKFLOWS,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=timedelta(seconds=GRACEFUL_SHUTDOWN_SECONDS),
    )


def activities_from_env() -> WithdrawalActivities:
    return WithdrawalActivities(
        get_engine(),
        payout_provider_from_env(),
        sms_provider_from_env(),
        settings.code_key(),
        callback_url=settings.payout_callback_url(),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    client = await connect()
    worker = build_worker(client, activities_from_env())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logging.info("worker polling task queue %s", settings.task_queue())
        await stop.wait()
        logging.info("shutting down: finishing running activities")


if __name__ == "__main__":
    asyncio.run(main())
