"""``branches QUERY [--limit N]``: fuzzy branch look-up (R10).

The ``id`` printed here is what ``withdraw --branch`` takes; the bank, province, city and
branch name of a bank-card payee are then filled from the directory, never typed.
"""

from __future__ import annotations

import argparse

from cli.command import Command, Context, Result
from cli.output import table
from models.branches import DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, Branch, search_branches
from models.errors import InputError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="QUERY", nargs="+", help="part of a branch, bank or city")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_SEARCH_LIMIT,
        help=f"at most this many branches (1 to {MAX_SEARCH_LIMIT})",
    )


def _place(branch: Branch) -> str:
    # Beijing, Shanghai, ... are their own province: 北京市, not 北京市北京市.
    if branch.province == branch.city:
        return branch.city
    return branch.province + branch.city


def _text(query: str, branches: list[Branch]) -> str:
    if not branches:
        return f"no branch matches {query!r}; try part of the name, the bank or the city"
    # Chinese last: the table pads by characters, and a CJK character is two columns wide.
    rows = [
        [b.id, b.bank, f"{b.city_en}, {b.province_en}", b.name_en, f"{b.name} {_place(b)}"]
        for b in branches
    ]
    return table(rows, header=["id", "bank", "city", "branch", "网点"])


def _run(args: argparse.Namespace, context: Context) -> Result:
    if not 1 <= args.limit <= MAX_SEARCH_LIMIT:
        raise InputError("--limit", f"between 1 and {MAX_SEARCH_LIMIT}")
    query = " ".join(args.query)
    branches = search_branches(query, limit=args.limit)
    return Result(document=branches, text=_text(query, branches))


COMMAND = Command(
    name="branches",
    help="find a bank branch by part of its name, bank or city (R10)",
    configure=_configure,
    run=_run,
)
