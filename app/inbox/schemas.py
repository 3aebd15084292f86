"""What the JSON API shows of conversations and messages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from app.accounts.models import Account
from app.inbox.models import Contact, Conversation
from app.inbox.service import ThreadMessage


class ContactOut(BaseModel):
    id: int
    platform: str
    external_id: str
    handle: str | None
    name: str | None
    avatar_url: str | None

    @classmethod
    def of(cls, c: Contact | None) -> ContactOut | None:
        if c is None:
            return None
        return cls(id=c.id or 0, platform=c.platform, external_id=c.external_id,
                   handle=c.handle, name=c.name, avatar_url=c.avatar_url)


class ConversationOut(BaseModel):
    id: int
    account_id: int
    account_name: str
    platform: str
    thread_kind: str
    external_thread_id: str
    status: str
    priority: str
    assignee_id: int | None
    team_id: int | None
    contact: ContactOut | None
    waiting_since: datetime | None
    last_message_at: datetime | None
    last_message_text: str | None
    message_count: int
    created_at: datetime

    @classmethod
    def of(cls, conv: Conversation, contact: Contact | None, account: Account) -> ConversationOut:
        return cls(
            id=conv.id or 0, account_id=conv.account_id, account_name=account.name,
            platform=conv.platform, thread_kind=conv.thread_kind,
            external_thread_id=conv.external_thread_id, status=conv.status,
            priority=conv.priority, assignee_id=conv.assignee_id, team_id=conv.team_id,
            contact=ContactOut.of(contact), waiting_since=conv.waiting_since,
            last_message_at=conv.last_message_at, last_message_text=conv.last_message_text,
            message_count=conv.message_count, created_at=conv.created_at,
        )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class AuthorOut(BaseModel):
    name: str | None
    handle: str | None


class MessageOut(BaseModel):
    id: int
    platform: str
    external_id: str | None
    direction: str
    author: AuthorOut
    text: str
    created_at: datetime
    is_automated: bool
    is_private: bool
    delivery_state: str | None
    delivery_error: str | None

    @classmethod
    def of(cls, tm: ThreadMessage) -> MessageOut:
        m = tm.message
        return cls(id=m.id or 0, platform=m.platform, external_id=m.external_id,
                   direction=m.direction, author=AuthorOut(name=tm.author_name,
                                                           handle=tm.author_handle),
                   text=m.text, created_at=m.created_at, is_automated=m.is_automated,
                   is_private=m.is_private,
                   delivery_state=m.delivery_state, delivery_error=m.delivery_error)


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]
