"""Payload encryption (AES-256-GCM, key id in the metadata): rotation keeps old payloads
readable, tampering is detected, and the saved histories replay only with the codec."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from client.connection import data_converter, plain_data_converter
from codec.encryption import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    KeyRing,
    PayloadKeyError,
    UnknownKeyError,
    new_key_line,
)
from models.domain import Kind, WithdrawalRequest
from models.money import Money
from tests.security.history import history_payloads
from tests.workflows.keys import RETIRED_KEY_LINE, TEST_KEY_LINE, TEST_KEYS
from workflows.withdrawal import WithdrawalWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "workflows" / "histories").glob("*.json"))
SECRET = Payload(metadata={"encoding": b"json/plain"}, data=b'{"payee":"6222020200112233445"}')


def test_a_payload_is_sealed_under_the_newest_key_and_opens_again() -> None:
    codec = EncryptionCodec(KeyRing.parse(f"{TEST_KEY_LINE},{RETIRED_KEY_LINE}"))
    sealed = codec.encrypt(SECRET)
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"test-current"
    assert b"6222020200112233445" not in sealed.SerializeToString()
    assert codec.encrypt(SECRET).data != sealed.data  # a fresh nonce every time
    assert codec.decrypt(sealed) == SECRET


def test_after_rotation_the_old_key_still_decrypts() -> None:
    old = EncryptionCodec(KeyRing.parse(RETIRED_KEY_LINE))
    written_before = old.encrypt(SECRET)
    rotated = EncryptionCodec(KeyRing.parse(f"{TEST_KEY_LINE},{RETIRED_KEY_LINE}"))
    assert rotated.decrypt(written_before) == SECRET
    assert rotated.encrypt(SECRET).metadata[KEY_ID_METADATA] == b"test-current"
    retired = EncryptionCodec(KeyRing.parse(TEST_KEY_LINE))  # the old key dropped too early
    with pytest.raises(UnknownKeyError, match="test-retired"):
        retired.decrypt(written_before)


def test_tampered_or_relabelled_ciphertext_is_refused() -> None:
    codec = EncryptionCodec(KeyRing.parse(f"{TEST_KEY_LINE},{RETIRED_KEY_LINE}"))
    sealed = codec.encrypt(SECRET)
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + b"\x00")
    with pytest.raises(ValueError, match="authentication"):
        codec.decrypt(flipped)
    relabelled = Payload(
        metadata={**sealed.metadata, KEY_ID_METADATA: b"test-retired"}, data=sealed.data
    )
    with pytest.raises(ValueError, match="authentication"):
        codec.decrypt(relabelled)


def test_unencrypted_payloads_pass_through_decode() -> None:
    assert EncryptionCodec(TEST_KEYS).decrypt(SECRET) == SECRET


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "no payload keys"),
        ("k1:abcd", "32 bytes"),
        ("k1:zz", "not hex"),
        ("no-colon", "id:hex"),
        (f"{TEST_KEY_LINE},{TEST_KEY_LINE}", "repeat"),
        ("bad id:" + "00" * 32, "letters, digits"),
    ],
)
def test_unusable_keys_are_refused_without_echoing_them(text: str, problem: str) -> None:
    with pytest.raises(PayloadKeyError, match=problem) as refused:
        KeyRing.parse(text)
    assert "e03b5a0a" not in str(refused.value)


def test_keys_come_from_env_then_key_file_then_a_private_dev_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYLOAD_KEYS", raising=False)
    monkeypatch.delenv("PAYLOAD_KEY_FILE", raising=False)
    dev = KeyRing.from_env(tmp_path)
    dev_file = tmp_path / "payload-keys"
    assert stat.S_IMODE(dev_file.stat().st_mode) == 0o600
    assert KeyRing.from_env(tmp_path) == dev  # generated once, then reused

    key_file = tmp_path / "keys"
    key_file.write_text(f"# newest first\n{new_key_line('from-file')}\n{RETIRED_KEY_LINE}\n")
    monkeypatch.setenv("PAYLOAD_KEY_FILE", str(key_file))
    assert [k.key_id for k in KeyRing.from_env(tmp_path).keys] == ["from-file", "test-retired"]
    monkeypatch.setenv("PAYLOAD_KEYS", TEST_KEY_LINE)
    assert KeyRing.from_env(tmp_path) == TEST_KEYS


async def test_the_data_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter(TEST_KEYS)
    request = WithdrawalRequest(
        withdrawal_id="w-1", account_id="acct-1", amount=Money.yuan("1.00"), kind=Kind.RECHARGE
    )
    (payload,) = await converter.encode([request])
    assert payload.metadata["encoding"] == ENCODING and b"acct-1" not in payload.data
    assert await converter.decode([payload], [WithdrawalRequest]) == [request]

    failure = Failure()
    await converter.encode_failure(ApplicationError("payee 6222020200112233445"), failure)
    assert b"6222020200112233445" not in failure.SerializeToString()  # travels encrypted
    decoded = await converter.decode_failure(failure)
    assert "6222020200112233445" in str(decoded)


def test_saved_histories_hold_encrypted_payloads_only() -> None:
    assert HISTORIES
    for path in HISTORIES:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        payloads = history_payloads(history)
        assert payloads, path.name
        keys = {p.metadata.get(KEY_ID_METADATA) for p in payloads}
        assert all(p.metadata["encoding"] == ENCODING for p in payloads), path.name
        assert keys == {b"test-current"}, path.name


async def test_replay_needs_the_codec_and_survives_key_rotation() -> None:
    path = next(p for p in HISTORIES if "designated_account_is_paid_after_approval-bank" in p.name)
    history = WorkflowHistory.from_json(f"withdrawal-{path.stem}", path.read_text())
    rotated = KeyRing.parse(f"{new_key_line('test-next')},{TEST_KEY_LINE}")
    replayer = Replayer(workflows=[WithdrawalWorkflow], data_converter=data_converter(rotated))
    await replayer.replay_workflow(history)

    blind = Replayer(workflows=[WithdrawalWorkflow], data_converter=plain_data_converter())
    result = await blind.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None  # without the keys the inputs are unreadable
