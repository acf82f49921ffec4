"""Driving withdrawals by hand, as a support engineer or a backend script would.

Each test runs one withdrawal through ``starter.py`` against the real stack: automatic
(R15, R16), designated bank account approved (R9, R10, R17), rejected (R18, R19) and
cancelled (R18 *beyond*, R19); ``list`` and ``reviews`` are read in both modes.
"""

from __future__ import annotations

from decimal import Decimal

from tests.cli.conftest import DEMO_PASSWORDS, Cli
from tests.launched import new_id

PERSONAL = "acct-personal"
BANK_CARD = "6222021234567890123"  # shown only as ****0123


def money(text: str) -> Decimal:
    return Decimal(text)


def test_automatic_withdrawal_by_hand_with_a_wrong_code_first(cli: Cli) -> None:
    held_before = cli.held(PERSONAL)[0]
    withdrawal_id = new_id("cli-auto")
    flags = ("--account", PERSONAL, "--order", "R-P-ALIPAY", "--amount", "12.34")
    started = cli.json("withdraw", *flags, "--id", withdrawal_id)
    assert (started["id"], started["status"], started["amount"]) == (
        withdrawal_id,
        "awaiting_code",
        "12.34",
    )
    assert started["next"] == f"starter.py code {withdrawal_id} CODE"
    assert started["review_reasons"] == []
    # --id is the idempotency key: the same request attaches, nothing is frozen twice.
    again = cli.json("withdraw", *flags, "--id", withdrawal_id)
    assert (again["id"], again["status"]) == (withdrawal_id, "awaiting_code")
    assert money(cli.held(PERSONAL)[0]) == money(held_before) + money("12.34")

    inbox = cli.json("sms-inbox", "--account", PERSONAL)
    code = inbox[0]["code"]
    assert "12.34" in inbox[0]["text"] and inbox[0]["at"].endswith("+00:00")
    wrong = "000000" if code != "000000" else "111111"
    answer = cli.json("code", withdrawal_id, wrong)
    assert (answer["verdict"], answer["attempts_left"]) == ("wrong", 4)
    assert cli.refused("resend", withdrawal_id).startswith("R15: a new code can be sent in")
    assert cli.json("code", withdrawal_id, code)["verdict"] == "verified"

    done = cli.wait_for_status(withdrawal_id, "succeeded")
    assert (done["amount"], done["route"], done["kind"], done["reason"]) == (
        "12.34",
        "original",
        "recharge",
        None,
    )
    steps = [step["status"] for step in done["timeline"]]
    assert steps[0] == "verifying" and steps[-1] == "succeeded" and "awaiting_code" in steps
    text = cli("status", withdrawal_id)
    assert text.returncode == 0 and "succeeded 提现成功" in text.stdout
    assert cli.refused("cancel", withdrawal_id) == (
        f"R18: withdrawal {withdrawal_id} is already succeeded 提现成功"
    )
    assert cli.held(PERSONAL)[0] == held_before


def test_designated_bank_withdrawal_is_reviewed_and_approved(cli: Cli, proof_file: str) -> None:
    # An applicant who is also a registered reviewer, to show they cannot review themselves.
    fixture = proof_file.replace("payment-proof.pdf", "self-reviewer.json")
    with open(fixture, "w", encoding="utf-8") as file:
        file.write(
            '{"reviewers": [{"id": "acct-personal", "name": "Applicant Reviewer",'
            ' "password": "self-review passphrase"}]}'
        )
    assert cli("load", fixture).returncode == 0
    held_before = cli.held(PERSONAL)[0]
    withdrawal_id = new_id("cli-bank")
    started = cli.json(
        "withdraw", "--account", PERSONAL, "--order", "R-P-ICBC-OLD", "--amount", "100.00",
        "--to", "bank", "--reason", "limit_passed", "--payee-account", BANK_CARD,
        "--payee-name", "Li Si", "--branch", "ICBC-NJ-01", "--proof", proof_file,
        "--id", withdrawal_id,
    )  # fmt: skip
    assert (started["status"], started["payee"]) == ("awaiting_code", "****0123")
    assert "R17: designated receiving account (R9)" in started["review_reasons"]
    assert cli.json("code", withdrawal_id, cli.latest_code(PERSONAL))["verdict"] == "verified"
    cli.wait_for_status(withdrawal_id, "under_review")

    waiting = {r["id"]: r for r in cli.json("reviews")}[withdrawal_id]
    assert (waiting["amount"], waiting["route"], waiting["payee"]) == ("100.00", "bank", "****0123")
    assert waiting["proofs"][0].startswith("sha256:") and waiting["overdue"] is False
    assert waiting["designated_reason"] == "limit_passed"
    assert "R17: designated receiving account (R9)" in waiting["review_reasons"]
    table = cli("reviews").stdout
    assert withdrawal_id in table and "****0123" in table and BANK_CARD not in table

    stranger = cli.as_reviewer("guess").refused(
        "approve", withdrawal_id, "--reviewer", "rev-nobody"
    )
    assert stranger == "authentication failed"  # R17: nobody unauthenticated decides
    wrong = cli.as_reviewer("not rev-1's").refused("approve", withdrawal_id, "--reviewer", "rev-1")
    assert wrong == "authentication failed"
    applicant = cli.as_reviewer("self-review passphrase").refused(
        "approve", withdrawal_id, "--reviewer", PERSONAL
    )
    assert "ignored: the applicant cannot review" in applicant
    assert money(cli.held(PERSONAL)[0]) == money(held_before) + money("100.00")

    approved = cli.as_reviewer(DEMO_PASSWORDS["rev-1"]).json(
        "approve", withdrawal_id, "--reviewer", "rev-1", "--comment", "proof ok"
    )
    assert approved["accepted"] is True and approved["reviewer_id"] == "rev-1"
    assert approved["status"] in ("approved_awaiting_payout", "succeeded")
    done = cli.wait_for_status(withdrawal_id, "succeeded")
    assert done["payee"] == "****0123"
    assert cli.held(PERSONAL)[0] == held_before


def test_rejected_withdrawal_shows_its_reason_and_releases_the_money(cli: Cli) -> None:
    account = "acct-risk"  # an account under its real name is overdue: review (R17)
    before = cli.held(account)
    withdrawal_id = new_id("cli-reject")
    cli.json(
        "withdraw", "--account", account, "--order", "R-RISK-1", "--amount", "50.00",
        "--id", withdrawal_id,
    )  # fmt: skip
    assert cli.json("code", withdrawal_id, cli.latest_code(account))["verdict"] == "verified"
    cli.wait_for_status(withdrawal_id, "under_review")
    reason = "proof does not match the payer"
    rejected = cli.as_reviewer(DEMO_PASSWORDS["rev-2"]).json(
        "reject", withdrawal_id, "--reviewer", "rev-2", "--reason", reason
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", reason)
    assert cli.held(account) == before  # R19: held, remainder and withdrawable restored

    listed = cli.json("list", "--account", account, "--status", "rejected")
    first = listed[0]
    assert (first["id"], first["reason"], first["status_zh"]) == (
        withdrawal_id,
        reason,
        "审批拒绝",
    )
    table = cli("list", "--account", account).stdout
    assert f"rejected 审批拒绝: {reason}" in table
    assert withdrawal_id not in cli("reviews").stdout
    late = cli.as_reviewer(DEMO_PASSWORDS["rev-1"]).refused(
        "approve", withdrawal_id, "--reviewer", "rev-1"
    )
    # the same answer whether the run is still settling or has closed
    assert late.startswith(
        f"R17: withdrawal {withdrawal_id} is already rejected 审批拒绝: {reason}"
    )


def test_cancel_before_payout_releases_the_money(cli: Cli) -> None:
    before = cli.held(PERSONAL)
    withdrawal_id = new_id("cli-cancel")
    cli.json(
        "withdraw", "--account", PERSONAL, "--order", "R-P-CARD", "--amount", "70.00",
        "--id", withdrawal_id,
    )  # fmt: skip
    # R2: --by is the caller's assertion, honoured only for the applicant or its master.
    stranger = cli.refused("cancel", withdrawal_id, "--by", "acct-r13")
    assert stranger.startswith("R2: acct-r13 is neither the applicant nor its master account")
    reviewer = cli.as_reviewer(DEMO_PASSWORDS["rev-1"])  # signed in, but not ops or lead
    assert "may not cancel" in reviewer.refused("cancel", withdrawal_id, "--reviewer", "rev-1")
    assert cli.held(PERSONAL) != before  # still held
    cancelled = cli.json("cancel", withdrawal_id, "--by", PERSONAL)
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "cancelled by the user")
    assert cli.held(PERSONAL) == before  # R19: held, remainder and withdrawable restored
    # A cancel retried (its answer lost) answers as the first did: one cancel per withdrawal.
    assert cli.json("cancel", withdrawal_id, "--by", PERSONAL)["status"] == "cancelled"
    assert "R15" in cli.refused("code", withdrawal_id, "123456")
    assert cli.refused("status", "no-such-withdrawal", status=2) == (
        "withdrawal: no withdrawal 'no-such-withdrawal'"
    )

    listed = cli.json("list", "--account", PERSONAL)
    assert listed[0]["id"] == withdrawal_id  # newest first
    assert listed[0]["created_at"].endswith("+00:00") and listed[0]["amount"] == "70.00"
