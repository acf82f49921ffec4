"""The history a run costs, as the core models it: events per command and per outside
input, and the bound every run stays under (``simulation/invariants.py`` checks it after
every step; ``tests/simulation/test_real_workflow.py`` against the real history)."""

from __future__ import annotations

from workflows.core.state import (
    CodeChecked,
    CreditReturn,
    LookUp,
    Note,
    PostHold,
    RecordStatus,
    ReleaseHold,
    SendCode,
    StartTimer,
    SubmitPayout,
    WatchPayout,
    WeighDecision,
)

# History events each command or input costs (measured on the time-skipping server,
# docs/money-at-the-edges.md): an activity is scheduled, started and completed in its
# own workflow task; a recorded status too (an activity since ``no-local-activities``; a
# local-activity marker before); a signal or update takes a task of its own; the bound
# is a + c·(outside inputs) with a = 150, c = 12.
HISTORY_COST: dict[type, int] = {
    SendCode: 6,
    StartTimer: 3,
    RecordStatus: 6,
    Note: 0,
    WeighDecision: 6,
    SubmitPayout: 6,
    WatchPayout: 6,
    LookUp: 6,
    PostHold: 6,
    ReleaseHold: 6,
    CreditReturn: 0,  # the separate return workflow's history, not this run's
}
INPUT_COST = 3  # a signal or update: its event and a workflow task
# What an accepted input runs in its own handler, before the core hears of it: the
# ``submit_code`` update checks the code by an activity (``no-local-activities``).
HANDLER_COST: dict[type, int] = {CodeChecked: 6}
HISTORY_BOUND_BASE = 150
HISTORY_BOUND_PER_INPUT = 12
REFUSED_INPUT_MAX_COST = INPUT_COST  # a refused input: no activity, no timer, no record
