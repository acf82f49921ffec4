"""Subcommands, one module each, registered by name in ``COMMANDS``.

The parser learns every command's name and help from ``COMMANDS`` without importing a
command module, and imports only the module of the command being run: ``--help`` loads
no command at all, and a command that needs only the database never loads the Temporal
client. Adding a command is one line: write ``cli/commands/<name>.py`` (a ``-``
in the name is ``_`` in the module's) defining ``COMMAND = Command(...)`` with the same
name and help, and add ``"<name>": "<help>",`` below (tests/cli/test_registry.py checks
that every module is registered and agrees with its line).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cli.command import Command

# name → the help line ``starter.py --help`` shows; sorted by name, as --help lists them.
COMMANDS: dict[str, str] = {
    "approve": "approve a withdrawal under review; prints the resulting status",
    "attention": "what needs a person now, most urgent first (exit 4 if anything)",
    "audit": "verify the hash-chained audit log (exit 4 if broken), show a withdrawal's rows, "
    "or anchor the chains' heads",
    "branches": "find a bank branch by part of its name, bank or city (R10)",
    "cancel": "cancel a withdrawal before it is paid out",
    "code": "submit the SMS verification code of a withdrawal",
    "credit-return": "credit a parked return (ops or lead; two reviewers, with evidence)",
    "demo": "run every withdrawal path end to end against the running stack",
    "ledger": "verify the ledger: every balance recomputed from its entries",
    "list": "withdrawal records, newest first",
    "load": "load accounts, orders and reviewers from a fixture",
    "reconcile": "compare provider, ledger and workflows (exit 4 on any mismatch)",
    "reject": "reject a withdrawal under review; prints the resulting status",
    "resend": "text a new verification code for a withdrawal",
    "resolve-payout": "end a payout whose outcome is unknown (ops or lead, with evidence)",
    "reviewers": "list reviewers; add, disable, enable one or reset a password (ops or lead)",
    "reviews": "withdrawals waiting for review, with their SLA state",
    "sms-inbox": "the SMS simulator's messages to an account's security phone",
    "status": "a withdrawal's status, amount, route, reason and timeline",
    "transactions": "an account's transaction details, filtered by type and time (R20)",
    "webhooks": "webhook deliveries of status events, with attempts and the last error",
    "withdraw": "start a withdrawal; prints its id and the next step",
    "withdrawable": "what an account can withdraw, and from which recharge orders",
}


def module_name(name: str) -> str:
    """The module that defines command ``name``."""
    return f"{__name__}.{name.replace('-', '_')}"


def load(name: str) -> Command:
    """Import command ``name``'s module (and only its dependencies) and return its ``COMMAND``."""
    command: Command = importlib.import_module(module_name(name)).COMMAND
    return command
