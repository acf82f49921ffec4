"""R9 proof material: files stored by content, so a reference can never point to a
changed document and the same file attached twice is stored once.

``store_proof`` returns ``"sha256:<hex>"``, the reference a ``WithdrawalRequest`` carries;
the file lives at ``<data dir>/proofs/<hex>``. Only PDF, JPEG and PNG are accepted, told
apart by their first bytes rather than the file name, because a reviewer opens them.
Proofs are personal documents: the directory and files are private to the service user.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from config import settings
from models.errors import InputError

MAX_PROOF_BYTES = 10 * 1024 * 1024  # 10 MiB: a scanned page or a photo, not an archive
PROOFS_DIRNAME = "proofs"
REFERENCE_PREFIX = "sha256:"

# Magic numbers: PDF "%PDF-", PNG's 8-byte signature, JPEG's SOI marker and first segment.
PROOF_TYPES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff_proof_type(data: bytes) -> str | None:
    """The MIME type the first bytes announce, if it is one we accept."""
    for magic, mime in PROOF_TYPES:
        if data.startswith(magic):
            return mime
    return None


def proofs_dir(data_dir: Path | None = None) -> Path:
    return (data_dir if data_dir is not None else settings.DATA_DIR) / PROOFS_DIRNAME


def proof_path(reference: str, data_dir: Path | None = None) -> Path:
    """Where the proof ``reference`` (``sha256:<hex>``) is stored."""
    digest = reference.removeprefix(REFERENCE_PREFIX)
    if not reference.startswith(REFERENCE_PREFIX) or len(digest) != 64 or not _is_hex(digest):
        raise InputError("proof", f"not a proof reference: {reference!r}")
    return proofs_dir(data_dir) / digest


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _read_bounded(path: Path) -> bytes:
    """At most one byte past the limit, so a file growing while read cannot slip by."""
    if not path.is_file():
        raise InputError("proof", f"{path.name}: no such file")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_PROOF_BYTES + 1)
    except OSError as error:
        raise InputError("proof", f"{path.name}: cannot be read ({error.strerror})") from None
    if len(data) > MAX_PROOF_BYTES:
        raise InputError(
            "proof", f"{path.name}: larger than {MAX_PROOF_BYTES // (1024 * 1024)} MiB"
        )
    if not data:
        raise InputError("proof", f"{path.name}: the file is empty")
    return data


def _write_once(target: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so a reader never sees half a proof."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if target.exists():
        return  # same content, same name: already stored
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_proof_file(path: Path) -> bytes:
    """A proof file's bytes, refused (``InputError``) when missing, empty or too large."""
    return _read_bounded(path)


def store_proof(path: Path, data_dir: Path | None = None) -> str:
    """Store the proof file at ``path`` by content (R9); return ``"sha256:<hex>"``.

    Raises ``InputError("proof", ...)`` for a missing, unreadable, empty, oversized or
    non-PDF/JPEG/PNG file.
    """
    return store_proof_bytes(_read_bounded(path), path.name, data_dir)


def store_proof_bytes(data: bytes, name: str, data_dir: Path | None = None) -> str:
    """Store proof content (from a file or an upload) by content; ``"sha256:<hex>"``.

    The same limits whichever face it came through: not empty, at most
    ``MAX_PROOF_BYTES``, PDF, JPEG or PNG by its first bytes.
    """
    if not data:
        raise InputError("proof", f"{name}: the file is empty")
    if len(data) > MAX_PROOF_BYTES:
        raise InputError("proof", f"{name}: larger than {MAX_PROOF_BYTES // (1024 * 1024)} MiB")
    if sniff_proof_type(data) is None:
        raise InputError("proof", f"{name}: only PDF, JPEG or PNG files are accepted as proof (R9)")
    digest = hashlib.sha256(data).hexdigest()
    _write_once(proofs_dir(data_dir) / digest, data)
    return REFERENCE_PREFIX + digest
