"""The patch register (workflows/patches.py) says what the code does (issue 23, item 4).

Every ``workflow.patched(id)`` under workflows/ is a registered ``patched`` id, every
``workflow.deprecate_patch(id)`` a ``deprecated`` one, a ``removed`` id is asked nowhere,
and docs/changing-the-workflow.md lists each id with its stage."""

from __future__ import annotations

import ast
from pathlib import Path

from client.withdrawals import WORKFLOW_TYPE
from workflows.patches import PATCHES, WITHDRAWAL_WORKFLOW_TYPE, in_stage

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_MODULES = sorted((ROOT / "workflows").glob("**/*.py"))
DOC = ROOT / "docs" / "changing-the-workflow.md"


def _string_constants(trees: list[ast.Module]) -> dict[str, str]:
    """Module-level ``NAME = "text"`` across the workflow modules (the PATCH_* ids)."""
    found: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.value
    return found


def _asked(kind: str) -> set[str]:
    """The ids passed to ``workflow.<kind>(...)`` anywhere under workflows/."""
    trees = [ast.parse(path.read_text()) for path in WORKFLOW_MODULES]
    constants = _string_constants(trees)
    ids: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == kind
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "workflow"
            ):
                continue
            (argument,) = node.args
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                ids.add(argument.value)
            else:
                assert isinstance(argument, ast.Name), ast.dump(argument)
                ids.add(constants[argument.id])
    return ids


def test_every_patched_id_in_the_code_is_registered_as_patched_and_vice_versa() -> None:
    assert _asked("patched") == in_stage("patched")


def test_every_deprecated_id_is_asked_with_deprecate_patch_and_vice_versa() -> None:
    assert _asked("deprecate_patch") == in_stage("deprecated")


def test_a_removed_patch_is_asked_nowhere() -> None:
    removed = in_stage("removed")
    assert not removed & (_asked("patched") | _asked("deprecate_patch"))
    # The register itself names them; no other workflow module may.
    source = "\n".join(p.read_text() for p in WORKFLOW_MODULES if p.name != "patches.py")
    assert not [patch_id for patch_id in removed if f'"{patch_id}"' in source]


def test_ids_are_unique_and_retired_ones_say_why() -> None:
    ids = [patch.id for patch in PATCHES]
    assert len(ids) == len(set(ids))
    for patch in PATCHES:
        assert (patch.stage == "patched") == (not patch.retired_because), patch.id


def test_the_doc_lists_every_patch_with_its_stage() -> None:
    rows = {line for line in DOC.read_text().splitlines() if line.startswith("| `")}
    for patch in PATCHES:
        row = f"| `{patch.id}` | {patch.stage} | {patch.added:%Y-%m-%d %H:%M} |"
        assert any(line.startswith(row) for line in rows), f"no doc row {row!r}"
    assert len(rows) == len(PATCHES), "the doc lists a patch the register does not"


def test_the_open_runs_query_names_the_workflow_type_and_the_date() -> None:
    assert WITHDRAWAL_WORKFLOW_TYPE == WORKFLOW_TYPE
    patch = next(p for p in PATCHES if p.id == "payout-submit-checked")
    assert patch.open_runs_started_before_query() == (
        'WorkflowType="WithdrawalWorkflow" AND ExecutionStatus="Running" '
        'AND StartTime < "2026-12-06T04:48:00Z"'
    )
