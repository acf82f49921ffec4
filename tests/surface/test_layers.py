"""Imports go down the layers, never up (issue 23).

``models`` is the bottom: plain data and rules, importing no other package of ours. The
provider clients (``gateways``) know the models only; the ledger knows no activity or
workflow; nothing in production leans on the providers' stand-ins (``standins``), which
only the tests, ``make run``'s stack, the benchmarks and the demo may import. Checked on
the source (every import statement, also inside functions), so an import added anywhere
fails here before it closes a cycle."""

from __future__ import annotations

import ast
import subprocess
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every top-level package and module of the project (tests included, as an importer).
PACKAGES = {
    "activities", "api", "application", "bench", "callbacks", "cli", "client", "codec",
    "config", "console", "demo", "gateways", "ledger", "models", "observability",
    "reconcile", "simulation", "stack", "standins", "starter", "tests", "webhooks", "worker",
    "workflows",
}  # fmt: skip
FACES = {"api", "application", "cli", "console", "callbacks", "starter", "worker"}
NOT_IMPORTED_BY = {
    "models": PACKAGES - {"models"},
    "gateways": FACES
    | {"activities", "workflows", "ledger", "client", "reconcile", "stack"}
    | {"standins", "webhooks", "observability"},
    "ledger": FACES | {"activities", "workflows", "stack", "standins"},
    "activities": FACES | {"workflows", "stack", "standins"},
    "workflows": FACES | {"ledger", "stack", "standins"},
}
STANDIN_IMPORTERS = {"standins", "stack", "bench", "demo", "simulation", "tests"}


@cache
def imports_by_package() -> dict[str, set[tuple[str, str]]]:
    """Top-level package -> {(file, imported top-level package of ours)}."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for name in listed:
        path = ROOT / name
        if not path.is_file():
            continue
        importer = name.split("/", 1)[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if top in PACKAGES and top != importer:
                    found[importer].add((name, top))
    return found


def test_every_package_is_known() -> None:
    """A new top-level package must be placed in a layer here first."""
    on_disk = {
        path.name.removesuffix(".py")
        for path in ROOT.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.suffix == ".py"
    }
    assert on_disk - PACKAGES == set()


def test_no_layer_imports_one_above_it() -> None:
    crossing = sorted(
        f"{file} imports {imported}"
        for layer, forbidden in NOT_IMPORTED_BY.items()
        for file, imported in imports_by_package()[layer]
        if imported in forbidden
    )
    assert crossing == []


def test_only_tests_the_stack_bench_and_demo_import_the_stand_ins() -> None:
    leaning = sorted(
        f"{file} imports standins"
        for importer, edges in imports_by_package().items()
        for file, imported in edges
        if imported == "standins" and importer not in STANDIN_IMPORTERS
    )
    assert leaning == []
