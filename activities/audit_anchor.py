"""The audit anchor's side effect: record the heads of the chains that grew (``ledger.audit``).

Idempotent by construction: a second run right after the first finds nothing grown and
records nothing; a retry after a lost answer at most adds one anchor over the same heads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from temporalio import activity

from ledger import audit
from ledger.db import run_in_transaction


@dataclass(frozen=True)
class AnchorResult:
    anchored: bool
    anchor_id: int | None = None
    heads: int = 0  # chains whose head this anchor recorded
    hash: str | None = None


class AuditAnchorActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    async def anchor_audit_chains(self) -> AnchorResult:
        anchored = await asyncio.to_thread(run_in_transaction, self._engine, audit.anchor)
        if anchored is None:
            return AnchorResult(anchored=False)
        activity.logger.info("audit anchor %d over %d chain heads", anchored.id, anchored.heads)
        return AnchorResult(
            anchored=True, anchor_id=anchored.id, heads=anchored.heads, hash=anchored.hash
        )
