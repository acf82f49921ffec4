"""The review queue: waiting withdrawals, oldest first, with filters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from application.review_queue import (
    ReviewItem,
    waiting_for_review,
)
from console import i18n
from console.pages import (
    PREFIX,
    duration,
    page_for,
    queue_refresh_seconds,
    services_of,
    signed_in_session,
    to_sign_in,
    utc_now,
)
from models.domain import DesignatedReason, Route

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True)
class Filters:
    route: str = ""
    reason: str = ""
    overdue: bool = False

    def keep(self, item: ReviewItem) -> bool:
        if self.route and item.route != self.route:
            return False
        if self.overdue and not item.overdue:
            return False
        if self.reason in i18n.R17_FILTERS:
            return i18n.R17_FILTERS[self.reason] in item.review_reasons
        return not self.reason or item.designated_reason == self.reason

    @property
    def active(self) -> bool:
        return bool(self.route or self.reason or self.overdue)


def _queue_row(item: ReviewItem, now: datetime) -> dict[str, Any]:
    return {
        "item": item,
        "age": duration(item.age_seconds),
        "left": duration((item.sla_due_at - now).total_seconds()),
    }


@router.get("/queue")
async def queue(request: Request, route: str = "", reason: str = "", overdue: str = "") -> Response:
    session = await signed_in_session(request)
    if session is None:
        return to_sign_in(request)
    now = utc_now()
    items = await asyncio.to_thread(waiting_for_review, services_of(request).engine, now)
    filters = Filters(route=route[:16], reason=reason[:40], overdue=overdue == "1")
    rows = [_queue_row(item, now) for item in items if filters.keep(item)]
    return page_for(request, session).render(
        "queue.html",
        rows=rows,
        total=len(items),
        filters=filters,
        routes=[r.value for r in Route],
        r9_reasons=[r.value for r in DesignatedReason],
        r17_filters=i18n.R17_FILTERS,
        refresh_seconds=queue_refresh_seconds(),
    )
