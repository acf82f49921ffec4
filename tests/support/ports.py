"""Ports for servers a test starts: never a fixed number, so tests can run side by side."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; the test binds it next).

    Also the port to use for "nobody answers here": it was just free."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
