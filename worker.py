"""The withdrawal worker: runs ``WithdrawalWorkflow`` and its activities.

Connection and task queue come from the environment (docs/interface.md); SIGTERM and
SIGINT shut it down gracefully, letting running activities finish.
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import os
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

import httpx
from temporalio.client import Client
from temporalio.worker import PollerBehavior, PollerBehaviorSimpleMaximum, Worker

from activities.audit_anchor import AuditAnchorActivities
from activities.webhooks import WebhookActivities
from activities.withdrawal import WithdrawalActivities
from client.connection import connect
from client.schedules import ensure_anchor_schedule
from codec.encryption import KeyRing
from config import settings
from gateways.http_common import DEFAULT_TIMEOUT, new_client
from gateways.http_payout import payout_provider_from_env
from gateways.http_sms import sms_provider_from_env
from gateways.webhooks import secret_keys
from ledger.db import get_engine
from models.limits import WEBHOOK_CALL_TIMEOUT_SECONDS
from observability import gauges
from observability.log_filter import install_personal_data_filter
from observability.metrics import WithdrawalMetrics
from observability.process import start_observability
from observability.tracing import stop_tracing
from webhooks.dispatch import WebhookDispatcher
from workflows.audit_anchor import AuditAnchorWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow
from workflows.withdrawal import WithdrawalWorkflow
from workflows.withdrawal_return import WithdrawalReturnWorkflow

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
WORKFLOWS_DIRECTORY = Path(__file__).parent / "workflows"


class WorkerTuning(TypedDict):
    """Worker options measured by ``bench/`` (bench/README.md); the baseline uses them."""

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
    client: Client,
    activities: WithdrawalActivities,
    task_queue: str | None = None,
    max_cached_workflows: int | None = None,
    webhooks: WebhookActivities | None = None,
) -> Worker:
    """``webhooks``: also run the status-event deliveries (the real worker does)."""
    anchor = AuditAnchorActivities(activities.engine)
    webhook_activities: list[Callable[..., Any]] = (
        [webhooks.deliver_webhook, webhooks.give_up_webhook] if webhooks else []
    )
    tuning = dict(TUNING)
    if max_cached_workflows is not None:
        tuning["max_cached_workflows"] = max_cached_workflows
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue(),
        workflows=[
            WithdrawalWorkflow,
            WithdrawalReturnWorkflow,
            AuditAnchorWorkflow,
            WebhookDeliveryWorkflow,
        ],
        activities=[
            anchor.anchor_audit_chains,
            activities.open_withdrawal,
            activities.send_code,
            activities.check_code,
            activities.check_code_answered,
            activities.review_decision,
            activities.authorize_cancel,
            activities.review_verify_keys,
            activities.record_status,
            activities.submit_payout,
            activities.submit_payout_checked,
            activities.check_payout,
            activities.confirm_payout,
            activities.watch_payout,
            activities.resolve_payout,
            activities.settle,
            activities.confirm_return,
            activities.credit_return,
            *webhook_activities,
        ],
        **tuning,  # type: ignore[arg-type]
    )


def activities_from_env(
    http: httpx.AsyncClient | None = None, metrics: WithdrawalMetrics | None = None
) -> WithdrawalActivities:
    """``http`` pools provider connections for the worker's life (its event loop)."""
    return WithdrawalActivities(
        get_engine(),
        payout_provider_from_env(client=http),
        sms_provider_from_env(client=http),
        settings.code_key(),
        callback_url=settings.payout_callback_url(),
        metrics=metrics,
        review_verify_key=settings.review_verify_keys(),  # public keys only
        four_eyes_threshold=settings.four_eyes_threshold(),  # FOUR_EYES_THRESHOLD
    )


def cache_workflow_bytecode(directory: Path = WORKFLOWS_DIRECTORY) -> None:
    """Write the bytecode of ``directory`` (``workflows/``): the sandbox imports those
    modules afresh for every new workflow run.

    Without a ``.pyc`` (``PYTHONDONTWRITEBYTECODE=1``, as on this project's machines and
    CI) each of those imports compiles the source again: about 17 ms of worker CPU per
    withdrawal, a sixth of the whole (bench/README.md). ``compileall`` writes regardless of
    that flag and skips files whose bytecode is current; a read-only tree only costs speed.
    """
    try:
        compileall.compile_dir(directory, quiet=1)
    except OSError as error:
        logging.warning("workflow bytecode not cached (%s): each new workflow compiles it", error)


def cached() -> int | None:
    """``WORKER_MAX_CACHED_WORKFLOWS`` (the bench's parked-review mode measures a cache
    smaller than the open withdrawals); unset: ``MAX_CACHED_WORKFLOWS``."""
    configured = os.environ.get("WORKER_MAX_CACHED_WORKFLOWS")
    return int(configured) if configured else None


async def main() -> None:
    # Before the client connects: its runtime serves the SDK's metrics and ours on
    # METRICS_PORT, and its interceptors carry traces (OTEL_EXPORTER_OTLP_ENDPOINT).
    telemetry = start_observability("withdrawal-worker")
    install_personal_data_filter()
    cache_workflow_bytecode()
    # Production: a missing key stops the worker here, before it takes any task.
    settings.check_production_secrets(
        settings.code_key, settings.review_verify_keys, KeyRing.from_env, settings.webhook_secret
    )
    if telemetry.metrics_url:
        logging.info("metrics at %s", telemetry.metrics_url)
    client = await connect()
    async with (
        new_client(DEFAULT_TIMEOUT) as http,
        new_client(httpx.Timeout(WEBHOOK_CALL_TIMEOUT_SECONDS)) as webhook_http,
    ):
        engine = get_engine()
        webhooks = WebhookActivities(engine, secret_keys(settings.webhook_secret()), webhook_http)
        activities = activities_from_env(http, telemetry.metrics)
        worker = build_worker(client, activities, max_cached_workflows=cached(), webhooks=webhooks)
        try:
            if await ensure_anchor_schedule(client, settings.task_queue()):
                logging.info("created the audit anchor schedule")
        except Exception as error:  # the worker is useful without it; say so and go on
            logging.warning("could not create the audit anchor schedule: %s", error)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        levels = asyncio.create_task(gauges.keep_fresh(engine, telemetry.metrics))
        dispatcher = WebhookDispatcher(engine, client, settings.task_queue())
        try:
            async with worker:
                logging.info("worker polling task queue %s", settings.task_queue())
                dispatching = asyncio.create_task(dispatcher.run(stop), name="webhook-dispatch")
                await stop.wait()
                logging.info("shutting down: finishing running activities")
                await dispatching
        finally:
            levels.cancel()
            stop_tracing()


if __name__ == "__main__":
    asyncio.run(main())
