"""A return after success end to end against `make run`'s stack (issue 25).

A designated withdrawal to a payee account ending 5555 succeeds; the payout simulator
returns it a nominal 30 days later (seconds here) and announces it with a signed callback;
the receiver starts the return workflow, which confirms it with the provider and credits
it once. The balance and the order's remaining amount come back to the fen, the same
money is withdrawn again to another account, and reconcile is clean.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx

from stack import Stack
from tests.api.conftest import api_of
from tests.cli.conftest import DEMO_PASSWORDS, Cli
from tests.launched import new_id

PERSONAL = "acct-personal"
ORDER = "R-P-ICBC-OLD"  # past its R8 limit: designated accounts only
RETURNING_CARD = "6222020200115555"  # CONTRACT.md: succeeds, then is returned
OTHER_CARD = "6222021234567890123"


def _designated(cli: Cli, proof_file: str, card: str, amount: str) -> str:
    withdrawal_id = new_id("cli-return")
    cli.json(
        "withdraw", "--account", PERSONAL, "--order", ORDER, "--amount", amount,
        "--to", "bank", "--reason", "limit_passed", "--payee-account", card,
        "--payee-name", "Li Si", "--branch", "ICBC-NJ-01", "--proof", proof_file,
        "--id", withdrawal_id,
    )  # fmt: skip
    assert cli.json("code", withdrawal_id, cli.latest_code(PERSONAL))["verdict"] == "verified"
    cli.wait_for_status(withdrawal_id, "under_review")
    cli.as_reviewer(DEMO_PASSWORDS["rev-1"]).json(
        "approve", withdrawal_id, "--reviewer", "rev-1", "--comment", "proof ok"
    )
    return withdrawal_id


def _console_page(stack: Stack, withdrawal_id: str) -> str:
    """The reviewer console's page of the withdrawal, signed in as rev-1 (no browser)."""
    with httpx.Client(base_url=stack.urls.http, timeout=30) as http:
        form = http.get("/console/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        fields = {"reviewer_id": "rev-1", "password": DEMO_PASSWORDS["rev-1"]}
        signed_in = http.post("/console/sign-in", data={**fields, "csrf_token": token[1]})
        assert signed_in.status_code == 303, signed_in.text  # to the queue: signed in
        page = http.get(f"/console/withdrawals/{withdrawal_id}")
        assert page.status_code == 200, page.text
        return page.text


def _figures(cli: Cli) -> tuple[str, str, str, str]:
    """cash, held, withdrawable and the order's remaining amount."""
    document: dict[str, Any] = cli.json("withdrawable", PERSONAL)
    remaining = {o["order_id"]: o["remaining"] for o in document["orders"]}[ORDER]
    return document["cash"], document["held"], document["withdrawable"], remaining


def test_a_returned_payout_comes_back_to_the_fen_and_can_be_withdrawn_again(
    cli: Cli, cli_stack: Stack, proof_file: str
) -> None:
    before = _figures(cli)
    returned_id = _designated(cli, proof_file, RETURNING_CARD, "100.05")
    assert cli.wait_for_status(returned_id, "succeeded", "returned")["payee"] == "****5555"

    done = cli.wait_for_status(returned_id, "returned")
    assert done["reason"] == "returned by the provider: the receiving account was closed"
    assert [step["status"] for step in done["timeline"]][-2:] == ["succeeded", "returned"]
    assert "returned 退回" in cli("status", returned_id).stdout
    assert _figures(cli) == before  # balance and the order's remaining, to the fen
    listed = cli.json("list", "--account", PERSONAL, "--status", "returned")
    assert returned_id in [row["id"] for row in listed]
    details = cli.json("transactions", PERSONAL, "--type", "withdrawal")["transactions"]
    mine = [
        (d["type"], d["direction"], d["amount"])
        for d in details
        if d["withdrawal_id"] == returned_id
    ]
    assert mine == [("withdrawal", "debit", "100.05"), ("withdrawal", "credit", "100.05")]
    with api_of(cli_stack) as api:  # the HTTP API shows it too
        assert api.get(f"/v1/withdrawals/{returned_id}").json()["status"] == "returned"
        page = api.get("/v1/withdrawals", params={"account_id": PERSONAL, "status": "returned"})
        assert returned_id in [row["id"] for row in page.json()["withdrawals"]]
    assert "退回" in _console_page(cli_stack, returned_id)  # the console shows it too

    again_id = _designated(cli, proof_file, OTHER_CARD, "100.05")  # the same money again
    cli.wait_for_status(again_id, "succeeded")
    cash, held, _, remaining = _figures(cli)
    assert held == before[1]
    taken = Decimal("100.05")
    assert Decimal(before[0]) - Decimal(cash) == Decimal(before[3]) - Decimal(remaining) == taken

    report = cli.json("reconcile")
    assert report["summary"]["clean"] is True, report["mismatches"]
    assert cli.json("ledger", "verify")["ok"] is True
