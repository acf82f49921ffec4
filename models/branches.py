"""R10: the bank branch directory, its fuzzy search, and payees filled from it.

Wrong branch data makes payouts fail (R10), so a bank-card payee's bank, province, city
and branch name are copied from a directory entry the applicant chose, never typed.
The directory is data (``models/data/branches.json``); bank codes and names come from
the R8 bank table (``models.routes``) so the two can never disagree. The file is checked
at import, like the R8 table: a broken directory stops the service at start-up.

Search needs no pinyin: Chinese queries match by substring or in pieces of two or more
characters ("工行南京" = "工行" + "南京" finds ICBC in Nanjing); English ones by word,
with a similarity ratio forgiving typos ("Nanjng").
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from typing import Any

from models.domain import Payee
from models.errors import InputError, NotFound
from models.routes import KNOWN_BANKS, bank_name, bank_name_zh

BRANCHES_RESOURCE = "branches.json"
DEFAULT_SEARCH_LIMIT = 10
MAX_SEARCH_LIMIT = 50
MAX_QUERY_CHARS = 100
# Below this a hit is noise: half the query's bigrams or a weak typo match.
MIN_MATCH_SCORE = 0.6
# An English word this similar to a query word counts as a (typo) hit.
MIN_WORD_SIMILARITY = 0.85  # "nanjng" ~ "nanjing" (0.92); "hangzhou" !~ "guangzhou" (0.82)
MIN_TYPO_WORD_CHARS = 4  # a typo match on a shorter word is mostly luck
PIECES_WEIGHT = 0.9
LIKENESS_WEIGHT = 0.2
BRANCH_ID = re.compile(r"[A-Z]{2,8}-[A-Z]{2}-\d{2}")
CNAPS_CODE = re.compile(r"\d{12}")

# Words in nearly every English name: they would make any branch look like a hit.
STOP_WORDS = frozenset({"of", "the", "and", "bank", "branch", "sub-branch", "china"})

_CJK = re.compile(r"[\u3400-\u9fff]")
_SEPARATORS = re.compile(r"[\s,.;:/()\[\]（），。、·\-_]+")


@dataclass(frozen=True)
class Branch:
    """One bank branch; ``bank`` is the short code the rest of the service uses."""

    id: str
    bank: str
    bank_name: str  # Chinese, as a payout form shows it
    bank_name_en: str
    name: str
    name_en: str
    province: str
    city: str
    province_en: str
    city_en: str
    cnaps: str | None = None  # the 12-digit CNAPS code, once verified

    @property
    def label(self) -> str:
        return f"{self.name} ({self.name_en})"


def _normalise(text: str) -> str:
    """Full-width to half-width, case folded, so "ＩＣＢＣ" and "icbc" are one query."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _words(text: str) -> list[str]:
    return [w for w in _SEPARATORS.split(_normalise(text)) if w]


@dataclass(frozen=True)
class _Indexed:
    branch: Branch
    names: tuple[str, ...]  # normalised branch names, zh and en
    haystack: str  # every searchable field, "|"-joined so no piece spans two
    words: frozenset[str]  # English words, for the typo match
    likeness_names: tuple[str, ...]  # branch and bank names, for the whole-query likeness


def _index(branch: Branch, aliases: list[str]) -> _Indexed:
    fields = [
        branch.name,
        branch.name_en,
        branch.bank,
        branch.bank_name,
        branch.bank_name_en,
        branch.province,
        branch.city,
        branch.province_en,
        branch.city_en,
        branch.id,
        *aliases,
    ]
    words = {w for field in fields for w in _words(field) if not _CJK.search(w)}
    return _Indexed(
        branch=branch,
        names=(_normalise(branch.name), _normalise(branch.name_en)),
        haystack="|".join(_normalise(f) for f in fields),
        words=frozenset(words),
        likeness_names=tuple(
            _normalise(n)
            for n in (branch.name, branch.name_en, branch.bank_name, branch.bank_name_en)
        ),
    )


def _parse_branch(raw: dict[str, Any]) -> Branch:
    code = raw["bank"]
    where = f"{BRANCHES_RESOURCE}: branch {raw.get('id')!r}"
    if code not in KNOWN_BANKS:
        raise ValueError(f"{where}: bank {code!r} is not in the R8 bank table")
    if not BRANCH_ID.fullmatch(raw["id"]) or not raw["id"].startswith(f"{code}-"):
        raise ValueError(f"{where}: ids look like {code}-XX-01")
    cnaps = raw.get("cnaps")
    if cnaps is not None and not CNAPS_CODE.fullmatch(cnaps):
        raise ValueError(f"{where}: a CNAPS code has 12 digits")
    text_fields = ("name", "name_en", "province", "city", "province_en", "city_en")
    if not all(isinstance(raw.get(f), str) and raw[f].strip() for f in text_fields):
        raise ValueError(f"{where}: needs {', '.join(text_fields)}")
    return Branch(
        id=raw["id"],
        bank=code,
        bank_name=bank_name_zh(code),
        bank_name_en=bank_name(code),
        cnaps=cnaps,
        **{f: raw[f] for f in text_fields},
    )


def _parse_directory(raw: dict[str, Any]) -> tuple[_Indexed, ...]:
    aliases: dict[str, list[str]] = raw.get("aliases", {})
    indexed = [_index(b, aliases.get(b.bank, [])) for b in map(_parse_branch, raw["branches"])]
    ids = [i.branch.id for i in indexed]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{BRANCHES_RESOURCE}: two branches share an id")
    missing = KNOWN_BANKS - {i.branch.bank for i in indexed}
    if missing:
        raise ValueError(f"{BRANCHES_RESOURCE}: no branch of {sorted(missing)}")
    return tuple(indexed)


@cache
def _directory() -> tuple[_Indexed, ...]:
    text = resources.files("models.data").joinpath(BRANCHES_RESOURCE).read_text(encoding="utf-8")
    return _parse_directory(json.loads(text))


_BY_ID: dict[str, Branch] = {i.branch.id: i.branch for i in _directory()}


def all_branches() -> list[Branch]:
    return [i.branch for i in _directory()]


def branch_by_id(branch_id: str) -> Branch | None:
    """The directory entry, or None; ids are matched case-insensitively."""
    return _BY_ID.get(branch_id.strip().upper())


def _covered_chars(token: str, haystack: str) -> int:
    """Most characters of ``token`` covered by pieces of 2+ characters found in
    ``haystack`` ("工行南京" = "工行" + "南京"): a small dynamic programme over the token."""
    best = [0] * (len(token) + 1)
    for end in range(1, len(token) + 1):
        best[end] = best[end - 1]
        for start in range(end - 1):
            if token[start:end] in haystack:
                best[end] = max(best[end], best[start] + end - start)
    return best[-1]


def _token_score(token: str, entry: _Indexed) -> float:
    if token in entry.haystack:
        return 1.0
    if _CJK.search(token):
        # Chinese is written without spaces: match it in pieces, slightly below a whole hit
        # so "中国银行" ranks Bank of China above "中国" + "银行" of another bank.
        covered = _covered_chars(token, entry.haystack)
        return PIECES_WEIGHT * covered / len(token)
    if len(token) < MIN_TYPO_WORD_CHARS:
        return 0.0
    best = max((SequenceMatcher(None, token, w).ratio() for w in entry.words), default=0.0)
    return best if best >= MIN_WORD_SIMILARITY else 0.0


def _score(query: str, tokens: list[str], entry: _Indexed) -> float:
    """3 for the exact id; 2+ when the whole query is in a branch name (more at its start,
    less for the English name); else the mean token score (0..1) plus a little for how
    like a name the whole query is, which ranks "Bank of Nanjng" to the Bank of Nanjing."""
    if query == entry.branch.id.casefold():
        return 3.0
    for rank, name in enumerate(entry.names):
        if query in name:
            return (2.5 if name.startswith(query) else 2.0) - 0.1 * rank
    scores = [_token_score(t, entry) for t in tokens]
    if min(scores) == 0.0:
        return 0.0  # every word must match somewhere, as in any search box
    mean = sum(scores) / len(scores)
    if mean < MIN_MATCH_SCORE:
        return mean
    likeness = max(SequenceMatcher(None, query, name).ratio() for name in entry.likeness_names)
    return mean + LIKENESS_WEIGHT * likeness


def search_branches(query: str, limit: int = DEFAULT_SEARCH_LIMIT) -> list[Branch]:
    """R10 fuzzy look-up over Chinese and English names, bank, city and id; best first."""
    text = _normalise(query)
    if not text:
        raise InputError("query", "type part of a branch, bank or city name (R10)")
    if len(text) > MAX_QUERY_CHARS:
        raise InputError("query", f"at most {MAX_QUERY_CHARS} characters")
    if limit < 1:
        raise InputError("limit", "at least 1")
    words = _words(text) or [text]
    tokens = [w for w in words if w not in STOP_WORDS] or words
    scored = [(_score(text, tokens, entry), entry.branch) for entry in _directory()]
    hits = [(score, branch) for score, branch in scored if score >= MIN_MATCH_SCORE]
    hits.sort(key=lambda hit: (-hit[0], hit[1].id))
    return [branch for _, branch in hits[: min(limit, MAX_SEARCH_LIMIT)]]


def payee_from_branch(account_number: str, name: str, branch_id: str) -> Payee:
    """A bank-card payee (R9) whose bank, province, city and branch come from the
    directory (R10); an unknown id is refused instead of half-filling the form."""
    branch = branch_by_id(branch_id)
    if branch is None:
        raise NotFound(
            "branch",
            f"unknown branch {branch_id!r}; find it with `starter.py branches QUERY` (R10)",
        )
    return Payee(
        account_number=account_number,
        name=name,
        branch_id=branch.id,
        bank=branch.bank,
        province=branch.province,
        city=branch.city,
        branch_name=branch.name,
    )
