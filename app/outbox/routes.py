"""JSON API: post a reply; the worker sends it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api_errors import API_ERRORS
from app.auth.deps import ApiAgent
from app.db import SessionDep
from app.ids import PathId
from app.inbox import service as inbox
from app.inbox.schemas import MessageOut
from app.outbox.service import queue_reply

api = APIRouter(prefix="/api/v1", tags=["replies"], responses=API_ERRORS)


class ReplyIn(BaseModel):
    text: str = Field(description="What to send.")
    private: bool = Field(default=False,
                          description="On a public thread, answer by direct message instead.")


@api.post("/conversations/{conversation_id}/replies", status_code=202, response_model=MessageOut)
def post_reply(conversation_id: PathId, body: ReplyIn, session: SessionDep,
               agent: ApiAgent) -> MessageOut:
    """Queue a reply on the conversation's own channel; GET the conversation to follow it."""
    conv = inbox.get_conversation(session, conversation_id)
    message = queue_reply(session, conversation=conv, agent=agent, text=body.text,
                          private=body.private)
    session.commit()
    return MessageOut.of(inbox.ThreadMessage(message, agent.name, None))
