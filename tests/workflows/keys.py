"""Payload keys for tests only: fixed, so saved histories replay; never used anywhere else.

Production keys come from ``PAYLOAD_KEYS`` or ``PAYLOAD_KEY_FILE`` (codec/encryption.py).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from codec.encryption import KeyRing
from models.decision_proof import private_key_from_text

TEST_KEY_LINE = "test-current:e03b5a0a79762e69ddfd820b743e9b6c2e836d90f2452acc73f9e48c879d941f"
RETIRED_KEY_LINE = "test-retired:fae588d8c7c8ae77c8fd9c4a3fa27984a7cae6728c980988681006dd148e14d8"

TEST_KEYS = KeyRing.parse(TEST_KEY_LINE)

# Review decision keys for tests: the signing key stays with the test (the "console"),
# the worker gets only the public key derived from it.
TEST_REVIEW_SIGNING_KEY_TEXT = "MYwlafFJk5ZGfW+U7vJqYq77keuJOEJm4zc1yA4EKTk="


def review_signing_key() -> Ed25519PrivateKey:
    return private_key_from_text(TEST_REVIEW_SIGNING_KEY_TEXT)


def review_verify_key() -> Ed25519PublicKey:
    return review_signing_key().public_key()
