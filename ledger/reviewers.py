"""Reviewers: who they are, who may administer them, and what ``load`` may change.

``starter.py reviewers`` (issue 26) adds, disables, enables and resets reviewers; each
change is made here in the caller's transaction, by an ``ops`` or ``lead`` reviewer
checked again in that same transaction, and audited with who did it (refusals too).
``load`` goes through ``load_reviewer``: it creates a reviewer with the fixture's
password, but for one that exists it updates the name (and an identity it had none of)
only: never the password, never ``enabled``, so a demo reload cannot undo a reset or a
disable; and never the role or an identity already set (``load_change_problem``): ``load``
needs no sign-in, and those say what a reviewer may do and who they are.

A disabled reviewer cannot sign in (``application.reviews``), their console sessions
end on their next request (``may_stay_signed_in``), and their decisions not yet weighed
are refused (``disabled_problem``, asked where decisions are authorised).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from ledger import audit
from ledger.tables import Reviewer
from models.authority import CANCELLING_ROLES, DECIDING_ROLES
from models.errors import FieldProblem, InputError, NotFound
from models.fixtures import FixtureReviewer
from models.passwords import hash_password

ADMIN_ROLES = CANCELLING_ROLES  # ops and lead administer reviewers (CONTRACT.md)
ROLES = DECIDING_ROLES | ADMIN_ROLES


@dataclass(frozen=True)
class ReviewerView:
    """A reviewer as ``reviewers list`` shows them: never the password's hash."""

    id: str
    name: str
    role: str
    identity_id: str | None
    enabled: bool
    has_password: bool
    locked_until: datetime | None


@dataclass(frozen=True)
class Administered:
    """What an administration step did; ``refused`` (audited) makes the caller raise."""

    reviewer: ReviewerView | None
    changed: bool = False
    refused: str | None = None


def view(reviewer: Reviewer) -> ReviewerView:
    return ReviewerView(
        id=reviewer.id,
        name=reviewer.name,
        role=reviewer.role,
        identity_id=reviewer.identity_id,
        enabled=reviewer.enabled,
        has_password=reviewer.password_hash is not None,
        locked_until=reviewer.locked_until,
    )


def list_reviewers(session: Session) -> list[ReviewerView]:
    return [view(r) for r in session.exec(select(Reviewer).order_by(col(Reviewer.id))).all()]


def disabled_problem(reviewer: Reviewer | None) -> str | None:
    """Why a disabled reviewer's decision, cancel or resolution is refused, else None."""
    if reviewer is not None and not reviewer.enabled:
        return f"reviewer {reviewer.id} is disabled"
    return None


def may_stay_signed_in(session: Session, reviewer_id: str, signed_in_at: datetime) -> bool:
    """A console session lives on only while its reviewer is enabled and their password
    has not been reset since they signed in."""
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None or not reviewer.enabled:
        return False
    changed = reviewer.password_changed_at
    return changed is None or changed <= signed_in_at


def identity_problem(identity_id: str | None, field: str, required: bool) -> FieldProblem | None:
    """With ``WITHDRAWALS_ENV=production`` (``required``) every reviewer names the person
    behind the id: four-eyes and self-approval compare people, not ids (issue 22)."""
    if required and identity_id is None:
        return FieldProblem(
            field,
            "required with WITHDRAWALS_ENV=production: four-eyes and self-approval compare "
            "people, so every reviewer needs the identity_id of the person behind it",
        )
    return None


LoadOutcome = Literal["created", "updated", "unchanged"]


def load_change_problem(
    session: Session, reviewer: FixtureReviewer, index: int
) -> FieldProblem | None:
    """``load`` takes no sign-in, so it never changes what an existing reviewer may do
    (``role``) or who they are (an ``identity_id`` already set): otherwise anyone with the
    database URL could make a reviewer ops, or make two people one, past every two-person
    rule (review finding 4). Setting an identity where there was none only names the
    person (a dev ledger going to production) and stays allowed, audited."""
    existing = session.get(Reviewer, reviewer.id)
    if existing is None:
        return None
    remedy = (
        "load does not change an existing reviewer's {what} (no sign-in); disable "
        f"{reviewer.id} and add a new reviewer with `starter.py reviewers` (signed in, audited)"
    )
    if existing.role != reviewer.role:
        return FieldProblem(
            f"reviewers[{index}].role",
            f"{reviewer.id} is {existing.role}; " + remedy.format(what="role"),
        )
    if existing.identity_id is not None and existing.identity_id != reviewer.identity_id:
        return FieldProblem(f"reviewers[{index}].identity_id", remedy.format(what="identity_id"))
    return None


def load_reviewer(session: Session, reviewer: FixtureReviewer, at: datetime) -> LoadOutcome:
    """``load``'s upsert of one reviewer: ``created``, ``updated`` or ``unchanged``."""
    existing = session.get(Reviewer, reviewer.id)
    if existing is None:
        password_hash = hash_password(reviewer.password) if reviewer.password else None
        session.add(
            Reviewer(
                id=reviewer.id,
                name=reviewer.name,
                role=reviewer.role,
                identity_id=reviewer.identity_id,
                password_hash=password_hash,  # never plain
            )
        )
        _audit(
            session, "load", "reviewer.load", reviewer.id, "created", f"role {reviewer.role}", at
        )
        return "created"
    values = {"name": reviewer.name, "role": reviewer.role, "identity_id": reviewer.identity_id}
    changed = sorted(k for k, v in values.items() if getattr(existing, k) != v)
    if not changed:
        return "unchanged"
    for key in changed:
        setattr(existing, key, values[key])
    session.add(existing)
    _audit(session, "load", "reviewer.load", reviewer.id, "updated", ", ".join(changed), at)
    return "updated"


def add_reviewer(
    session: Session, new: FixtureReviewer, password_hash: str, *, by: str, at: datetime
) -> Administered:
    """``reviewers add``: a new reviewer with a password; an existing id is bad input."""
    refused = _admin_refusal(session, by, "reviewer.add", new.id, at)
    if refused is not None:
        return refused
    if new.role not in ROLES:
        raise InputError("role", f"one of {', '.join(sorted(ROLES))}")
    if session.get(Reviewer, new.id) is not None:
        raise InputError("ID", f"reviewer {new.id} exists already")
    reviewer = Reviewer(
        id=new.id,
        name=new.name,
        role=new.role,
        identity_id=new.identity_id,
        password_hash=password_hash,
        password_changed_at=at,
    )
    session.add(reviewer)
    identity = "identity_id set" if new.identity_id else "no identity_id"
    _audit(session, by, "reviewer.add", new.id, "done", f"role {new.role}, {identity}", at)
    return Administered(view(reviewer), changed=True)


def set_enabled(
    session: Session, reviewer_id: str, enabled: bool, *, by: str, at: datetime
) -> Administered:
    """``reviewers enable``/``disable``; disabling yourself is refused (it could leave
    nobody to administer reviewers)."""
    action = "reviewer.enable" if enabled else "reviewer.disable"
    refused = _admin_refusal(session, by, action, reviewer_id, at)
    if refused is not None:
        return refused
    reviewer = _require(session, reviewer_id)
    if not enabled and reviewer.id == by:
        why = f"{by} cannot disable themselves; another ops or lead reviewer may"
        _audit(session, by, action, reviewer_id, "refused", why, at)
        return Administered(view(reviewer), refused=why)
    if reviewer.enabled == enabled:
        _audit(session, by, action, reviewer_id, "unchanged", "already so", at)
        return Administered(view(reviewer))
    reviewer.enabled = enabled
    session.add(reviewer)
    _audit(session, by, action, reviewer_id, "done", f"role {reviewer.role}", at)
    return Administered(view(reviewer), changed=True)


def reset_password(
    session: Session, reviewer_id: str, password_hash: str, *, by: str, at: datetime
) -> Administered:
    """``reviewers reset-password``: a new password; the lock and failure count go, and
    the reviewer's console sessions end (``may_stay_signed_in``)."""
    action = "reviewer.reset_password"
    refused = _admin_refusal(session, by, action, reviewer_id, at)
    if refused is not None:
        return refused
    reviewer = _require(session, reviewer_id)
    reviewer.password_hash = password_hash
    reviewer.password_changed_at = at
    reviewer.failed_logins, reviewer.locked_until = 0, None
    session.add(reviewer)
    _audit(session, by, action, reviewer_id, "done", "password replaced; sessions ended", at)
    return Administered(view(reviewer), changed=True)


def _admin_refusal(
    session: Session, by: str, action: str, subject: str, at: datetime
) -> Administered | None:
    """Refused (and audited) unless ``by`` is an enabled ops or lead reviewer, read in
    this transaction: a role taken away a moment ago counts."""
    admin = session.get(Reviewer, by)
    if admin is not None and admin.enabled and admin.role in ADMIN_ROLES:
        return None
    role = admin.role if admin is not None else "not a reviewer"
    why = f"{by} ({role}) may not administer reviewers; ops or lead may"
    if admin is not None and not admin.enabled:
        why = f"{by} is disabled and may not administer reviewers"
    _audit(session, by, action, subject, "refused", why, at)
    return Administered(None, refused=why)


def _require(session: Session, reviewer_id: str) -> Reviewer:
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None:
        raise NotFound("ID", f"no reviewer {reviewer_id!r}")
    return reviewer


def _audit(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    outcome: str,
    detail: str,
    at: datetime,
) -> None:
    audit.append(
        session, actor=actor, action=action, subject=subject, outcome=outcome, detail=detail, at=at
    )
