"""Connecting to Temporal the same way everywhere: worker, CLI, launcher, tests.

The standard ``TEMPORAL_*`` client variables (address, namespace, TLS, API key) and
the environment-config file are honoured through ``temporalio.envconfig``.

Every payload is encrypted (``codec.encryption``) and failure messages travel as
encoded attributes, so the server and its history hold no personal data in the clear.
Search attributes are never encoded: they carry ids, enums and flags only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig

from codec.encryption import EncryptionCodec, KeyRing
from config.settings import DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS
from observability.tracing import tracing_interceptors


def data_converter(keys: KeyRing | None = None) -> DataConverter:
    """Pydantic payloads, encrypted; one function so client, worker and replayer agree.

    ``keys`` defaults to ``KeyRing.from_env()`` (``PAYLOAD_KEYS``, ``PAYLOAD_KEY_FILE``,
    or the dev key under the data directory).
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys or KeyRing.from_env()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def plain_data_converter() -> DataConverter:
    """What a reader without the keys sees: for tests proving nothing is in the clear."""
    return pydantic_data_converter


def connect_options() -> dict[str, Any]:
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_TEMPORAL_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    if not config.get("target_host"):
        config["target_host"] = DEFAULT_TEMPORAL_ADDRESS
    return config


async def connect(
    target_host: str | None = None,
    namespace: str | None = None,
    converter: DataConverter | None = None,
) -> Client:
    options = connect_options()
    if target_host:
        options["target_host"] = target_host
    if namespace:
        options["namespace"] = namespace
    # Tracing is on only where the process started it (OTEL_EXPORTER_OTLP_ENDPOINT).
    return await Client.connect(
        data_converter=converter or data_converter(),
        interceptors=tracing_interceptors(),
        **options,
    )
