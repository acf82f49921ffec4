"""How a reviewer's command gets the password: ``REVIEWER_PASSWORD``, else one line from
standard input with ``--password-stdin``, else a prompt that does not echo."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from application.reviews import AuthenticatedReviewer, authenticate
from cli.command import Context
from models.errors import AuthenticationFailed


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
