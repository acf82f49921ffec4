"""What ``make run`` runs (``python -m stack``): the whole stack, started, watched and stopped
(``running.py``), with the Temporal dev server (``dev_server.py``) and its child processes
(``child_process.py``)."""

from stack.running import (
    DEFAULT_FIXTURE,
    REPO_ROOT,
    LaunchError,
    Ports,
    Stack,
    StackConfig,
    StackUrls,
)

__all__ = [
    "DEFAULT_FIXTURE",
    "REPO_ROOT",
    "LaunchError",
    "Ports",
    "Stack",
    "StackConfig",
    "StackUrls",
]
