"""docs/architecture.md's map names real files and real functions (issue 23).

Each backticked path in the map's table must exist; a name written right after a path
(`ledger/holds.py` `reserve`) must be defined in that module; `Class.member` must be a
member of a class of the project; any other backticked identifier must still occur in
the project's code. A rename that leaves the map behind fails here."""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAP_HEADER = "| question | answer |"
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
MEMBER = re.compile(r"([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
PATH_THEN_NAME = re.compile(r"`([\w/.]+\.py)` `([A-Za-z_][\w.]*)`")


def map_rows() -> list[str]:
    lines = (ROOT / "docs" / "architecture.md").read_text().splitlines()
    start = lines.index(MAP_HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def cited(rows: list[str]) -> list[str]:
    return [token for row in rows for token in re.findall(r"`([^`]+)`", row)]


@cache
def python_files() -> tuple[Path, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return tuple(ROOT / name for name in listed if (ROOT / name).is_file())


@cache
def defined_in(path: Path) -> frozenset[str]:
    """Every function, class and assigned name in the module, at any depth; a class's
    members also as ``Class.member``."""
    names: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, ast.ClassDef):
            for member in ast.walk(node):
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{member.name}")
                elif isinstance(member, ast.Name) and isinstance(member.ctx, ast.Store):
                    names.add(f"{node.name}.{member.id}")
    return frozenset(names)


@cache
def project_words() -> frozenset[str]:
    return frozenset(
        word for path in python_files() for word in IDENTIFIER.findall(path.read_text())
    )


def is_path(token: str) -> bool:
    """A path in the repository; ``.data/...`` is where tools write at run time."""
    return "/" in token and " " not in token and "<" not in token and not token.startswith(".")


def test_the_map_has_rows_and_the_payout_callback_row() -> None:
    rows = map_rows()
    assert len(rows) > 10
    assert any("Where is a **payout callback** verified?" in row for row in rows)


def test_every_path_the_map_cites_exists() -> None:
    missing = [t for t in cited(map_rows()) if is_path(t) and not (ROOT / t.rstrip("/")).exists()]
    assert missing == []


def test_every_name_after_a_path_is_defined_in_that_module() -> None:
    missing = []
    for row in map_rows():
        for path, name in PATH_THEN_NAME.findall(row):
            if name not in defined_in(ROOT / path):
                missing.append(f"{path} {name}")
    assert missing == []


@cache
def classes() -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
    """Each project class: its own members and the names of its bases."""
    found: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                own = {
                    n.split(".", 1)[1] for n in defined_in(path) if n.startswith(f"{node.name}.")
                }
                bases = tuple(b.id for b in node.bases if isinstance(b, ast.Name))
                found[node.name] = (frozenset(own), bases)
    return found


def has_member(class_name: str, member: str) -> bool:
    """``member`` defined on the class or, inherited, on one of its project bases."""
    if class_name not in classes():
        return False
    own, bases = classes()[class_name]
    return member in own or any(has_member(base, member) for base in bases)


def test_every_class_member_the_map_cites_exists() -> None:
    missing = [
        token
        for token in cited(map_rows())
        if (match := MEMBER.fullmatch(token)) and not token.endswith(".py")
        if not has_member(match.group(1), match.group(2))
    ]
    assert missing == []


def test_every_other_identifier_the_map_cites_is_still_in_the_code() -> None:
    words = project_words()
    missing = [
        token for token in cited(map_rows()) if IDENTIFIER.fullmatch(token) and token not in words
    ]
    assert missing == []
