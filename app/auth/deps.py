"""Who is calling: the agent behind a personal API token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.models import Agent
from app.auth.service import agent_for_token
from app.db import SessionDep
from app.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="A personal API token: switchboard token create")


def api_agent(session: SessionDep,
              creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Agent:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <token>")
    agent = agent_for_token(session, creds.credentials)
    session.commit()  # keeps last_used_at
    return agent


ApiAgent = Annotated[Agent, Depends(api_agent)]
