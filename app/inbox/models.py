"""People writing in, their conversations and messages, and what staff add to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.base_model import json_field, now_field, short_text, timestamp


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Person(SQLModel, table=True):
    """One human behind one or more platform identities."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = now_field()


class Contact(SQLModel, table=True):
    """One platform identity (an X user, a Facebook page-scoped id)."""

    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = short_text(16)
    external_id: str = Field(max_length=64)
    handle: str | None = Field(default=None, max_length=120)
    name: str | None = Field(default=None, max_length=200)
    avatar_url: str | None = Field(default=None, max_length=500)
    profile_url: str | None = Field(default=None, max_length=500)
    follower_count: int | None = None
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True,
                                  ondelete="SET NULL")
    created_at: datetime = now_field()
    updated_at: datetime = now_field()


HAS_TEAM = "team_id IS NOT NULL"
ESCALATED = "escalated_at IS NOT NULL"


class Conversation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("account_id", "thread_kind", "external_thread_id"),
        Index("ix_conversation_status_waiting", "status", "waiting_since", "id"),
        Index("ix_conversation_status_last_message", "status", "last_message_at", "id"),
        # One agent's or nobody's conversations, any status, in waiting order.
        Index("ix_conversation_assignee_waiting", "assignee_id", "waiting_since", "id"),
        Index("ix_conversation_account_status", "account_id", "status"),
        # Partial: only rows the lists read through them, so the many conversation
        # updates of ingest write no entries into them (migration 3d7e1f0a9c52).
        Index("ix_conversation_team_status", "team_id", "status",
              sqlite_where=text(HAS_TEAM), postgresql_where=text(HAS_TEAM)),
        Index("ix_conversation_updated", "updated_at"),
        Index("ix_conversation_escalated", "escalated_at", "id",
              sqlite_where=text(ESCALATED), postgresql_where=text(ESCALATED)),
        # Lists without a status filter, and "Unassigned" / "Mine" (bench/inbox.py).
        Index("ix_conversation_waiting", "waiting_since", "id"),
        Index("ix_conversation_last_message", "last_message_at", "id"),
        Index("ix_conversation_status_assignee_waiting", "status", "assignee_id",
              "waiting_since", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    platform: str = short_text(16)
    thread_kind: str = short_text(16)
    external_thread_id: str = Field(max_length=128)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True,
                                   ondelete="SET NULL")
    status: str = short_text(16, default=Status.OPEN.value)
    priority: str = short_text(16, default=Priority.NORMAL.value)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    snoozed_until: datetime | None = timestamp()
    created_at: datetime = now_field()
    updated_at: datetime = now_field()
    # Figures the inbox sorts on, kept current by ingest and replies.
    cycle_started_at: datetime | None = timestamp()
    waiting_since: datetime | None = timestamp()
    first_message_at: datetime | None = timestamp()
    last_message_at: datetime | None = timestamp()
    last_inbound_at: datetime | None = timestamp()
    last_outbound_at: datetime | None = timestamp()
    resolved_at: datetime | None = timestamp()
    last_message_text: str | None = Field(default=None, max_length=280)
    message_count: int = 0
    # Set while an escalation is open: the Escalated view reads it through an index.
    escalated_at: datetime | None = timestamp()
    # Unread when a customer wrote after anyone on the team last opened it.
    last_read_at: datetime | None = timestamp()


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_message_conversation_created", "conversation_id", "created_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    platform: str = short_text(16)
    # Null until the platform gives our own reply an id.
    external_id: str | None = Field(default=None, max_length=128)
    direction: str = short_text(16)
    author_contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True,
                                          ondelete="SET NULL")
    author_agent_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    text: str = Field(default="", sa_type=Text)
    created_at: datetime = now_field()
    received_at: datetime = now_field()
    in_reply_to_external_id: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, max_length=500)
    is_automated: bool = False
    is_private: bool = False
    delivery_state: str | None = short_text(16, default=None, nullable=True)
    delivery_error: str | None = Field(default=None, sa_type=Text)
    raw: dict[str, Any] = json_field()
    # Set by the composer when a reply was written from a canned response, and whether it
    # went out unchanged. No foreign key on purpose: deleting a canned response must not
    # touch the message table (and SQLite can drop a plain column without rebuilding it).
    canned_response_id: int | None = None
    canned_unchanged: bool | None = None


class Tag(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    color: str | None = Field(default=None, max_length=16)
    created_at: datetime = now_field()


class ConversationTag(SQLModel, table=True):
    __tablename__ = "conversation_tag"
    __table_args__ = (Index("ix_conversation_tag_tag", "tag_id", "conversation_id"),)
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True,
                                 ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")
    created_at: datetime = now_field()


class Note(SQLModel, table=True):
    """Internal note on a conversation: never sent to the platform."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    agent_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    text: str = Field(sa_type=Text)
    created_at: datetime = now_field()


class Escalation(SQLModel, table=True):
    """A hand-over: who took the conversation and why, until answered or de-escalated."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    by_agent_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    to_agent_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    to_team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    reason: str = Field(sa_type=Text)
    created_at: datetime = now_field()
    closed_at: datetime | None = timestamp()
    closed_note: str | None = Field(default=None, sa_type=Text)


class CannedResponse(SQLModel, table=True):
    __tablename__ = "canned_response"
    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(unique=True, max_length=64)
    title: str = Field(max_length=200)
    text: str = Field(sa_type=Text)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    created_at: datetime = now_field()


class AuditEvent(SQLModel, table=True):
    """Every state change: who, what, when."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_conversation", "conversation_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", ondelete="SET NULL")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id",
                                        ondelete="CASCADE")
    action: str = Field(max_length=64)
    details: dict[str, Any] = json_field()
    created_at: datetime = now_field()
