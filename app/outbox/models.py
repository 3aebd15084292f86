"""Replies waiting to be posted; written before any network call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.base_model import now_field, short_text, timestamp


class Outbox(SQLModel, table=True):
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True, ondelete="CASCADE")
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    state: str = short_text(16, default="queued")
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp()
    last_error: str | None = Field(default=None, sa_type=Text)
    sending_started_at: datetime | None = timestamp()
    created_at: datetime = now_field()
    updated_at: datetime = now_field()
