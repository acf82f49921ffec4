"""One workflow per status event: deliver it to every webhook URL, durably.

The workflow id is the event id, so starting it twice (a dispatcher retrying, two
workers) delivers once; Temporal keeps retrying through worker and server restarts.
Each URL's attempts are one activity retried with exponential backoff for the whole
window (at least a day); past it the delivery is marked failed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from models.limits import DATABASE_ACTIVITY_TIMEOUT_SECONDS, WEBHOOK_CALL_TIMEOUT_SECONDS
    from models.webhooks import WebhookGiveUp, WebhookOrder, WebhookOutcome, WebhookTarget

WORKFLOW_ID_PREFIX = "webhook-"


def delivery_workflow_id(event_id: str) -> str:
    return WORKFLOW_ID_PREFIX + event_id


@workflow.defn
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, order: WebhookOrder) -> list[WebhookOutcome]:
        return list(await asyncio.gather(*(self._deliver(order, url) for url in order.urls)))

    async def _deliver(self, order: WebhookOrder, url: str) -> WebhookOutcome:
        try:
            await workflow.execute_activity_method(
                WebhookActivities.deliver_webhook,
                WebhookTarget(event_id=order.event_id, url=url),
                start_to_close_timeout=timedelta(seconds=WEBHOOK_CALL_TIMEOUT_SECONDS * 2),
                schedule_to_close_timeout=timedelta(seconds=order.retry_total_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=order.retry_initial_seconds),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=order.retry_max_interval_seconds),
                    maximum_attempts=0,  # bounded by the window, not a count
                ),
                summary="post the signed event",
            )
            return WebhookOutcome(url=url, delivered=True)
        except ActivityError as error:
            cause = error.cause
            await workflow.execute_activity_method(
                WebhookActivities.give_up_webhook,
                WebhookGiveUp(event_id=order.event_id, url=url, error=str(cause or error)),
                start_to_close_timeout=timedelta(seconds=DATABASE_ACTIVITY_TIMEOUT_SECONDS),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary="give up after the retry window",
            )
            return WebhookOutcome(url=url, delivered=False)
