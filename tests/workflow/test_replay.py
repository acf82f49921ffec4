"""Replay every saved history against today's workflow code: a change that would
break running withdrawals fails here, not in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from service.temporal_client import data_converter
from tests.workflow.keys import TEST_KEYS
from workflows.audit_anchor import AuditAnchorWorkflow
from workflows.withdrawal import WithdrawalWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


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
    ):
        assert path_test in names, f"no saved history for {path_test}"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(f"withdrawal-{path.stem}", path.read_text())
    # The histories were saved encrypted under the committed test key: replay decrypts.
    replayer = Replayer(
        workflows=[WithdrawalWorkflow, AuditAnchorWorkflow],
        data_converter=data_converter(TEST_KEYS),
    )
    await replayer.replay_workflow(history)
