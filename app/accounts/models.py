"""Connected brand accounts and the polling cursor of each stream."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.base_model import now_field, short_text, timestamp


class Account(SQLModel, table=True):
    """One brand account on one platform (an X user, a Facebook Page)."""

    id: int | None = Field(default=None, primary_key=True)
    platform: str = short_text(16, index=True)
    name: str = Field(max_length=120)
    external_id: str | None = Field(default=None, max_length=64)
    handle: str | None = Field(default=None, max_length=120)
    api_base_url: str | None = Field(default=None, max_length=255)
    credentials_encrypted: str = Field(default="", sa_type=Text)
    poll_interval: int | None = None
    enabled: bool = True
    needs_reconnect: bool = False
    last_polled_at: datetime | None = timestamp()
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = timestamp()
    created_at: datetime = now_field()


class Cursor(SQLModel, table=True):
    """Where a stream's polling stopped; advances in the same transaction as its messages."""

    __table_args__ = (UniqueConstraint("account_id", "stream"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    stream: str = short_text(32)
    value: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = now_field()
    # Scheduling: no call before next_poll_at (a rate-limit reset or a backoff).
    next_poll_at: datetime | None = timestamp()
    failures: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    leased_by: str | None = Field(default=None, max_length=64)
    leased_until: datetime | None = timestamp()
