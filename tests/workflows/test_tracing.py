"""One withdrawal is one trace: the API request, the workflow and every activity
(OpenTelemetry through temporalio.contrib.opentelemetry), exported to an in-process
collector."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.withdrawal import WithdrawalActivities
from models.domain import Status
from observability.http import instrument_app
from observability.tracing import tracing_interceptors
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from tests.workflows.harness import Stack
from tests.workflows.stacks import (
    FOUR_EYES_TEST_THRESHOLD,
    TEST_CODE_KEY,
    fake_code_reader,
    serving,
    sqlite_ledger,
)

Traced = tuple[Stack, InMemorySpanExporter, TracerProvider]


@pytest_asyncio.fixture(loop_scope="session")
async def traced(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = time_skipping_env.client.config()
    config["interceptors"] = tracing_interceptors(provider)
    client = Client(**config)  # the worker built on it inherits the interceptor
    engine = sqlite_ledger(tmp_path)
    payout, sms = FakePayoutProvider(auto_settle=True), FakeSmsProvider()
    activities = WithdrawalActivities(
        engine, payout, sms, TEST_CODE_KEY, four_eyes_threshold=FOUR_EYES_TEST_THRESHOLD
    )
    read_code = fake_code_reader(sms)
    async with serving(
        time_skipping_env, activities, engine, payout, sms, read_code, client=client
    ) as stack:
        yield stack, exporter, provider


def api(stack: Stack, provider: TracerProvider) -> FastAPI:
    """A stand-in for the HTTP service's create endpoint, instrumented the same way."""
    app = FastAPI()

    @app.post("/v1/withdrawals")
    async def create() -> dict[str, str]:
        return {"id": await stack.start(amount="50.00")}

    instrument_app(app, tracer_provider=provider)
    return app


async def test_one_withdrawal_is_one_trace_from_the_request_through_every_activity(
    traced: Traced,
) -> None:
    stack, exporter, provider = traced
    transport = httpx.ASGITransport(app=api(stack, provider))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        wid = (await http.post("/v1/withdrawals")).json()["id"]
    await stack.verify(wid, "acct-auto")
    assert (await stack.client.result(wid)).status is Status.SUCCEEDED

    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    request = next(s for s in spans if s.name.startswith("POST /v1/withdrawals"))
    assert request.context is not None
    trace_id = request.context.trace_id
    in_trace = Counter(
        s.name for s in spans if s.context is not None and s.context.trace_id == trace_id
    )
    for expected in (
        "StartWorkflow:WithdrawalWorkflow",
        "RunWorkflow:WithdrawalWorkflow",
        "RunActivity:open_withdrawal",
        "RunActivity:send_code",
        "RunActivity:submit_payout_checked",  # since "payout-submit-checked" (issue 22)
        "RunActivity:settle",
    ):
        assert in_trace[expected] >= 1, (expected, sorted(in_trace))
    # Nothing personal in a span: attributes are ids and types only.
    for span in spans:
        for value in (span.attributes or {}).values():
            assert "+86" not in str(value)
