"""Connecting to Temporal the same way everywhere: worker, CLI, tests.

The standard ``TEMPORAL_*`` client variables (address, namespace, TLS, API key) and
the environment-config file are honoured through ``temporalio.envconfig``.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig

from service.settings import DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS


def data_converter() -> DataConverter:
    """Pydantic payloads; one function so client, worker and replayer agree."""
    return pydantic_data_converter


def connect_options() -> dict[str, Any]:
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_TEMPORAL_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    if not config.get("target_host"):
        config["target_host"] = DEFAULT_TEMPORAL_ADDRESS
    return config


async def connect(target_host: str | None = None, namespace: str | None = None) -> Client:
    options = connect_options()
    if target_host:
        options["target_host"] = target_host
    if namespace:
        options["namespace"] = namespace
    return await Client.connect(data_converter=data_converter(), **options)
