"""Full-text search over message text and contact names and handles (placeholder: LIKE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from app.errors import Invalid
from app.inbox.models import Contact, Conversation, Message


def matching_conversation_ids(session: Session, query: str) -> Any:
    """A SELECT of the ids of conversations whose messages or contact match `query`."""
    terms = query.strip()
    if not terms or len(terms) > 200:
        raise Invalid("search needs 1 to 200 characters")
    like = f"%{terms}%"
    by_text = select(Message.conversation_id).where(Message.text.ilike(like))  # type: ignore[attr-defined]
    by_contact = (select(Conversation.id).join(Contact, Contact.id == Conversation.contact_id)
                  .where(or_(Contact.name.ilike(like), Contact.handle.ilike(like))))  # type: ignore[union-attr]
    return by_text.union(by_contact)
