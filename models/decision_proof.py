"""Signed review decisions: who decided what, for which withdrawal, when (R17).

A decision counts only with a proof issued after the reviewer authenticated
(``application.reviews``). The proof is a compact JWS (RFC 7515) signed with Ed25519
(``alg`` ``EdDSA``, RFC 8037) over these claims:

- ``wid`` the withdrawal id, ``rid`` the reviewer id, ``dec`` the decision
  (``approve``, ``reject``, ``cancel``, ``resolve_paid`` or ``resolve_not_paid``);
- ``cmt`` the SHA-256 of the comment, so a proof cannot carry another comment;
- ``iat`` the issue time (seconds since the epoch), ``nonce`` 128 random bits.

The header names the signing key (``kid``, its RFC 7638 thumbprint, issue 26); a proof
issued before proofs named their key is tried under every listed key.

Only the signing side holds the private key (``REVIEW_SIGNING_KEY``, one key); workers
verify with the public keys (``REVIEW_VERIFY_KEY``, a list while the key is rotated): a
stolen worker cannot mint an approval.

This module is pure (no I/O, no imports at call time): the workflow parses a proof and
checks its signature (``parse``, ``signature_problem``) before a forged decision takes any
room; the activity verifies it again (``verify``) and spends the nonce in the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.limits import (
    MAX_DECISION_PROOF_CHARS,
    REVIEW_PROOF_CLOCK_SKEW_SECONDS,
    REVIEW_PROOF_TTL_SECONDS,
)

HEADER = {"alg": "EdDSA", "typ": "review-decision+jws"}
# Since issue 26 a proof names its key: ``kid``, the key's RFC 7638 thumbprint. A proof
# without one (issued before) is tried under every listed key.
KID_CHARS = 43  # base64url of a SHA-256 digest, unpadded
# The public keys a proof may verify under (``REVIEW_VERIFY_KEY``, comma-separated while
# a key is rotated): any one of them will do. One key alone is accepted too.
VerifyKeys = Ed25519PublicKey | Sequence[Ed25519PublicKey]
# What a proof may name: review decisions, a reviewer's cancel, resolving an unknown payout.
DECISIONS = frozenset({"approve", "reject", "cancel", "resolve_paid", "resolve_not_paid"})
CANCEL = "cancel"  # the decision a reviewer's cancel proof names
NONCE_HEX_CHARS = 32


class ProofError(ValueError):
    """Why a proof does not count; the message is safe to record and show."""


class DecisionClaims(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    wid: str = Field(min_length=1, max_length=64)
    rid: str = Field(min_length=1, max_length=64)
    dec: str = Field(min_length=1, max_length=16)
    cmt: str = Field(min_length=64, max_length=64)
    iat: int
    nonce: str = Field(min_length=NONCE_HEX_CHARS, max_length=NONCE_HEX_CHARS)

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.iat, UTC)


def comment_digest(comment: str) -> str:
    return hashlib.sha256(comment.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ProofError("proof is not base64url") from None


def key_id(key: Ed25519PublicKey) -> str:
    """The key's ``kid``: its RFC 7638 JWK thumbprint (SHA-256, base64url), public."""
    jwk = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw_public(key))}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(jwk.encode()).digest())


def sign(claims: DecisionClaims, key: Ed25519PrivateKey) -> str:
    header_fields = {**HEADER, "kid": key_id(key.public_key())}
    header = _b64(json.dumps(header_fields, separators=(",", ":")).encode())
    payload = _b64(claims.model_dump_json().encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{_b64(key.sign(signing_input))}"


@dataclass(frozen=True)
class Proof:
    """A well-formed proof taken apart, its signature NOT checked yet."""

    claims: DecisionClaims
    kid: str | None  # None: issued before proofs named their key
    signing_input: bytes
    signature: bytes


def parse(token: str) -> Proof:
    """A well-formed proof, signature NOT checked (see ``signature_problem``)."""
    if len(token) > MAX_DECISION_PROOF_CHARS:
        raise ProofError(f"proof longer than {MAX_DECISION_PROOF_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise ProofError("proof is not a compact JWS")
    try:
        header = json.loads(_unb64(parts[0]))
    except (ValueError, UnicodeDecodeError):
        raise ProofError("proof header is not JSON") from None
    if not isinstance(header, dict):
        raise ProofError("proof header is not EdDSA review-decision+jws")
    kid = header.pop("kid", None)
    if header != HEADER:
        raise ProofError("proof header is not EdDSA review-decision+jws")
    if kid is not None and (not isinstance(kid, str) or len(kid) != KID_CHARS):
        raise ProofError("proof names a malformed key id")
    try:
        claims = DecisionClaims.model_validate_json(_unb64(parts[1]))
    except ValidationError:
        raise ProofError("proof claims are malformed") from None
    if claims.dec not in DECISIONS:
        raise ProofError("proof names no known decision")
    signature = _unb64(parts[2])
    if len(signature) != 64:
        raise ProofError("proof signature is not an Ed25519 signature")
    return Proof(claims, kid, f"{parts[0]}.{parts[1]}".encode(), signature)


def parse_claims(token: str) -> DecisionClaims:
    """The claims of a well-formed proof, signature NOT checked (see ``verify``)."""
    return parse(token).claims


def nonce_of(token: str | None) -> str | None:
    """The proof's nonce, or None when there is no proof or it does not parse."""
    if token is None:
        return None
    try:
        return parse_claims(token).nonce
    except ProofError:
        return None


def key_list(keys: VerifyKeys | None) -> list[Ed25519PublicKey]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, Ed25519PublicKey) else list(keys)


def signature_problem(proof: Proof, keys: VerifyKeys) -> str | None:
    """None when the signature checks out under the key the proof names (or, for a proof
    that names none, under any of ``keys``); else why not. Pure and deterministic: the
    workflow runs it too."""
    candidates = [k for k in key_list(keys) if proof.kid is None or key_id(k) == proof.kid]
    if not candidates:
        return "proof names a key this service does not list (REVIEW_VERIFY_KEY)"
    for key in candidates:
        try:
            key.verify(proof.signature, proof.signing_input)
            return None
        except InvalidSignature:
            continue
    return "proof signature does not verify"


def verify(token: str, keys: VerifyKeys) -> DecisionClaims:
    """The claims, once the Ed25519 signature over them checks out with one of ``keys``."""
    proof = parse(token)
    problem = signature_problem(proof, keys)
    if problem is not None:
        raise ProofError(problem)
    return proof.claims


def claims_problem(
    claims: DecisionClaims,
    *,
    withdrawal_id: str,
    reviewer_id: str,
    decision: str,
    comment: str,
    received_at: datetime,
) -> str | None:
    """Why these claims do not fit the decision as received, or None.

    Freshness is judged at ``received_at``, the time the workflow received the decision,
    so a worker outage between receipt and verification never refuses a valid proof.
    """
    if claims.wid != withdrawal_id:
        return "proof is for another withdrawal"
    if claims.rid != reviewer_id:
        return "proof is for another reviewer"
    if claims.dec != decision:
        return f"proof is for {claims.dec}, not {decision}"
    if claims.cmt != comment_digest(comment):
        return "proof is for another comment"
    issued = claims.issued_at
    if issued > received_at + timedelta(seconds=REVIEW_PROOF_CLOCK_SKEW_SECONDS):
        return "proof issued in the future"
    if received_at - issued > timedelta(seconds=REVIEW_PROOF_TTL_SECONDS):
        return f"proof older than {REVIEW_PROOF_TTL_SECONDS} seconds when received"
    return None


# ---- keys: raw 32-byte Ed25519 keys, written base64 (or PEM) -------------------------
def private_key_from_text(text: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("REVIEW_SIGNING_KEY: not an Ed25519 private key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_key_bytes(text, "REVIEW_SIGNING_KEY"))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("REVIEW_VERIFY_KEY: not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(_key_bytes(text, "REVIEW_VERIFY_KEY"))


def public_key_from_raw_text(text: str) -> Ed25519PublicKey:
    """A key as ``public_key_text`` writes it; imports nothing (the workflow calls it)."""
    return Ed25519PublicKey.from_public_bytes(_key_bytes(text, "REVIEW_VERIFY_KEY"))


def public_keys_from_text(text: str) -> list[Ed25519PublicKey]:
    """``REVIEW_VERIFY_KEY``: one key, or a comma-separated list while a key is rotated."""
    keys = [public_key_from_text(part) for part in text.split(",") if part.strip()]
    if not keys:
        raise ValueError("REVIEW_VERIFY_KEY: no key given")
    return keys


def _key_bytes(text: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name}: base64 of a 32-byte Ed25519 key expected") from None
    if len(raw) != 32:
        raise ValueError(f"{name}: 32 bytes expected, got {len(raw)}")
    return raw


def private_key_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(key)).decode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    # ``public_bytes_raw`` needs no serialization import: the workflow sandbox calls it.
    return key.public_bytes_raw()
