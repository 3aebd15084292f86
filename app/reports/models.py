"""SLA policies: targets per priority / platform / account, with business hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.base_model import json_field, now_field, short_text


class SlaPolicy(SQLModel, table=True):
    __tablename__ = "sla_policy"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    priority: str | None = short_text(16, default=None, nullable=True)
    platform: str | None = short_text(16, default=None, nullable=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="CASCADE")
    first_response_seconds: int | None = None
    next_reply_seconds: int | None = None
    resolution_seconds: int | None = None
    at_risk_share: float = 0.25
    timezone: str = Field(default="UTC", max_length=64)
    # {"mon": [["09:00", "17:00"]], ...}; empty means around the clock.
    business_hours: dict[str, Any] = json_field()
    holidays: dict[str, Any] = json_field()
    is_default: bool = False
    created_at: datetime = now_field()
