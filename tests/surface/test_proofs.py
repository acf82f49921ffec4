"""R9 proof material: content-addressed, PDF/JPEG/PNG only, size-limited."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from application import proofs
from application.proofs import MAX_PROOF_BYTES, proof_path, store_proof
from models.errors import InputError

PDF = b"%PDF-1.4\n%demo\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16 + b"\xff\xd9"


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("name", "data"), [("a.pdf", PDF), ("b.png", PNG), ("c.jpg", JPEG)])
def test_pdf_png_and_jpeg_are_stored_under_their_sha256(
    tmp_path: Path, name: str, data: bytes
) -> None:
    reference = store_proof(write(tmp_path, name, data), data_dir=tmp_path / "data")
    digest = hashlib.sha256(data).hexdigest()
    assert reference == f"sha256:{digest}"
    stored = tmp_path / "data" / "proofs" / digest
    assert stored == proof_path(reference, tmp_path / "data")
    assert stored.read_bytes() == data
    assert stored.stat().st_mode & 0o077 == 0  # personal documents: private to the service


def test_the_same_content_twice_is_stored_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = store_proof(write(tmp_path, "scan.pdf", PDF), data_dir)
    second = store_proof(write(tmp_path, "renamed-copy.png", PDF), data_dir)  # name is ignored
    assert first == second
    assert [p.name for p in (data_dir / "proofs").iterdir()] == [first.removeprefix("sha256:")]


def test_a_text_file_is_refused_naming_the_accepted_types(tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        store_proof(write(tmp_path, "notes.txt", b"just some text"), tmp_path)
    assert refused.value.field == "proof"
    assert "only PDF, JPEG or PNG" in str(refused.value)
    assert not (tmp_path / "proofs").exists() or not any((tmp_path / "proofs").iterdir())


def test_a_text_file_named_pdf_is_refused_by_its_content(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only PDF, JPEG or PNG"):
        store_proof(write(tmp_path, "fake.pdf", b"<html>not a pdf</html>"), tmp_path)


def test_an_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_PROOF_BYTES == 10 * 1024 * 1024
    monkeypatch.setattr(proofs, "MAX_PROOF_BYTES", 1024)  # keep the test small and fast
    with pytest.raises(InputError, match="larger than"):
        store_proof(write(tmp_path, "big.pdf", PDF + b"\0" * 2048), tmp_path)


def test_missing_and_empty_files_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        store_proof(tmp_path / "nowhere.pdf", tmp_path)
    with pytest.raises(InputError, match="empty"):
        store_proof(write(tmp_path, "empty.pdf", b""), tmp_path)


def test_a_malformed_reference_is_refused() -> None:
    with pytest.raises(InputError, match="not a proof reference"):
        proof_path("sha256:../../etc/passwd")
