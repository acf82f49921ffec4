"""Accounts and orders the workflow tests run against (fake phones and names)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

PHONES = {
    "acct-auto": "+8613800000001",
    "acct-risk": "+8613800000002",
    "acct-risk-sibling": "+8613800000003",
    "acct-ent": "+8613800000004",
    "acct-frozen": "+8613800000005",
    "acct-member": "+8613800000006",
}
PAYEE_NAME = "Zhang Sanfeng"
BANK_ACCOUNT_NUMBER = "6222020200112233445"
ALIPAY_ACCOUNT = "13912345678"
# Reviewers sign in (R17); rev-kin shares acct-risk's real name and may not decide it.
PASSWORDS = {
    "rev-1": "rev-1 passphrase",
    "rev-2": "rev-2 passphrase",
    "rev-ops": "rev-ops passphrase",
    "rev-kin": "rev-kin passphrase",
    "ops-1": "ops-1 passphrase",
    "lead-1": "lead-1 passphrase",
}
PERSONAL_IDENTITY = "id-risky"


def fixture(now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)

    def days_ago(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    def account(account_id: str, **fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": account_id,
            "owner_name": f"Owner of {account_id}",
            "type": "personal",
            "real_name_verified": True,
            "status": "normal",
            "identity_id": f"id-{account_id}",
            "security_phone": PHONES[account_id],
            "master_account_id": None,
            "cash": "0.00",
        }
        base.update(fields)
        return base

    return {
        "accounts": [
            account("acct-auto", cash="1000.00"),
            account("acct-risk", cash="500.00", identity_id="id-risky"),
            account("acct-risk-sibling", cash="10.00", overdue="50.00", identity_id="id-risky"),
            account("acct-ent", type="enterprise", cash="800.00"),
            account("acct-member", cash="300.00", master_account_id="acct-ent"),
            account("acct-frozen", status="frozen", cash="100.00"),
        ],
        "recharge_orders": [
            {
                "id": "R-ALIPAY",
                "account_id": "acct-auto",
                "amount": "500.00",
                "channel": "alipay",
                "bank": None,
                "paid_at": days_ago(3),
            },
            {
                "id": "R-ICBC-OLD",
                "account_id": "acct-auto",
                "amount": "300.00",
                "channel": "online_banking_personal",
                "bank": "ICBC",
                "paid_at": days_ago(40),
            },
            {
                "id": "R-CARD",
                "account_id": "acct-auto",
                "amount": "200.00",
                "channel": "bank_card",
                "bank": "CCB",
                "paid_at": days_ago(5),
            },
            {
                "id": "R-RISK",
                "account_id": "acct-risk",
                "amount": "400.00",
                "channel": "alipay",
                "bank": None,
                "paid_at": days_ago(2),
            },
            {
                "id": "R-FROZEN",
                "account_id": "acct-frozen",
                "amount": "100.00",
                "channel": "alipay",
                "bank": None,
                "paid_at": days_ago(2),
            },
            {
                "id": "R-MEMBER",
                "account_id": "acct-member",
                "amount": "300.00",
                "channel": "alipay",
                "bank": None,
                "paid_at": days_ago(2),
            },
        ],
        "reviewers": [
            {"id": "rev-1", "name": "Reviewer One", "password": PASSWORDS["rev-1"]},
            {"id": "rev-2", "name": "Reviewer Two", "password": PASSWORDS["rev-2"]},
            {
                "id": "rev-ops",
                "name": "Ops Reviewer",
                "role": "ops",
                "password": PASSWORDS["rev-ops"],
            },
            {
                "id": "rev-kin",  # same real name as acct-risk (R17)
                "name": "Reviewer Under The Applicant's Name",
                "password": PASSWORDS["rev-kin"],
                "identity_id": PERSONAL_IDENTITY,
            },
            {"id": "ops-1", "name": "Ops One", "role": "ops", "password": PASSWORDS["ops-1"]},
            {"id": "lead-1", "name": "Lead One", "role": "lead", "password": PASSWORDS["lead-1"]},
        ],
    }
