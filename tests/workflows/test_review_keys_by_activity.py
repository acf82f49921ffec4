"""Patch ``review-keys-loaded-by-activity``: the review keys a signed decision needs are
loaded by ``review_verify_keys`` as an activity, no longer a local activity.

Seeded simulations (seed 1, script 73 of ``make simulate``: 1 in 100 scripts, 3 in 20
reruns of that script) recorded histories that fail replay with "Non-deprecated patch
marker encountered for change review-wait-settles-before-timer, but there is no
corresponding change command". Tracing the activations showed why: a signed approve's
signal handler loaded the keys by local activity while a refused decision's
``review_decision`` activity ran; live, core recorded the local activity's marker in that
workflow task but handed its result to the workflow only in the next activation, after
the activity's result, so the review loop found its queue empty and asked the patch; on
replay the result came in its own task, the approve was queued first and the loop never
asked. An activity's result is a history event, handed over at the same point live and on
replay. Core's late hand-over was not reproduced on demand (a slow key load, or a key load
finishing with the activity, both deliver it on time), so this test checks the mechanism
that removes the dependence: the load is an activity in history, no local-activity marker.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from client.connection import data_converter
from tests.workflows.keys import TEST_KEYS
from tests.workflows.stacks import (
    HISTORIES,
)
from tests.workflows.test_review_timer_numbers import _patched, key_load_racing_a_decision
from workflows.patches import PATCH_REVIEW_KEYS_BY_ACTIVITY
from workflows.withdrawal import WithdrawalWorkflow

KEY_LOAD = "review_verify_keys"


def _key_loads(history: WorkflowHistory) -> tuple[int, int]:
    """(activities scheduled, local-activity markers) that load the review keys."""
    scheduled = sum(
        1
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name == KEY_LOAD
    )
    markers = sum(
        1
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        and KEY_LOAD.encode() in event.marker_recorded_event_attributes.SerializeToString()
    )
    return scheduled, markers


async def test_a_signed_decision_loads_the_review_keys_by_an_activity_in_history(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with key_load_racing_a_decision(time_skipping_env, tmp_path) as (stack, history):
        assert _patched(history, PATCH_REVIEW_KEYS_BY_ACTIVITY)
        assert _key_loads(history) == (1, 0)
        replayer = Replayer(
            workflows=[WithdrawalWorkflow], data_converter=data_converter(TEST_KEYS)
        )
        await replayer.replay_workflow(history)
        if os.environ.get("SAVE_HISTORIES"):
            await stack.save_histories(
                HISTORIES,
                "test_a_signed_decision_loads_the_review_keys_by_an_activity_in_history",
            )
