"""How a reviewer's command gets the password: ``REVIEWER_PASSWORD``, else one line from
standard input with ``--password-stdin``, else a prompt that does not echo.

``reviewers`` reads two passwords, so it divides them (docs/interface.md): the
administrator's (``--by``) is ``REVIEWER_PASSWORD`` or a prompt, never standard input;
the new password is the first line of standard input with ``--password-stdin``, else a
prompt asked twice."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from application.reviews import AuthenticatedReviewer, authenticate
from cli.command import Context
from models.errors import AuthenticationFailed, InputError


def add_password_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the reviewer's password from one line of standard input",
    )


def read_password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    configured = os.environ.get("REVIEWER_PASSWORD")
    if configured is not None:
        return configured
    if not sys.stdin.isatty():
        raise AuthenticationFailed()  # no password to be had: never hang on a pipe
    return getpass.getpass("Reviewer password: ")


def sign_in(args: argparse.Namespace, context: Context, reviewer_id: str) -> AuthenticatedReviewer:
    return authenticate(context.engine, reviewer_id, read_password(args), now=context.now())


def read_admin_password() -> str:
    """``--by ADMIN``'s password: ``REVIEWER_PASSWORD``, else a prompt at a terminal.
    Standard input is left for the new password (``--password-stdin``)."""
    configured = os.environ.get("REVIEWER_PASSWORD")
    if configured is not None:
        return configured
    if not sys.stdin.isatty():
        raise InputError(
            "REVIEWER_PASSWORD",
            "the --by reviewer's password: set it, or run at a terminal to be asked "
            "(standard input carries only the new password, with --password-stdin)",
        )
    return getpass.getpass("Password of the --by reviewer: ")


def read_new_password(args: argparse.Namespace) -> str:
    """The password being set: stdin's first line with ``--password-stdin``, else asked
    twice at a terminal (a typo would lock the reviewer out)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("password", "give --password-stdin, or run at a terminal to be asked")
    first = getpass.getpass("New password: ")
    if getpass.getpass("New password again: ") != first:
        raise InputError("password", "the two entries differ")
    return first
