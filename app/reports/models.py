"""SLA policies, and the response spans the reports are computed from.

`report_span` is a cache, not a record: every row is derived in SQL (window functions
over messages and resolution events, app/reports/spans.py) and can be dropped and
rebuilt at any time. Triggers (migration "report spans") put a conversation into
`report_dirty` whenever something a span depends on changes; the report functions
recompute those conversations before they read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, text
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
    # {"2026-12-25": "Christmas Day", ...}: local dates without business hours.
    holidays: dict[str, Any] = json_field()
    is_default: bool = False
    # Optional rule: hand a conversation over when its reply clock gets at risk unanswered.
    # Plain ids, no foreign keys: adding those would make SQLite rebuild the table and lose
    # its report triggers; a target that no longer exists is skipped.
    escalate_to_team_id: int | None = None
    escalate_to_agent_id: int | None = None
    created_at: datetime = now_field()


OPEN_SPAN = "end_us IS NULL AND closed_us IS NULL"


def _micros(nullable: bool = True, primary_key: bool = False) -> Any:
    """Microseconds since 1970-01-01 UTC: exact integer arithmetic on both stores."""
    return Field(default=None, sa_type=BigInteger, nullable=nullable, primary_key=primary_key)


class ReportSpan(SQLModel, table=True):
    """One measured wait: a reply (one per run of customer messages; the cycle's first
    run is its first response) or a resolution (one per cycle). Epoch microseconds.

    Also, kind "undone", no wait: a time a cycle stood resolved until staff reopened it
    (start_us: the resolution, end_us = closed_us: the reopening), for the backlog; the
    resolution span runs to the cycle's last resolution. Readers of the waits filter on
    kind (spans.WAIT_KINDS).

    The primary key starts with (kind, start_us) and, on SQLite, the table is stored in
    that order (WITHOUT ROWID): a report reads one contiguous slice for its date range
    instead of looking up every row.
    """

    __tablename__ = "report_span"
    __table_args__ = (
        Index("ix_report_span_kind_end", "kind", "end_us"),
        Index("ix_report_span_conversation", "conversation_id"),
        # Waits still running: the inbox badges (by conversation) and the at-risk check
        # (by start) read only these.
        Index("ix_report_span_open", "start_us", sqlite_where=text(OPEN_SPAN),
              postgresql_where=text(OPEN_SPAN)),
        Index("ix_report_span_open_conversation", "conversation_id",
              sqlite_where=text(OPEN_SPAN), postgresql_where=text(OPEN_SPAN)),
        {"sqlite_with_rowid": False},
    )
    kind: str = short_text(16, primary_key=True)  # reply | resolution | undone
    start_us: int = _micros(nullable=False, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE",
                                 primary_key=True)
    cycle_no: int = Field(primary_key=True)  # the conversation's 1st, 2nd ... cycle
    # The cycle's 1st, 2nd ... run; 0: resolution; undone: the reopening's place among
    # the cycle's resolutions and reopenings.
    run_no: int = Field(primary_key=True)
    is_first: bool  # the cycle's first run: this reply span is its first response
    # The answering reply (or the resolution); null while unanswered.
    end_us: int | None = _micros()
    # When the cycle was resolved; closes an unanswered wait without an answer.
    closed_us: int | None = _micros()
    # Duration to end_us, or to closed_us when closed unanswered; null while open.
    wall_us: int | None = _micros()
    biz_us: int | None = _micros()
    # Who answered (reply) or resolved (resolution).
    agent_id: int | None = None
    policy_id: int | None = None
    target_us: int | None = _micros()  # first response, next reply or resolution target
    met: bool | None = None
    # Copies of the conversation's fields, so that filters need no join; the
    # conversation is recomputed when one of them changes.
    platform: str = short_text(16)
    account_id: int
    priority: str = short_text(16)
    team_id: int | None = None
    assignee_id: int | None = None


class ReportMessage(SQLModel, table=True):
    """Customer messages and human replies, narrow and in time order, for the counts
    per day, hour and agent. Derived with the spans, from `message`."""

    __tablename__ = "report_message"
    __table_args__ = (
        Index("ix_report_message_conversation", "conversation_id"),
        {"sqlite_with_rowid": False},
    )
    at_us: int = _micros(nullable=False, primary_key=True)
    message_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    is_reply: bool  # a human reply; else a customer message
    agent_id: int | None = None
    canned_unchanged: bool | None = None
    platform: str = short_text(16)
    account_id: int
    priority: str = short_text(16)
    team_id: int | None = None
    assignee_id: int | None = None


class ReportDirty(SQLModel, table=True):
    """Conversations whose spans are out of date. No foreign key: a deleted
    conversation's messages mark it on their way out, and the refresh drops it."""

    __tablename__ = "report_dirty"
    conversation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # Bumped by every change, so that a writer takes the row's lock on PostgreSQL.
    changes: int = 0
