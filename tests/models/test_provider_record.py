"""``models.provider_record.check_record``, the one check of a provider's record (issue 22).

Invariant (property): a record is acted on only when key, amount, route and payee digest
all equal the withdrawal's; any single difference is a mismatch naming that kind of field
and nothing of the payee."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateways.payout import Transfer, TransferState, payee_digest
from models.domain import Payee, Route, WithdrawalRequest
from models.money import Money
from models.provider_record import ExpectedTransfer, RecordField, check_record

PAYEE = Payee(account_number="13912345678", name="Zhang Sanfeng")
OTHER = Payee(account_number="13900001111", name="Li Si")


def request() -> WithdrawalRequest:
    return WithdrawalRequest.model_validate(
        {
            "withdrawal_id": "w-1",
            "account_id": "acct-auto",
            "amount": Money.yuan("120.00"),
            "kind": "recharge",
            "route": Route.ALIPAY,
            "order_id": "R-1",
            "reason": "limit_passed",
            "payee": PAYEE,
            "proofs": ["sha256:ab"],
        }
    )


def its_transfer(**changes: object) -> Transfer:
    transfer = Transfer(
        idempotency_key="w-1",
        state=TransferState.SUCCEEDED,
        amount=Money.yuan("120.00"),
        payee_digest=payee_digest(Route.ALIPAY, PAYEE, "R-1"),
        route=Route.ALIPAY,
    )
    return transfer.model_copy(update=changes)


def test_the_withdrawals_own_record_matches_with_or_without_a_reported_route() -> None:
    expected = ExpectedTransfer.of(request())
    assert check_record(its_transfer(), expected).matches
    assert check_record(its_transfer(route=None), expected).matches


@given(
    field=st.sampled_from(list(RecordField)),
    state=st.sampled_from(list(TransferState)),
    fen=st.integers(min_value=1, max_value=10**9).filter(lambda f: f != 12_000),
)
def test_any_one_field_differing_is_a_mismatch_of_that_field(
    field: RecordField, state: TransferState, fen: int
) -> None:
    changes: dict[RecordField, dict[str, object]] = {
        RecordField.KEY: {"idempotency_key": "w-2"},
        RecordField.AMOUNT: {"amount": Money(fen)},
        RecordField.ROUTE: {"route": Route.BANK},
        RecordField.PAYEE: {"payee_digest": payee_digest(Route.ALIPAY, OTHER, "R-1")},
    }
    changed = changes[field]
    verdict = check_record(its_transfer(state=state, **changed), ExpectedTransfer.of(request()))

    assert verdict.mismatch is field and not verdict.matches
    for detail in (PAYEE.account_number, OTHER.account_number, PAYEE.name, OTHER.name):
        assert detail not in verdict.why


def test_a_record_without_a_payee_digest_cannot_match() -> None:
    verdict = check_record(its_transfer(payee_digest=None), ExpectedTransfer.of(request()))
    assert verdict.mismatch is RecordField.PAYEE
