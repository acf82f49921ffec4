"""Messages of the webhook delivery workflow and its activities."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookOrder(BaseModel):
    """Deliver one event to each URL, retrying within the given window (seconds)."""

    event_id: str
    urls: list[str] = Field(default_factory=list)
    retry_initial_seconds: float
    retry_max_interval_seconds: float
    retry_total_seconds: float


class WebhookTarget(BaseModel):
    event_id: str
    url: str


class WebhookGiveUp(BaseModel):
    event_id: str
    url: str
    error: str


class WebhookOutcome(BaseModel):
    url: str
    delivered: bool
