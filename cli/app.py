"""``python starter.py COMMAND …``: parse, run one command, print, exit (docs/interface.md).

Exit 0 ok, 2 bad input, 3 refused by a business rule, 1 anything else; errors go to
stderr one line each, with a traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from cli.command import Context
from cli.commands import COMMANDS, load
from cli.errors import EXIT_BAD_INPUT, EXIT_OK, classify
from cli.output import to_json
from models.errors import InputError
from observability.log_filter import install_personal_data_filter


class UsageError(InputError):
    """A command line argparse could not make sense of."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the usage block; the contract wants one line and exit 2.
        raise UsageError(self.prog, message)


def _global_flags(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--json", action="store_true", default=default, help="print one JSON document"
    )
    parser.add_argument("--debug", action="store_true", default=default, help="show tracebacks")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command named on the line: the first word that is not a flag (the global flags
    take no value), or None when there is none (``--help`` alone)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> Parser:
    """Every command's name and help; only the command named in ``argv`` is imported and
    given its arguments, so a command loads its own dependencies and no other's."""
    chosen = chosen_command(argv)
    parser = Parser(prog="starter.py", description="Withdrawals: ledger, review and payout.")
    _global_flags(parser, default=False)
    # The flags are accepted after the subcommand too; SUPPRESS keeps a subparser from
    # resetting a flag given before it.
    common = Parser(add_help=False)
    _global_flags(common, default=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, help_ in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_, parents=[common])
        if name == chosen:
            command = load(name)
            command.configure(sub)
            sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None, context: Context | None = None) -> int:
    install_personal_data_filter()  # whatever a library logs, no phone or account number
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        parser = build_parser(args_list)
        args = parser.parse_args(args_list)
        if getattr(args, "run", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        result = args.run(args, context or Context())
        print(to_json(result.document) if args.json else result.text)
        return result.exit_status
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            traceback.print_exc()
        status, lines = classify(error)
        for line in lines:
            print(line, file=sys.stderr)
        return status
