"""The withdrawal workflow's patch ids (the ``PATCH_*`` constants the rooms ask with
``workflow.patched``; ``workflows.withdrawal`` re-exports them) and their register: where
each is in its life.

Old branches are kept word for word in the room that takes them (``workflows/rooms/``).

A patch (docs/changing-the-workflow.md) lives in three stages: ``patched`` (the code asks
``workflow.patched(id)`` and keeps the old branch for runs recorded without the marker),
``deprecated`` (``workflow.deprecate_patch(id)``: the old branch is gone, because no run
that could take it is open or still within retention) and ``removed`` (the call is gone
too). Each entry keeps the date its id reached main (the earliest a deploy carried it)
and the visibility query that lists the runs still open that were started before it: an
old branch can only be taken by such a run, so while that query answers anything the
patch stays. ``tests/workflows/test_patch_register.py`` checks this register against
every ``patched``/``deprecate_patch`` call under ``workflows/`` and against the doc.

Print the queries for a namespace: ``python -m workflows.patches``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

PATCH_PAYOUT_CONFIRMED = "payout-confirmed-by-lookup"  # bounded watch, unknown parked
# Runs started before PATCH_PAYOUT_CONFIRMED that reach "retries ran out" after the
# deploy park the payout too, instead of releasing money on one empty look-up.
PATCH_UNKNOWN_PARKED_IN_OLD_RUNS = "unknown-payout-parked-in-old-runs"
# The watch is no longer cancelled when a callback or a resolution arrives: it goes on
# polling and is reused by the next wait (or dropped when the run closes). A cancel could
# race the watch's own completion (both inside one workflow task) and name an activity the
# server had already closed: the task completion was refused (ACTIVITY_UNKNOWN).
PATCH_WATCH_NOT_CANCELLED = "payout-watch-not-cancelled"

# Behaviour added after histories were committed (``workflow.patched``; old runs replay
# the old branch). Review proofs: a decision is pre-checked in its signal handler and a
# refused one costs no activity past the first few; authorised cancel: a cancel runs the
# ``authorize_cancel`` activity before it counts.
PATCH_REVIEW_PROOFS = "review-decision-proofs"
PATCH_AUTHORISED_CANCEL = "authorised-cancel"
# Issue 22: every provider record passes the one check (``models.provider_record``).
# The submit is ``submit_payout_checked``, which answers a record that does not match (or
# a key conflict) at once instead of returning it unchecked; decided at the submit.
PATCH_SUBMIT_CHECKED = "payout-submit-checked"
# A record that does not match parks the payout (money held, the mismatch noted) and every
# later watch takes it as "not yet" on the parked schedule, instead of a new watch that
# answers at once again (a loop with no timer). Decided at the first such record, so a
# run past its submit at the deploy gets it too.
PATCH_MISMATCH_PARKED = "provider-mismatch-parked"
# Issue 25: a run that sees its transfer ``returned`` (paid, then sent back) posts the hold
# as paid (no patch: before returns existed no run could see that state) and then starts
# the return workflow itself, so the return follows even if its callback was lost.
PATCH_RETURN_FOLLOWS = "return-follows-a-returned-payout"
# Issue 22: no lock-out by refused input. The workflow checks a proof's signature itself
# (public keys loaded by the ``review_verify_keys`` local activity, ``ProofKeys``), so a
# forged decision is refused before it takes any of the room authorised ones need, and a
# cancel that is not authorised is refused by the update's validator (no history; the
# application layer audits it) instead of being counted. Decided at the first decision
# or cancel and kept in ``ProofKeys.decided``.
PATCH_PROOFS_VERIFIED_BY_WORKFLOW = "review-proofs-verified-by-workflow"
# A payout parked on a mismatch stays parked until the provider's matching record is
# final: its watch waits for a final record (on the parked schedule), so a record that
# flips between matching and not matching is never re-reported without a timer (it was:
# a matching ``processing`` unparked it, the next watch reported the mismatch at once,
# and so on). Decided at the first watch started, or record seen, while parked.
PATCH_PARKED_UNTIL_FINAL = "mismatch-parked-until-final-record"
# A cancel proof is spent once: its nonce is seen when the cancel is taken, so the
# validator refuses a replay (no history); a signed cancel the activity refuses counts
# towards ``MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON``, past which the validator refuses
# that person's cancels. Decided at the first cancel the workflow verifies itself.
PATCH_SIGNED_CANCELS_CAPPED = "cancel-proof-spent-once-refusals-capped"
# The review loop lets every coroutine the activation woke run, and any review-key load
# in flight end, before it starts its SLA timer, so a decision a signal handler takes in
# the same workflow task (its review_verify_keys local activity resolving around a
# review_decision result) is weighed without a timer created and cancelled at once. Such
# a pair never reaches history, but it uses a timer number, and replay (which may
# deliver the two results in another order) does not: "Timer fired event did not have
# expected timer id". Decided at the first SLA wait, in ReviewRoom.await_review.
PATCH_REVIEW_WAIT_SETTLES = "review-wait-settles-before-timer"
# Issue 24: a status change an activity causes is written in that activity's own
# transaction (``StatusRoom.carry``): the code check writes the status the run takes next
# (approved, paying out; or under review), the review decision that completes the
# approvals writes "approved, paying out". The separate ``record_status`` local activity
# is left for changes no activity causes (timers, signals). Decided at the code check
# (the first carried change; a run that checked its code before the deploy replays that
# check without the marker and keeps the old path) and kept in ``Record.carries``.
PATCH_STATUS_WITH_STEP = "status-written-with-its-step"
# A deciding approval's status is taken as written only when ``review_decision`` says it
# wrote it (``ReviewerVerdict.status_written``): in a rolling deploy a worker from before
# PATCH_STATUS_WITH_STEP can run the activity, drop ``then`` and write nothing, and the
# ledger would never show "approved, paying out". A line recorded between that status,
# written, and ``run``'s step to it (the count of refused decisions) is filed under it,
# which stays written: the ledger never goes back to under review and the step records
# nothing again. Decided at the first answer to a decision that carried a status, kept
# in ``Record.acknowledged``.
PATCH_CARRIED_STATUS_ACKNOWLEDGED = "carried-status-acknowledged"

# The review keys are loaded by ``review_verify_keys`` as an activity, no longer a local
# activity. Live, core sometimes records a handler's local-activity marker in one
# workflow task yet hands its result to the workflow only in the next activation, after
# that task's new events (an activity result); replay hands it over in the task that
# recorded it. The review loop then saw its queue empty live and full on replay, and asked
# PATCH_REVIEW_WAIT_SETTLES only live: "Non-deprecated patch marker encountered ... but
# there is no corresponding change command" (seeded simulation, seed 1 script 73). An
# activity's result is a history event, handed over at the same point live and on replay.
# Decided at the first key load, kept in ProofKeys.by_activity.
PATCH_REVIEW_KEYS_BY_ACTIVITY = "review-keys-loaded-by-activity"

# No local activity in new runs: ``check_code`` and ``record_status`` run as activities,
# as the review keys do since PATCH_REVIEW_KEYS_BY_ACTIVITY and for the same reason. The
# code check's local activity ran in the ``submit_code`` update handler; live, core recorded
# its marker in one workflow task and handed its result over with the next task's activity
# result (a key load), replay in its own task, so live and replay reached the payout's
# PATCH_SUBMIT_CHECKED marker at different points: "Non-deprecated patch marker
# encountered" (seeded simulation, seed 1 script 81, seed 2 script 95). ``record_status``
# runs while signals and activities land too. An activity's result is a history event,
# handed over at the same point live and on replay. Decided at the run's first local
# activity of old (the code check, or a status recorded before it: a refusal at open),
# kept in ``Run.activities_only``; a run that ran one before the deploy keeps them.
PATCH_NO_LOCAL_ACTIVITIES = "no-local-activities"
# The code check as an activity can be taken by any worker on the task queue, one deployed
# before PATCH_STATUS_WITH_STEP included, which drops ``CodeCheck.then`` unread and writes
# no status, while the run took the status as written: the ledger stayed at "awaiting
# code" (a review missing from the reviewers' queue). Since this patch the check is
# ``check_code_answered``, a type such a worker does not register, and the carried status
# counts as written only on its answer (``CodeAnswer.status_written``), as a deciding
# approval's does since PATCH_CARRIED_STATUS_ACKNOWLEDGED. Decided at the first code check
# run as an activity that carries a status, kept in ``CodeState.answered``.
PATCH_CODE_CHECK_ANSWERED = "code-check-answered"
# A run that took the plain ``check_code`` activity (recorded between the two patches
# above: its first check came before PATCH_CODE_CHECK_ANSWERED reached its worker, and the
# answer is kept for the run) can still have its right code checked by a worker that
# drops ``then``: since this patch such a check's carried status is not taken as written,
# and ``run``'s step records it (a repeat the ledger ignores when the check did write it).
# New runs never ask it. Decided at a right code's plain check, after its answer.
PATCH_PLAIN_CODE_CHECK_RECORDED = "plain-code-check-recorded"

# The workflow's registered type name (client/withdrawals.py WORKFLOW_TYPE); spelled here
# so this register imports nothing and can be read by any tool.
WITHDRAWAL_WORKFLOW_TYPE = "WithdrawalWorkflow"

Stage = Literal["patched", "deprecated", "removed"]


@dataclass(frozen=True)
class Patch:
    id: str
    added: datetime  # when the id reached main (its merge commit): the earliest deploy
    commit: str  # the commit that introduced it
    changed: str  # what the new branch does that the old one did not
    decided: str  # where the code asks, which decides which runs can take the old branch
    stage: Stage = "patched"
    # Why the old branch can no longer be taken, once deprecated or removed.
    retired_because: str = ""

    def open_runs_started_before_query(self) -> str:
        """``temporal workflow list --query`` for open runs that may hold the old branch.

        Conservative: a patch decided mid-run lets a run started before it take the new
        branch too, but only a run started before it can have taken the old one."""
        return (
            f'WorkflowType="{WITHDRAWAL_WORKFLOW_TYPE}" AND ExecutionStatus="Running" '
            f'AND StartTime < "{self.added.isoformat().replace("+00:00", "Z")}"'
        )


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


PATCHES: tuple[Patch, ...] = (
    Patch(
        id="payout-confirmed-by-lookup",
        added=_utc("2026-11-29T20:41:32Z"),
        commit="ace823a",
        changed="callbacks are hints confirmed by a provider look-up; settlement wait "
        "bounded by watch_payout; an unknown outcome is parked (payout_unknown)",
        decided="at the start of run, kept in PayoutState.confirmed",
    ),
    Patch(
        id="review-invariant-broken-releases-hold",
        added=_utc("2026-11-29T20:41:32Z"),
        commit="ace823a",
        changed="a broken review invariant releases the hold (R19) before the run fails",
        decided="in _check_authorised, only when the invariant is broken",
        stage="removed",
        retired_because="deprecated, then removed, 2026-12-06 (issue 23): the old "
        "branch raised with no command before it, so the run that took it failed in that "
        "task (none open) and closed before the patch reached main, past the dev "
        "server's 24-hour retention; a run with the live marker failed right after it",
    ),
    Patch(
        id="review-decision-proofs",
        added=_utc("2026-11-29T19:44:57Z"),
        commit="e40778e",
        changed="a decision is pre-checked in its signal handler; refused ones cost no "
        "activity past the first few",
        decided="at the first decision, kept in ReviewState.checks_proofs",
    ),
    Patch(
        id="authorised-cancel",
        added=_utc("2026-11-29T19:44:57Z"),
        commit="e40778e",
        changed="a cancel runs the authorize_cancel activity before it counts",
        decided="at each cancel",
    ),
    Patch(
        id="unknown-payout-parked-in-old-runs",
        added=_utc("2026-11-29T20:41:32Z"),
        commit="a244b4c",
        changed="a run started before payout-confirmed-by-lookup whose submit retries "
        "run out parks the payout instead of releasing on one empty look-up",
        decided="when the old submit's retries run out",
    ),
    Patch(
        id="payout-watch-not-cancelled",
        added=_utc("2026-11-29T21:34:52Z"),
        commit="a8022a5",
        changed="a callback or resolution no longer cancels the settlement watch",
        decided="when a wait ends with the watch still polling",
    ),
    Patch(
        id="payout-submit-checked",
        added=_utc("2026-12-06T04:48:00Z"),
        commit="0af2d42",
        changed="the submit is submit_payout_checked, which answers a record that does "
        "not match (or a key conflict) at once (issue 22)",
        decided="at the submit",
    ),
    Patch(
        id="provider-mismatch-parked",
        added=_utc("2026-12-06T04:48:00Z"),
        commit="0af2d42",
        changed="a record that does not match parks the payout; later watches take it as "
        "'not yet' on the parked schedule (issue 22)",
        decided="at the first record that does not match",
    ),
    Patch(
        id="return-follows-a-returned-payout",
        added=_utc("2026-12-06T05:09:17Z"),
        commit="8f713cd",
        changed="a run that sees its transfer returned starts the return workflow as a "
        "child left running, after posting the hold (issue 25)",
        decided="when a watch or callback brings a returned transfer",
    ),
    Patch(
        id="review-proofs-verified-by-workflow",
        added=_utc("2026-12-06T05:11:17Z"),
        commit="b4e1f9d",
        changed="the signal handler and the cancel validator check a decision proof's "
        "signature themselves, with keys the review_verify_keys local activity loads "
        "(issue 22)",
        decided="at the first decision or cancel, kept in ProofKeys.decided",
    ),
    Patch(
        id="mismatch-parked-until-final-record",
        added=_utc("2026-12-06T05:29:40Z"),
        commit="b4e88eb",
        changed="a payout parked on a mismatch stays parked until the provider's matching "
        "record is final; its watch waits for a final record on the parked schedule, so a "
        "record flipping between matching and not is never re-reported without a timer",
        decided="at the first watch started, or record seen, while parked; kept in "
        "PayoutState.until_final",
    ),
    Patch(
        id="cancel-proof-spent-once-refusals-capped",
        added=_utc("2026-12-06T05:29:40Z"),
        commit="2c27bb5",
        changed="a cancel proof's nonce is spent when the cancel is taken (the validator "
        "refuses a replay) and a person's refused signed cancels are capped at "
        "MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON",
        decided="at the first cancel the workflow verifies itself; kept in CancelState.caps_signed",
    ),
    Patch(
        id="review-wait-settles-before-timer",
        added=_utc("2026-12-06T06:13:30Z"),
        commit="c50d8cd",
        changed="the review loop lets the activation's other coroutines run, and a "
        "review-key load in flight end, before it starts its SLA timer, so no timer is "
        "created and cancelled in one workflow task (a timer number live used and replay "
        "did not)",
        decided="at the first SLA wait, in ReviewRoom.await_review",
    ),
    Patch(
        id="status-written-with-its-step",
        added=_utc("2026-12-06T07:50:00Z"),
        commit="7de815d",
        changed="the code check writes the status the run takes next, and the approval "
        "that completes a review writes 'approved, paying out', each in its own "
        "transaction, instead of a record_status local activity (issue 24)",
        decided="at the code check (the first carried change), kept in Record.carries",
    ),
    Patch(
        id="review-keys-loaded-by-activity",
        added=_utc("2026-12-06T08:07:00Z"),
        commit="79c4c33",
        changed="the review keys are loaded by review_verify_keys as an activity, not a "
        "local activity, so a key load's result reaches the workflow at the same point live "
        "and on replay (live, core could hand a handler's local-activity result over one "
        "activation late, after the next task's activity result)",
        decided="at the first review-key load, kept in ProofKeys.by_activity",
    ),
    Patch(
        id="carried-status-acknowledged",
        added=_utc("2026-12-06T08:25:00Z"),
        commit="70e50cc",
        changed="a deciding approval's status counts as written only when review_decision "
        "answers status_written; otherwise the step to the payout records it (an older "
        "worker in a rolling deploy drops ReviewerCheck.then); a count of refused decisions "
        "noted before that step is filed under the status already written, which the step "
        "then does not record again",
        decided="at the first answer to a decision that carried a status, kept in "
        "Record.acknowledged",
    ),
    Patch(
        id="no-local-activities",
        added=_utc("2026-12-06T10:30:02Z"),
        commit="ef4871d",
        changed="check_code and record_status run as activities, not local activities, so "
        "their results reach the workflow at the same point live and on replay (live, core "
        "could hand the code check's result over one activation late, after the next "
        "task's activity result, and the run reached payout-submit-checked at another "
        "point than on replay)",
        decided="at the run's first check_code or record_status, kept in Run.activities_only",
    ),
    Patch(
        id="code-check-answered",
        added=_utc("2026-12-06T11:21:42Z"),
        commit="e6ccf42",
        changed="the code check run as an activity is check_code_answered, which a worker "
        "from before status-written-with-its-step does not register (it would drop the "
        "carried status unread), and the carried status counts as written only when its "
        "answer says so; otherwise run's step records it",
        decided="at the first code check run as an activity that carries a status, kept in "
        "CodeState.answered",
    ),
    Patch(
        id="plain-code-check-recorded",
        added=_utc("2026-12-06T11:28:33Z"),
        commit="6cff455",
        changed="a right code checked by the plain check_code activity (runs recorded "
        "between no-local-activities and code-check-answered) no longer counts its carried "
        "status as written: run's step records it, a repeat the ledger ignores if written",
        decided="at a right code's plain check_code activity, after its answer (new runs "
        "never ask it)",
    ),
)


def in_stage(*stages: Stage) -> set[str]:
    return {patch.id for patch in PATCHES if patch.stage in stages}


def main() -> None:
    for patch in PATCHES:
        print(f"{patch.id} [{patch.stage}] added {patch.added:%Y-%m-%d %H:%M} UTC")
        if patch.stage == "patched":
            print(f"  temporal workflow list --query '{patch.open_runs_started_before_query()}'")


if __name__ == "__main__":
    main()
