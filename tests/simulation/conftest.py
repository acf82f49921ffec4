"""The workflow tests' time-skipping server, for the simulator's real-workflow runs."""

from tests.workflows.conftest import edge_env

__all__ = ["edge_env"]
