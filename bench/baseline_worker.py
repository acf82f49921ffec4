"""``python -m bench.baseline_worker``: the baseline workflow on ``TEMPORAL_TASK_QUEUE``,
with ``worker.py``'s tuning and data converter; SIGTERM stops it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
from temporalio.worker import Worker

from bench.baseline_activities import NO_OP_ACTIVITIES, CodeCourier
from bench.baseline_workflow import BaselineReviewWorkflow, BaselineWorkflow
from client.connection import connect
from config import settings
from worker import TUNING, cache_workflow_bytecode


async def main() -> None:
    cache_workflow_bytecode(Path(__file__).parent)  # as the real worker does for workflows/
    client = await connect()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient() as http:
        courier = CodeCourier(os.environ["SMS_GATEWAY_URL"], http)
        worker = Worker(
            client,
            task_queue=settings.task_queue(),
            workflows=[BaselineWorkflow, BaselineReviewWorkflow],
            activities=[*NO_OP_ACTIVITIES, courier.send_code, courier.check_code_under_review],
            **TUNING,
        )
        async with worker:
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
