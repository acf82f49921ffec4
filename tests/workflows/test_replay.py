"""Replay every saved history against today's workflow code: a change that would
break running withdrawals fails here, not in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from client.connection import data_converter
from tests.workflows.keys import TEST_KEYS
from workflows.audit_anchor import AuditAnchorWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow
from workflows.withdrawal import WithdrawalWorkflow

HISTORIES_DIR = Path(__file__).parent / "histories"
# Only the top level replays: histories/retired/ holds those of deprecated patches' old
# branches (docs/changing-the-workflow.md, step 4), listed in its README.
HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))
RETIRED_DIR = HISTORIES_DIR / "retired"


def test_saved_histories_cover_every_path() -> None:
    names = {path.name.rsplit("-", 1)[0] for path in HISTORIES}
    for path_test in (
        "test_r16_original_route_without_risk_succeeds_without_review",
        "test_r9_designated_account_is_paid_after_approval-alipay",
        "test_r9_designated_account_is_paid_after_approval-bank",
        "test_r19_rejected_withdrawal_releases_frozen_funds",
        "test_r6_non_recharge_application_goes_through_review",
        "test_r17_same_identity_overdue_debt_triggers_review",
        "test_r15_five_wrong_codes_cancel_and_release",
        "test_r15_code_expiry_cancels_and_releases",
        "test_cancel_before_payout_releases_funds",
        "test_transient_payout_failures_retry_then_succeed_once",
        "test_permanent_payout_refusal_fails_and_releases",
        "test_failure_reported_after_acceptance_fails_and_releases",
        "test_review_sla_marks_withdrawal_overdue_and_keeps_it_in_review",
        "test_four_eyes_above_threshold_needs_two_different_reviewers",
        # issue 12, behind workflow.patched: proofs pre-checked, cancels authorised
        "test_a_raw_approve_signal_is_refused_recorded_and_the_money_stays",
        "test_forged_stale_and_misdirected_proofs_count_for_nothing",
        "test_a_reviewer_under_the_applicants_real_name_cannot_decide",
        "test_only_the_applicant_or_its_master_account_or_ops_may_cancel",
        "audit_anchor_schedule_run",  # AuditAnchorWorkflow, started by its schedule
        # since the "payout-confirmed-by-lookup" patch (tests/workflows/test_money_edges.py)
        "test_retried_open_after_a_freeze_never_strands_the_hold",
        "test_account_frozen_during_review_fails_r1_and_releases",
        # recorded again without the removed patch's marker (histories/retired/README.md)
        "test_a_broken_review_invariant_releases_the_hold_then_fails_the_run",
        "test_r10_a_typed_branch_from_a_backend_is_refused",
        "test_unknown_payout_is_parked_then_resolved_by_ops",
        "test_sixty_days_processing_then_a_callback_settles_at_once",
        "test_callbacks_before_submit_or_against_the_provider_are_ignored",
        "test_flaky_sms_gateway_keeps_the_old_code_and_never_exceeds_the_limit",
        "test_terminated_run_is_listed_by_reconcile_and_ended_by_ops",
        # since "payout-watch-not-cancelled": a callback during the watch cancels nothing
        "test_a_callback_while_the_watch_polls_settles_without_cancelling_it",
        # WebhookDeliveryWorkflow (tests/webhooks/test_retries.py)
        "webhook_delivery_retried_then_delivered",
        "webhook_delivery_given_up",
        "test_a_run_started_before_the_deploy_parks_an_unknown_payout_after_it",
        # issue 22, "payout-submit-checked" and "provider-mismatch-parked": every provider
        # record checked, a mismatch parked (tests/workflows/test_provider_records.py)
        "test_a_conflicting_transfer_found_before_the_submit_parks_the_payout",
        "test_a_submit_answered_with_another_payees_transfer_parks_the_payout",
        "test_a_key_conflict_never_voids_and_parks_the_payout",
        "test_a_record_that_stops_matching_during_the_watch_parks_once",
        "test_a_callback_confirmed_against_a_mismatching_record_parks_the_payout",
        "test_not_paid_is_refused_while_the_provider_holds_a_matching_transfer",
        "test_a_closed_run_with_a_matching_transfer_is_not_released_in_the_ledger",
        "test_end_to_end_a_conflicting_transfer_at_the_simulator_parks_without_a_loop",
        # issue 25, "return-follows-a-returned-payout": returned while the run watched
        "test_a_withdrawal_still_running_that_sees_returned_posts_then_the_return_follows",
        "test_a_returned_callback_before_the_withdrawal_posted_waits_for_the_hold",
        # since "review-proofs-verified-by-workflow" (issue 22, tests/security/): signatures
        # checked by the workflow, keys loaded by a local activity, cancels refused by the
        # validator, four-eyes by person, a rotated REVIEW_VERIFY_KEY (issue 26)
        "test_200_forged_well_formed_proofs_then_two_real_approvals_pay",
        "test_20_refused_cancels_then_an_ops_cancel_still_works",
        "test_one_person_with_two_reviewer_ids_is_one_pair_of_eyes",
        "test_a_rotated_review_key_keeps_every_proof_in_flight",
        "test_made_up_key_ids_cost_a_load_per_fifty_waiting_not_one_each",
        # "mismatch-parked-until-final-record" (review finding 2): a record flipping
        # between matching and not stays parked until final (tests/workflows/)
        "test_a_record_flipping_between_matching_and_not_stays_parked_until_final",
        # "cancel-proof-spent-once-refusals-capped" (review finding 3): a cancel proof
        # spent once, a person's refused signed cancels capped (tests/security/)
        "test_replayed_and_re_signed_refused_cancels_are_capped_then_ops_cancels",
        # "review-wait-settles-before-timer": a key load racing a review_decision starts
        # no SLA timer that the same task cancels (tests/workflows/)
        "test_a_key_load_racing_a_review_decision_leaves_no_timer_number_unused",
        # "status-written-with-its-step" (issue 24): the code check and the deciding
        # approval write the status that follows (tests/workflows/test_status_with_step.py)
        "test_the_code_check_writes_the_approval_of_an_auto_withdrawal",
        # a deciding approval's status taken as written only on the activity's word
        # (tests/workflows/test_status_with_step_review.py)
        "test_an_approval_weighed_by_an_older_worker_still_reaches_the_ledger",
        "test_an_acknowledged_approval_is_not_recorded_again",
        # and a count of refused decisions filed under the approval already written
        "test_a_refused_signal_during_the_deciding_approval_sends_one_approval_event",
        "test_the_code_check_and_the_deciding_approval_write_their_statuses",
        "test_a_cancel_under_review_after_the_check_wrote_the_review_status",
        "test_four_eyes_only_the_second_approval_writes_the_approval",
        "test_a_cancel_while_the_check_writes_the_approval_waits_for_its_answer",
        "test_a_refusal_counted_after_the_deciding_approval_puts_the_ledger_back_in_step",
        # since "review-keys-loaded-by-activity": the key load is an activity in history
        "test_a_signed_decision_loads_the_review_keys_by_an_activity_in_history",
        # since "no-local-activities": the code check and status records are activities
        # (tests/workflows/test_no_local_activities.py)
        "test_new_runs_check_codes_and_record_statuses_by_activities-auto",
        "test_new_runs_check_codes_and_record_statuses_by_activities-wrong_code",
        "test_new_runs_check_codes_and_record_statuses_by_activities-overdue_review",
        "test_new_runs_check_codes_and_record_statuses_by_activities-refused_at_open",
        "test_a_run_from_before_the_patch_keeps_its_local_activities",
        # since "code-check-answered": the check a worker from before the carried status
        # cannot take, its status written on its word (test_code_check_answered.py)
        "test_an_auto_withdrawal_is_never_checked_by_a_worker_that_drops_its_status",
        "test_a_carried_status_the_check_did_not_write_is_recorded_by_the_run",
        # "plain-code-check-recorded": a run from between the two patches above
        "test_a_plain_check_after_the_deploy_still_reaches_the_ledger_via_an_older_worker",
        "test_a_plain_check_by_a_new_worker_writes_the_approval_once",
    ):
        assert path_test in names, f"no saved history for {path_test}"


def test_retired_histories_are_exactly_those_listed() -> None:
    """Issue 23: a history leaves the replay set only by a README line saying why."""
    listed = set(
        re.findall(r"^- `([^`]+\.json)`: patch", (RETIRED_DIR / "README.md").read_text(), re.M)
    )
    present = {path.name for path in RETIRED_DIR.iterdir() if path.name != "README.md"}
    assert present == listed
    assert not {path.name for path in HISTORIES} & listed


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(f"withdrawal-{path.stem}", path.read_text())
    # The histories were saved encrypted under the committed test key: replay decrypts.
    replayer = Replayer(
        workflows=[WithdrawalWorkflow, AuditAnchorWorkflow, WebhookDeliveryWorkflow],
        data_converter=data_converter(TEST_KEYS),
    )
    await replayer.replay_workflow(history)
