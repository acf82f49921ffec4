"""``starter.py reconcile``: exit 4 and every mismatch printed; 0 when clean."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cli.app import main
from cli.command import Context
from cli.commands import reconcile as command
from reconcile.compare import Mismatch, MismatchKind, Report


def report(*mismatches: Mismatch) -> Report:
    return Report(
        mismatches=list(mismatches),
        in_flight=[],
        transfers=2,
        holds=2,
        records=2,
        open_workflows=0,
    )


def use_report(monkeypatch: pytest.MonkeyPatch, found: Report) -> None:
    async def fake(context: Context) -> Report:
        return found

    monkeypatch.setattr(command, "_report", fake)


def context() -> Context:
    return Context(clock=lambda: datetime(2026, 10, 1, tzinfo=UTC))


def test_mismatches_exit_4_with_every_one_in_the_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_report(
        monkeypatch,
        report(
            Mismatch(MismatchKind.PAID_NOT_POSTED, "w1", "paid at the provider; no hold"),
            Mismatch(MismatchKind.HELD_WITHOUT_WORKFLOW, "w2", "10.00 still held"),
        ),
    )
    assert main(["reconcile", "--json"], context()) == command.EXIT_MISMATCH == 4
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["clean"] is False
    assert document["summary"]["mismatches"] == 2
    assert document["summary"]["by_kind"]["paid_not_posted"] == 1
    assert [m["withdrawal_id"] for m in document["mismatches"]] == ["w1", "w2"]


def test_text_lists_mismatches_and_a_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_report(monkeypatch, report(Mismatch(MismatchKind.POSTED_NOT_PAID, "w9", "no transfer")))
    assert main(["reconcile"], context()) == 4
    out = capsys.readouterr().out
    assert "posted_not_paid" in out and "w9" in out
    assert out.strip().endswith("0 paid and settling")
    assert "1 mismatches" in out


def test_clean_books_exit_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_report(monkeypatch, report())
    assert main(["reconcile", "--json"], context()) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["clean"] is True


def test_fix_starts_only_the_missing_returns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25: ``--fix`` starts the return of each ``return_not_credited`` withdrawal and
    nothing else; without ``--fix`` nothing is started."""
    use_report(
        monkeypatch,
        report(
            Mismatch(MismatchKind.RETURN_NOT_CREDITED, "w1", "returned; not credited"),
            Mismatch(MismatchKind.RETURN_PARKED, "w2", "returned with another amount"),
            Mismatch(MismatchKind.HELD_WITHOUT_WORKFLOW, "w3", "10.00 still held"),
        ),
    )
    asked: list[list[str]] = []

    async def start(found: Report) -> list[str]:
        asked.append(found.returns_to_start)
        return found.returns_to_start

    monkeypatch.setattr(command, "_start_returns", start)
    assert main(["reconcile", "--json"], context()) == 4
    assert json.loads(capsys.readouterr().out)["returns_started"] == [] and asked == []
    assert main(["reconcile", "--fix", "--json"], context()) == 4
    assert json.loads(capsys.readouterr().out)["returns_started"] == ["w1"]
    assert asked == [["w1"]]
