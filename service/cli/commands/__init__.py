"""Subcommands, one module each; a module exposing ``COMMAND`` is found automatically."""

from __future__ import annotations

import importlib
import pkgutil

from service.cli.command import Command


def discover() -> list[Command]:
    """Every ``COMMAND`` defined in this package, sorted by name."""
    commands: list[Command] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, Command):
            commands.append(command)
    names = [c.name for c in commands]
    if len(names) != len(set(names)):
        raise RuntimeError(f"two commands share a name: {sorted(names)}")
    return sorted(commands, key=lambda c: c.name)
