"""``starter.py reviewers`` (issue 26 item 2, CONTRACT.md): an ops or lead reviewer
signs in (``--by``, ``REVIEWER_PASSWORD``) to add, disable, enable or reset a reviewer;
each step is audited with who did it; exit 2 for bad input, 3 for a refusal or a failed
sign-in. With ``WITHDRAWALS_ENV=production`` a reviewer without ``identity_id`` is
refused by ``reviewers add`` and ``load`` (issue 22 item 4); ``load`` never changes an
existing reviewer's role or identity (review finding 4). No Temporal needed: the
commands run in-process against a fresh ledger (SQLite and PostgreSQL), one test as a
real process."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from application.reviews import authenticate
from cli.app import main
from cli.command import Context
from ledger import audit
from ledger.db import dispose_engine, get_engine
from models.errors import AuthenticationFailed

ROOT = Path(__file__).parents[2]
LEAD, LEAD_PASSWORD = "lead-a", "lead-a passphrase"
NEW_PASSWORD = "a new passphrase 1"
NEW = NEW_PASSWORD + "\n"
FIXTURE = {
    "reviewers": [
        {"id": LEAD, "name": "A", "role": "lead", "password": LEAD_PASSWORD, "identity_id": "id-a"},
        {"id": "rev-b", "name": "B", "password": "rev-b passphrase", "identity_id": "id-b"},
    ]
}


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str

    @property
    def document(self) -> Any:
        assert self.status == 0, self.err
        return json.loads(self.out)

    def failed(self, status: int, words: str) -> None:
        """Exit ``status``, nothing on stdout, one line on stderr saying ``words``."""
        assert self.status == status and self.out == "", self
        assert self.err.count("\n") == 1 and words in self.err, self.err


@dataclass
class Cli:
    url: str
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def __call__(self, line: str, stdin: str = "", password: str | None = LEAD_PASSWORD) -> Ran:
        """``starter.py line`` with ``REVIEWER_PASSWORD=password`` and ``stdin`` piped in."""
        if password is None:
            self.monkeypatch.delenv("REVIEWER_PASSWORD", raising=False)
        else:
            self.monkeypatch.setenv("REVIEWER_PASSWORD", password)
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        status = main(shlex.split(line), Context(database_url=self.url))
        captured = self.capsys.readouterr()
        return Ran(status, captured.out, captured.err)

    def load(self, fixture: dict[str, Any]) -> Ran:
        path = self.tmp_path / "reviewers.json"
        path.write_text(json.dumps(fixture))
        return self(f"load {path} --json")

    def listed(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self("reviewers list --json").document}

    def sign_in(self, reviewer_id: str, password: str) -> bool:
        try:
            authenticate(get_engine(self.url), reviewer_id, password)
        except AuthenticationFailed:
            return False
        return True

    def audit_rows(self, subject: str) -> list[tuple[str, str, str]]:
        with Session(get_engine(self.url)) as session:
            return [
                (row.actor or "", row.action, row.outcome)
                for row in audit.entries(session, subject=subject)
                if row.action.startswith("reviewer.") and row.action != "reviewer.sign_in"
            ]


@pytest.fixture
def cli(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    """A fresh ledger on SQLite and on PostgreSQL, with a lead and a reviewer loaded."""
    monkeypatch.delenv("WITHDRAWALS_ENV", raising=False)
    runner = Cli(db_url, tmp_path, monkeypatch, capsys)
    assert runner.load(FIXTURE).status == 0
    yield runner
    dispose_engine(db_url)


def test_a_lead_adds_disables_enables_and_resets_a_reviewer_each_step_audited(cli: Cli) -> None:
    added = cli(
        "reviewers add rev-new --name 'New Reviewer' --role senior_reviewer "
        f"--identity-id id-new --by {LEAD} --password-stdin --json",
        stdin=NEW,
    ).document
    assert added["by"] == LEAD and added["reviewer"]["role"] == "senior_reviewer"
    assert cli.sign_in("rev-new", NEW_PASSWORD)
    assert cli.listed()["rev-new"] == {
        "id": "rev-new",
        "name": "New Reviewer",
        "role": "senior_reviewer",
        "identity_id": "id-new",
        "enabled": True,
        "has_password": True,
        "locked_until": None,
    }

    disabled = cli(f"reviewers disable rev-new --by {LEAD} --json").document
    assert disabled["reviewer"]["enabled"] is False and disabled["changed"] is True
    assert not cli.sign_in("rev-new", NEW_PASSWORD)  # disabled: no sign-in
    assert cli(f"reviewers disable rev-new --by {LEAD} --json").document["changed"] is False
    assert cli(f"reviewers enable rev-new --by {LEAD} --json").document["changed"] is True
    assert cli.sign_in("rev-new", NEW_PASSWORD)

    reset = cli(
        f"reviewers reset-password rev-new --by {LEAD} --password-stdin",
        stdin="another passphrase\nignored second line\n",
    )
    assert reset.status == 0 and "password of rev-new reset by lead-a" in reset.out
    assert not cli.sign_in("rev-new", NEW_PASSWORD)
    assert cli.sign_in("rev-new", "another passphrase")
    assert cli.audit_rows("rev-new") == [
        (LEAD, "reviewer.add", "done"),
        (LEAD, "reviewer.disable", "done"),
        (LEAD, "reviewer.disable", "unchanged"),
        (LEAD, "reviewer.enable", "done"),
        (LEAD, "reviewer.reset_password", "done"),
    ]


def test_refusals_exit_3_and_are_audited_bad_input_exits_2(cli: Cli) -> None:
    # A reviewer who is not ops or lead: refused, and audited with who tried.
    not_admin = cli(f"reviewers disable {LEAD} --by rev-b", password="rev-b passphrase")
    not_admin.failed(3, "R17: rev-b (reviewer) may not administer reviewers")
    assert cli.audit_rows(LEAD)[-1] == ("rev-b", "reviewer.disable", "refused")
    cli("reviewers disable rev-b --by lead-a", password="wrong").failed(3, "authentication failed")
    cli(f"reviewers disable {LEAD} --by {LEAD}").failed(3, "cannot disable themselves")
    # Bad input: nothing changes.
    cli(f"reviewers disable nobody --by {LEAD}").failed(2, "ID: no reviewer 'nobody'")
    cli("reviewers enable rev-b").failed(2, "--by")
    cli(f"reviewers add rev-c --by {LEAD}", stdin=NEW).failed(2, "--name")
    add_c = f"reviewers add rev-c --name C --by {LEAD} --password-stdin"
    cli(f"{add_c} --role boss", stdin=NEW).failed(2, "role: one of")
    cli(add_c, stdin="short\n").failed(2, "password: 10 to")
    cli(add_c.replace("rev-c", "rev-b"), stdin=NEW).failed(2, "ID: reviewer rev-b exists")
    cli(f"reviewers disable rev-b --by {LEAD} --name x").failed(2, "--name")
    # ADMIN's password never comes from stdin: without REVIEWER_PASSWORD or a terminal, say so.
    no_admin_password = cli(f"reviewers disable rev-b --by {LEAD}", stdin="x\n", password=None)
    no_admin_password.failed(2, "REVIEWER_PASSWORD")
    listed = cli.listed()
    assert set(listed) == {LEAD, "rev-b"} and all(r["enabled"] for r in listed.values())


def test_load_never_undoes_a_password_reset_or_a_disable(cli: Cli) -> None:
    """``make run`` reloads the demo fixture: the reset and the disable must hold."""
    reset = cli(f"reviewers reset-password rev-b --by {LEAD} --password-stdin", stdin=NEW)
    assert reset.status == 0 and cli(f"reviewers disable rev-b --by {LEAD}").status == 0
    renamed = json.loads(json.dumps(FIXTURE))
    renamed["reviewers"][1]["name"] = "B, renamed"
    assert cli.load(renamed).document["reviewers"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert cli.listed()["rev-b"]["enabled"] is False
    assert cli.listed()["rev-b"]["name"] == "B, renamed"  # other fields still load
    assert cli(f"reviewers enable rev-b --by {LEAD}").status == 0
    assert not cli.sign_in("rev-b", "rev-b passphrase")  # the fixture's password: not back
    assert cli.sign_in("rev-b", NEW_PASSWORD)


def test_load_never_changes_a_reviewers_role_or_identity(cli: Cli) -> None:
    """Review finding 4: ``load`` takes no sign-in, so it must not make a reviewer ops
    (past every "signed-in ops or lead" rule) nor give two reviewer ids one identity or
    move one to another person (past every two-person rule). Exit 2 naming the field,
    pointing at ``starter.py reviewers``, and nothing written; an identity where there was
    none (a dev ledger going to production) still loads, audited."""
    before = cli.listed()
    promoted = json.loads(json.dumps(FIXTURE))
    promoted["reviewers"][1]["role"] = "ops"
    promoted["reviewers"][1]["name"] = "B, promoted"
    refused = cli.load(promoted)
    refused.failed(2, "reviewers[1].role: rev-b is reviewer; load does not change")
    assert "starter.py reviewers" in refused.err
    merged = json.loads(json.dumps(FIXTURE))
    merged["reviewers"][1]["identity_id"] = "id-a"  # the lead's person
    cli.load(merged).failed(2, "reviewers[1].identity_id: load does not change")
    assert cli.listed() == before

    dev = {"reviewers": [{"id": "rev-dev", "name": "Dev", "password": "rev-dev passphrase"}]}
    assert cli.load(dev).status == 0
    dev["reviewers"][0]["identity_id"] = "id-dev"
    assert cli.load(dev).document["reviewers"]["updated"] == 1
    assert cli.listed()["rev-dev"]["identity_id"] == "id-dev"
    assert cli.audit_rows("rev-dev")[-1] == ("load", "reviewer.load", "updated")


def test_production_refuses_a_reviewer_without_identity_id(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WITHDRAWALS_ENV", "production")
    nameless = {"reviewers": [{"id": "rev-z", "name": "Z", "password": "rev-z passphrase"}]}
    cli.load(nameless).failed(2, "reviewers[0].identity_id: required with WITHDRAWALS_ENV")
    add_z = f"reviewers add rev-z --name Z --by {LEAD} --password-stdin"
    cli(add_z, stdin=NEW).failed(2, "identity_id: required with WITHDRAWALS_ENV=production")
    assert set(cli.listed()) == {LEAD, "rev-b"}
    assert cli(f"{add_z} --identity-id id-z", stdin=NEW).status == 0


def test_a_real_process_reads_the_new_password_from_stdin_and_admin_from_the_env(
    cli: Cli,
) -> None:
    line = f"reviewers add rev-p --name P --identity-id id-p --by {LEAD} --password-stdin --json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "starter.py"), *shlex.split(line)],
        input=NEW,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"DATABASE_URL": cli.url, "REVIEWER_PASSWORD": LEAD_PASSWORD, "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reviewer"]["id"] == "rev-p"
    assert cli.sign_in("rev-p", NEW_PASSWORD)
