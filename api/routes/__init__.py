"""The ``/v1`` API, one router module per resource (``accounts``, ``withdrawals``), each
behind the API key (``api.guard`` checks it; ``bearer`` documents it).

The app includes each router itself, never one inside another: a route's path then stays
its full template (``/v1/withdrawals/{withdrawal_id}``), which the request metrics use as
their label (``observability.http.route_template``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import accounts, withdrawals


def v1_routers() -> list[APIRouter]:
    return [withdrawals.router, accounts.router]
