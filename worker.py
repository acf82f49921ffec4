"""The withdrawal worker: runs ``WithdrawalWorkflow`` and its activities.

Connection and task queue come from the environment (CONTRACT.md); SIGTERM and
SIGINT shut it down gracefully, letting running activities finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import TypedDict

import httpx
from temporalio.client import Client
from temporalio.worker import PollerBehavior, PollerBehaviorSimpleMaximum, Worker

from activities.withdrawal import WithdrawalActivities
from gateways.http_common import DEFAULT_TIMEOUT, new_client
from gateways.http_payout import payout_provider_from_env
from gateways.http_sms import sms_provider_from_env
from ledger.db import get_engine
from service import settings
from service.log_filter import install_personal_data_filter
from service.temporal_client import connect
from workflows.withdrawal import WithdrawalWorkflow

# Every open withdrawal must stay cached, or each task replays its whole history
# (bench/: throughput halves). Open withdrawals ≈ rate × longest open time.
MAX_CACHED_WORKFLOWS = 10_000
MAX_CONCURRENT_ACTIVITIES = 200
# On two cores the dev server, not this worker, saturates first; a few more pollers than
# the SDK's 5 keep a poll always waiting at the server, so no task sits in its queue.
WORKFLOW_TASK_POLLERS = 8
ACTIVITY_TASK_POLLERS = 8
# Eager dispatch: an activity scheduled by a workflow task starts here at once, with no
# round trip through the task queue (the benchmark measured -15 to -20 % without it).
MAX_EAGER_ACTIVITIES_PER_WORKFLOW_TASK = 3
GRACEFUL_SHUTDOWN_SECONDS = 30


class WorkerTuning(TypedDict):
    """Worker options measured by ``bench/`` (README, Performance); the baseline uses them."""

    max_cached_workflows: int
    max_concurrent_activities: int
    workflow_task_poller_behavior: PollerBehavior
    activity_task_poller_behavior: PollerBehavior
    disable_eager_activity_execution: bool
    max_eager_activity_reservations_per_workflow_task: int
    graceful_shutdown_timeout: timedelta


TUNING = WorkerTuning(
    max_cached_workflows=MAX_CACHED_WORKFLOWS,
    max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
    workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(WORKFLOW_TASK_POLLERS),
    activity_task_poller_behavior=PollerBehaviorSimpleMaximum(ACTIVITY_TASK_POLLERS),
    disable_eager_activity_execution=False,
    max_eager_activity_reservations_per_workflow_task=MAX_EAGER_ACTIVITIES_PER_WORKFLOW_TASK,
    graceful_shutdown_timeout=timedelta(seconds=GRACEFUL_SHUTDOWN_SECONDS),
)


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
            activities.review_decision,
            activities.authorize_cancel,
            activities.record_status,
            activities.submit_payout,
            activities.check_payout,
            activities.settle,
        ],
        **TUNING,
    )


def activities_from_env(http: httpx.AsyncClient | None = None) -> WithdrawalActivities:
    """``http`` pools provider connections for the worker's life (its event loop)."""
    return WithdrawalActivities(
        get_engine(),
        payout_provider_from_env(client=http),
        sms_provider_from_env(client=http),
        settings.code_key(),
        callback_url=settings.payout_callback_url(),
        review_verify_key=settings.review_verify_key(),  # the public key only
        four_eyes_threshold=settings.four_eyes_threshold(),  # FOUR_EYES_THRESHOLD
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    install_personal_data_filter()
    # Production: a missing key stops the worker here, before it takes any task.
    settings.check_production_secrets(settings.code_key, settings.review_verify_key)
    client = await connect()
    async with new_client(DEFAULT_TIMEOUT) as http:
        worker = build_worker(client, activities_from_env(http))
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
