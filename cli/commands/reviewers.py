"""``reviewers list | add | disable | enable | reset-password``: reviewer administration.

``reviewers add ID --name NAME [--role ROLE] [--identity-id X] --by ADMIN
[--password-stdin]``, ``reviewers disable ID --by ADMIN``, ``reviewers enable ID --by
ADMIN``, ``reviewers reset-password ID --by ADMIN [--password-stdin]``. ADMIN is an
``ops`` or ``lead`` reviewer who signs in with ``REVIEWER_PASSWORD`` or a prompt; the
new password is the first line of standard input with ``--password-stdin``, else a
prompt (``cli.commands._password``). Every change is audited with ADMIN's id. Exit 2 for
bad input (unknown ID, bad role, missing flag), 3 for a failed sign-in or a refusal.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from application import reviewer_admin
from application.reviews import AuthenticatedReviewer, authenticate
from cli.command import Command, Context, Result
from cli.commands._password import read_admin_password, read_new_password
from cli.output import jsonable, table
from ledger.reviewers import Administered, ReviewerView
from models.errors import InputError
from models.fixtures import FixtureReviewer

ACTIONS = ("list", "add", "disable", "enable", "reset-password")
# Which flags each action takes beyond ID and --by; any other given is bad input.
FLAGS = {
    "list": set(),
    "add": {"name", "role", "identity_id", "password_stdin"},
    "disable": set(),
    "enable": set(),
    "reset-password": {"password_stdin"},
}


def _configure(parser: argparse.ArgumentParser) -> None:
    # One positional, not nested subparsers: the global --json/--debug stay accepted after it.
    parser.add_argument(
        "reviewers_action", choices=ACTIONS, metavar="ACTION", help=" | ".join(ACTIONS)
    )
    parser.add_argument("reviewer_id", metavar="ID", nargs="?", help="the reviewer to change")
    parser.add_argument("--name", metavar="NAME", help="add: the reviewer's name")
    parser.add_argument(
        "--role", metavar="ROLE", help="add: reviewer (default), senior_reviewer, lead or ops"
    )
    parser.add_argument(
        "--identity-id",
        metavar="X",
        help="add: the person behind the id (same as their accounts'); "
        "required with WITHDRAWALS_ENV=production",
    )
    parser.add_argument(
        "--by", metavar="ADMIN", help="the ops or lead reviewer making the change (signs in)"
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="add, reset-password: the new password is the first line of standard input "
        "(ADMIN's comes from REVIEWER_PASSWORD or a prompt)",
    )


def _run(args: argparse.Namespace, context: Context) -> Result:
    action = args.reviewers_action
    _check_flags(args, action)
    if action == "list":
        return _list(context)
    if not args.reviewer_id:
        raise InputError("ID", f"reviewers {action} needs the reviewer's ID")
    if not args.by:
        raise InputError("--by", f"reviewers {action} needs --by ADMIN, an ops or lead reviewer")
    if action == "add":
        new = _new_reviewer(args)  # bad input is refused before anyone signs in
        admin = _sign_in(args, context)
        done = reviewer_admin.add(
            context.engine, admin, new, read_new_password(args), context.now()
        )
        return _result(action, admin, done, f"reviewer {new.id} added as {new.role}")
    admin = _sign_in(args, context)
    if action == "reset-password":
        done = reviewer_admin.reset_password(
            context.engine, admin, args.reviewer_id, read_new_password(args), context.now()
        )
        return _result(action, admin, done, f"password of {args.reviewer_id} reset")
    enabled = action == "enable"
    done = reviewer_admin.set_enabled(
        context.engine, admin, args.reviewer_id, enabled, context.now()
    )
    state = "enabled" if enabled else "disabled"
    already = "" if done.changed else " already"
    return _result(action, admin, done, f"reviewer {args.reviewer_id}{already} {state}")


def _check_flags(args: argparse.Namespace, action: str) -> None:
    for flag in ("name", "role", "identity_id", "password_stdin"):
        if getattr(args, flag) and flag not in FLAGS[action]:
            raise InputError(f"--{flag.replace('_', '-')}", f"not an option of reviewers {action}")
    if action == "list" and (args.reviewer_id or args.by):
        raise InputError("ID", "reviewers list takes no ID and no --by")


def _new_reviewer(args: argparse.Namespace) -> FixtureReviewer:
    if not args.name:
        raise InputError("--name", "reviewers add needs --name NAME")
    fields: dict[str, Any] = {"id": args.reviewer_id, "name": args.name}
    if args.role:
        fields["role"] = args.role
    if args.identity_id:
        fields["identity_id"] = args.identity_id
    return FixtureReviewer(**fields)  # the fixture's own checks: id, name, identity


def _sign_in(args: argparse.Namespace, context: Context) -> AuthenticatedReviewer:
    """ADMIN signs in (exit 3 "authentication failed"); the role is checked by the ledger
    in the transaction that makes the change, and audited."""
    return authenticate(context.engine, args.by, read_admin_password(), now=context.now())


def _document(reviewer: ReviewerView) -> dict[str, Any]:
    return dataclasses.asdict(reviewer)


def _list(context: Context) -> Result:
    found = reviewer_admin.list_reviewers(context.engine)
    rows = [
        [
            r.id,
            r.name,
            r.role,
            r.identity_id or "-",
            "enabled" if r.enabled else "disabled",
            "yes" if r.has_password else "no",
            jsonable(r.locked_until) if r.locked_until else "-",
        ]
        for r in found
    ]
    header = ["id", "name", "role", "identity", "state", "password", "locked until"]
    text = table(rows, header=header) if rows else "no reviewers"
    return Result(document=[_document(r) for r in found], text=text)


def _result(action: str, admin: AuthenticatedReviewer, done: Administered, text: str) -> Result:
    assert done.reviewer is not None  # a refusal was raised
    document = {
        "action": action,
        "by": admin.reviewer_id,
        "changed": done.changed,
        "reviewer": _document(done.reviewer),
    }
    return Result(document=document, text=f"{text} by {admin.reviewer_id} (audited)")


COMMAND = Command(
    name="reviewers",
    help="list reviewers; add, disable, enable one or reset a password (ops or lead)",
    configure=_configure,
    run=_run,
)
