"""JSON API over conversations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from app.accounts.models import Account
from app.api_errors import API_ERRORS
from app.auth.deps import ApiAgent
from app.db import SessionDep
from app.ids import PathId, QueryId
from app.inbox import service
from app.inbox.models import Contact, Conversation, Status
from app.inbox.schemas import ConversationDetail, ConversationOut, ConversationPage, MessageOut
from connectors.base import Platform

api = APIRouter(prefix="/api/v1", tags=["conversations"], responses=API_ERRORS)


@api.get("/conversations", response_model=ConversationPage)
def list_conversations(
    session: SessionDep, _agent: ApiAgent,
    status: Status | None = None, account: QueryId = None, platform: Platform | None = None,
    sort: service.Sort = service.Sort.WAITING,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ConversationPage:
    """Conversations, longest waiting first; follow `next_cursor` for more."""
    filters = service.ConversationFilter(
        status=status.value if status else None, account_id=account,
        platform=platform.value if platform else None,
    )
    page = service.list_conversations(session, filters=filters, sort=sort, limit=limit,
                                      cursor=cursor)
    return ConversationPage(items=[ConversationOut.of(*row) for row in page.items],
                            next_cursor=page.next_cursor)


@api.get("/conversations/{conversation_id}", response_model=ConversationDetail)
def get_conversation(conversation_id: PathId, session: SessionDep,
                     _agent: ApiAgent) -> ConversationDetail:
    """One conversation with all its messages, oldest first."""
    conv = service.get_conversation(session, conversation_id)
    return _detail(session, conv)


def _detail(session: Session, conv: Conversation) -> ConversationDetail:
    account = session.get(Account, conv.account_id)
    contact = session.get(Contact, conv.contact_id) if conv.contact_id else None
    assert account is not None
    base = ConversationOut.of(conv, contact, account)
    messages = [MessageOut.of(m) for m in service.thread(session, conv)]
    return ConversationDetail(**base.model_dump(), messages=messages)
