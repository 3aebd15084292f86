"""Reading the inbox: conversation lists (keyset pages) and one conversation's thread."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from app.errors import Invalid, NotFound
from app.inbox.models import Contact, Conversation, Message, Status

MAX_LIMIT = 200


class Sort(StrEnum):
    WAITING = "waiting"  # longest waiting first, then the answered ones, newest first
    NEWEST = "newest"


@dataclass(frozen=True)
class ConversationFilter:
    status: str | None = None
    account_id: int | None = None
    platform: str | None = None
    assignee_id: int | None = None


@dataclass
class Page:
    items: list[tuple[Conversation, Contact | None, Account]]
    next_cursor: str | None


def list_conversations(session: Session, *, filters: ConversationFilter,
                       sort: Sort = Sort.WAITING, limit: int = 50,
                       cursor: str | None = None) -> Page:
    """One page of conversations; pass `next_cursor` back for the next page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    if filters.status is not None and filters.status not in {s.value for s in Status}:
        raise Invalid(f"unknown status {filters.status!r}")
    phase, after = _decode(cursor) if cursor else (0 if sort == Sort.WAITING else 2, None)
    items: list[Any] = []
    # WAITING reads two index-ordered runs: waiting conversations (phase 0), then the
    # answered ones (phase 1). NEWEST is one run over all (phase 2).
    phases = (0, 1) if sort == Sort.WAITING else (2,)
    if phase not in phases:
        raise Invalid("cursor belongs to another sort order")
    for ph in phases:
        if ph < phase:
            continue
        want = limit + 1 - len(items)
        rows = session.execute(
            _phase_query(filters, ph, after if ph == phase else None, want)
        ).all()
        items.extend((ph, row) for row in rows)
        if len(items) > limit:
            break
    page, more = items[:limit], len(items) > limit
    next_cursor = _encode(*page[-1]) if more and page else None
    return Page(items=[tuple(row) for _, row in page], next_cursor=next_cursor)  # type: ignore[misc]


def _phase_query(filters: ConversationFilter, phase: int, after: tuple[datetime, int] | None,
                 limit: int) -> Select[Any]:
    q = (select(Conversation, Contact, Account)
         .join(Account, Account.id == Conversation.account_id)
         .outerjoin(Contact, Contact.id == Conversation.contact_id))
    if filters.status:
        q = q.where(Conversation.status == filters.status)
    if filters.account_id is not None:
        q = q.where(Conversation.account_id == filters.account_id)
    if filters.platform:
        q = q.where(Conversation.platform == filters.platform)
    if filters.assignee_id is not None:
        q = q.where(Conversation.assignee_id == filters.assignee_id)
    cid = Conversation.id
    if phase == 0:
        key = Conversation.waiting_since
        q = q.where(key.is_not(None))  # type: ignore[union-attr]
        if after:
            q = q.where(or_(key > after[0], and_(key == after[0], cid > after[1])))
        return q.order_by(key.asc(), cid.asc()).limit(limit)  # type: ignore[union-attr]
    key = Conversation.last_message_at
    if after:
        q = q.where(or_(key < after[0], and_(key == after[0], cid < after[1])))
    if phase == 1:
        q = q.where(Conversation.waiting_since.is_(None))  # type: ignore[union-attr]
    return q.order_by(key.desc(), cid.desc()).limit(limit)  # type: ignore[union-attr]


def _encode(phase: int, row: Any) -> str:
    conv: Conversation = row[0]
    ts = conv.waiting_since if phase == 0 else conv.last_message_at
    raw = json.dumps([phase, ts.isoformat() if ts else None, conv.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, tuple[datetime, int] | None]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        phase, ts, cid = json.loads(base64.urlsafe_b64decode(padded))
        return int(phase), (datetime.fromisoformat(ts), int(cid))
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise Invalid("cursor is not one this server gave out") from None


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conv


@dataclass
class ThreadMessage:
    message: Message
    author_name: str | None
    author_handle: str | None


def thread(session: Session, conv: Conversation) -> list[ThreadMessage]:
    """The conversation's messages, oldest first, with who wrote each."""
    rows = session.execute(
        select(Message, Contact, Agent)
        .outerjoin(Contact, Contact.id == Message.author_contact_id)
        .outerjoin(Agent, Agent.id == Message.author_agent_id)
        .where(Message.conversation_id == conv.id)
        .order_by(Message.created_at, Message.id)
    ).all()
    out = []
    for msg, contact, agent in rows:
        if contact is not None:
            out.append(ThreadMessage(msg, contact.name, contact.handle))
        elif agent is not None:
            out.append(ThreadMessage(msg, agent.name, None))
        else:
            out.append(ThreadMessage(msg, None, None))
    return out
