"""The worker and every command connect from the standard Temporal environment
configuration, so a self-hosted cluster or Temporal Cloud needs no code change."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.connection import connect_options


def test_defaults_point_at_the_local_dev_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")
    options = connect_options()
    assert options["target_host"] == "localhost:7233"
    assert options["namespace"] == "default"
    assert not options.get("tls")


def test_cloud_api_key_and_namespace_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "payments.abcde.tmprl.cloud:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "payments.abcde")
    monkeypatch.setenv("TEMPORAL_API_KEY", "secret-key")
    options = connect_options()
    assert options["target_host"] == "payments.abcde.tmprl.cloud:7233"
    assert options["namespace"] == "payments.abcde"
    assert options["api_key"] == "secret-key"
    assert options["tls"]  # an API key turns TLS on


def test_mtls_client_certificates_from_a_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    config = tmp_path / "temporal.toml"
    config.write_text(
        "[profile.default]\n"
        'address = "temporal.internal:7233"\n'
        'namespace = "payments"\n'
        "[profile.default.tls]\n"
        f'client_cert_path = "{cert}"\n'
        f'client_key_path = "{key}"\n'
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    options = connect_options()
    assert options["target_host"] == "temporal.internal:7233"
    assert options["namespace"] == "payments"
    tls = options["tls"]
    assert tls.client_cert is not None and b"BEGIN CERTIFICATE" in tls.client_cert
