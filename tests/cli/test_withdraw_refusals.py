"""``withdraw`` refuses a bad request before the workflow freezes anything.

Malformed input exits 2 naming the field; a rule saying no exits 3 naming the rule. Either
way the account's held money and its orders' remainders are what they were, and no
withdrawal record is made.
"""

from __future__ import annotations

from decimal import Decimal

from tests.cli.conftest import Cli, one_line_failure

PERSONAL = "acct-personal"
ALIPAY_PAYEE = ("--payee-account", "13800001234", "--payee-name", "Li Si")


def plus_a_cent(amount: str) -> str:
    return str(Decimal(amount) + Decimal("0.01"))


def test_bad_requests_are_refused_before_anything_is_frozen(cli: Cli, proof_file: str) -> None:
    before = {account: cli.held(account) for account in (PERSONAL, "acct-r13", "acct-frozen")}
    r13_withdrawable = before["acct-r13"][2]
    cmb_remaining = before[PERSONAL][1]["R-P-CMB"]
    proof = ("--proof", proof_file)

    def withdraw(account: str, *flags: str) -> tuple[str, ...]:
        return ("withdraw", "--json", "--account", account, *flags)

    # (arguments, exit status, what the one stderr line must contain)
    cases: list[tuple[tuple[str, ...], int, str]] = [
        (
            withdraw(PERSONAL, "--order", "R-P-CMB", "--amount", plus_a_cent(cmb_remaining)),
            3,
            f"R14: order R-P-CMB has {cmb_remaining} remaining",
        ),
        (
            withdraw("acct-r13", "--order", "R-R13-1", "--amount", plus_a_cent(r13_withdrawable)),
            3,
            f"R14: withdrawable is {r13_withdrawable}",
        ),
        (
            withdraw(PERSONAL, "--order", "R-RISK-1", "--amount", "10.00"),
            3,
            "R5: order R-RISK-1 belongs to another account",
        ),
        (withdraw(PERSONAL, "--order", "R-NOPE", "--amount", "10.00"), 2, "R5: unknown"),
        (withdraw("acct-nobody", "--order", "R-P-CMB", "--amount", "10.00"), 2, "unknown account"),
        (
            withdraw(
                PERSONAL,
                "--order",
                "R-P-ICBC-OLD",
                "--amount",
                "10.00",
                "--to",
                "alipay",
                "--reason",
                "limit_passed",
                *proof,
            ),
            2,
            "payee_account: a designated receiving account (alipay, R9)",
        ),
        (
            withdraw(
                PERSONAL,
                "--order",
                "R-P-ICBC-OLD",
                "--amount",
                "10.00",
                "--to",
                "alipay",
                "--reason",
                "limit_passed",
                *ALIPAY_PAYEE,
            ),
            2,
            "proofs: a designated receiving account needs at least one proof document (R9)",
        ),
        (
            withdraw(
                PERSONAL,
                "--order",
                "R-P-CMB",
                "--amount",
                "10.00",
                "--to",
                "alipay",
                "--reason",
                "limit_passed",
                *ALIPAY_PAYEE,
                *proof,
            ),
            3,
            "R9: limit_passed, but the order's original route is still open",
        ),
        (
            withdraw(
                PERSONAL,
                "--order",
                "R-P-ICBC-OLD",
                "--amount",
                "10.00",
                "--to",
                "bank",
                "--reason",
                "limit_passed",
                "--payee-account",
                "6222-02AB",
                "--payee-name",
                "Li Si",
                "--branch",
                "ICBC-NJ-01",
                *proof,
            ),
            2,
            "payee.account_number: a bank card number has 12 to 19 digits",
        ),
        (
            withdraw(
                PERSONAL,
                "--order",
                "R-P-ICBC-OLD",
                "--amount",
                "10.00",
                "--to",
                "bank",
                "--reason",
                "limit_passed",
                "--payee-account",
                "6222021234567890",
                "--payee-name",
                "Li Si",
                "--branch",
                "NOWHERE-01",
                *proof,
            ),
            2,
            "branch: unknown branch 'NOWHERE-01'",
        ),
        (withdraw(PERSONAL, "--order", "R-P-CMB", "--amount", "1.234"), 2, "amount: at most two"),
        (
            withdraw("acct-frozen", "--order", "R-FROZEN-1", "--amount", "10.00"),
            3,
            "R1: the account is frozen",
        ),
        (
            withdraw(PERSONAL, "--order", "R-P-ICBC-OLD", "--amount", "10.00"),
            3,
            "R8: the original route closed",
        ),
        (
            withdraw(PERSONAL, "--order", "R-P-CMB", "--amount", "10.00", "--by", "acct-risk"),
            3,
            "R2: only the account itself or its enterprise master account may withdraw",
        ),
    ]
    results = cli.many(args for args, _, _ in cases)
    for (args, status, expected), result in zip(cases, results, strict=True):
        line = one_line_failure(result, status)
        assert expected in line, (args, line)

    after = {account: cli.held(account) for account in before}
    assert after == before  # held total, each order's remainder, and the withdrawable
    assert cli.json("list", "--account", "acct-frozen") == []
