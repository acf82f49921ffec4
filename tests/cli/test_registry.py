"""The command registry: every command is one registered line, and a command imports only
what it needs (``--help`` no command at all, a database command no Temporal client)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import cli.commands as commands_package
from cli.commands import COMMANDS, load, module_name

ROOT = Path(__file__).parents[2]
HEAVY_FOR_HELP = ("sqlalchemy", "sqlmodel", "temporalio", "httpx", "cli.commands.")


def _modules_loaded_by(argv: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running ``starter.py argv``."""
    script = (
        "import json, sys\n"
        "from cli.app import main\n"
        f"main({argv!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return set(loaded)


def test_every_command_module_is_registered_under_its_own_name_and_help() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(commands_package.__path__)
        if not info.name.startswith("_")
    }
    registered = {module_name(name).rsplit(".", 1)[1] for name in COMMANDS}
    assert modules - registered == set(), (
        'add one line "<name>": "<help>", per new command to COMMANDS in cli/commands/__init__.py'
    )
    assert registered - modules == set()
    assert list(COMMANDS) == sorted(COMMANDS)
    for name, help_ in COMMANDS.items():
        command = load(name)
        assert (command.name, command.help) == (name, help_)


def test_help_lists_every_command_without_importing_any() -> None:
    loaded = _modules_loaded_by(["--help"])
    assert [m for m in loaded if m.startswith(HEAVY_FOR_HELP)] == []


def test_a_database_command_never_imports_the_temporal_client(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    loaded = _modules_loaded_by(["withdrawable", "acct-none"], {"DATABASE_URL": url})
    assert "cli.commands.withdrawable" in loaded
    assert [m for m in loaded if m.startswith("temporalio")] == []
    assert [m for m in loaded if m.startswith("cli.commands.")] == ["cli.commands.withdrawable"]


def test_a_command_that_only_talks_to_temporal_loads_neither_database_nor_workflow() -> None:
    loaded = _modules_loaded_by(["code", "--help"])
    assert "client.withdrawals" in loaded
    assert [m for m in loaded if m.startswith(("sqlalchemy", "sqlmodel", "ledger"))] == []
    assert [m for m in loaded if m.startswith(("workflows.withdrawal", "activities"))] == []
