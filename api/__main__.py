"""``python -m api [--host H] [--port P]``: serve the HTTP API (``make run`` starts it)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from api.app import DEFAULT_HTTP_PORT, create_app
from observability.log_filter import install_personal_data_filter
from observability.process import start_observability
from observability.runtime import free_loopback_address


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("HTTP_PORT") or DEFAULT_HTTP_PORT)
    )
    args = parser.parse_args(argv)
    # Logs, this process's Temporal runtime (its SDK metrics join /metrics) and tracing,
    # before the app's client connects.
    start_observability("withdrawal-api", free_loopback_address())
    install_personal_data_filter()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
