"""Server-Sent Events: lists and conversation views update themselves within a second.

Changes are read from the store itself (the newest `conversation.updated_at`, an index
look-up every half second), so a worker in another process is seen as well as this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app.db import SessionDep
from app.ids import PathId, QueryId
from app.inbox.models import Conversation
from app.inbox.service import get_conversation
from app.realtime.presence import presence
from app.web import CsrfAgent, WebAgent, templates

router = APIRouter(include_in_schema=False)
TICK = 0.5
KEEPALIVE = 15.0


def _versions(engine: Engine, conv_id: int | None) -> tuple[datetime | None, datetime | None]:
    # Polled twice a second per open page: a lock-free read.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        newest = conn.scalar(select(func.max(Conversation.updated_at)))
        mine = conn.scalar(select(Conversation.updated_at).where(
            Conversation.id == conv_id)) if conv_id else None
        return newest, mine


def _event(name: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return f"event: {name}\n{lines}\n"


@router.get("/events")
async def events(request: Request, session: SessionDep, agent: WebAgent,
                 conversation: QueryId = None) -> Response:
    factory = request.app.state.engine
    agent_id, name = agent.id or 0, agent.name
    # The stream lives long: give the request's connection back now, not when it ends.
    session.close()
    env = templates.env

    async def stream() -> AsyncIterator[str]:
        if conversation:
            presence.join(conversation, agent_id, name)
        try:
            last = await to_thread.run_sync(_versions, factory, conversation)
            seen_presence: list[tuple[str, bool]] | None = None
            idle = 0.0
            yield ": connected\n\n"
            while not await request.is_disconnected():
                await asyncio.sleep(TICK)
                idle += TICK
                now = await to_thread.run_sync(_versions, factory, conversation)
                if now[0] != last[0]:
                    yield _event("inbox", "changed")
                    idle = 0.0
                if conversation and now[1] != last[1]:
                    yield _event("conversation", "changed")
                last = now
                if conversation:
                    others = presence.others(conversation, agent_id)
                    if others != seen_presence:
                        html = env.get_template("inbox/_presence.html").render(others=others)
                        yield _event("presence", html)
                        seen_presence, idle = others, 0.0
                if idle >= KEEPALIVE:
                    yield ": keep-alive\n\n"
                    idle = 0.0
        finally:
            if conversation:
                presence.leave(conversation, agent_id)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/conversations/{conv_id}/typing")
def typing(conv_id: PathId, agent: CsrfAgent, session: SessionDep,
           active: Annotated[bool, Form()] = True) -> Response:
    get_conversation(session, conv_id)  # 404 for one that does not exist
    presence.typing(conv_id, agent.id or 0, agent.name, active)
    return Response(status_code=204)
