"""Staff: agents, teams, and personal API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.base_model import now_field, short_text, timestamp


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    created_at: datetime = now_field()


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=254)
    name: str = Field(max_length=120)
    role: str = short_text(16, default=Role.AGENT.value)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = now_field()


class AgentTeam(SQLModel, table=True):
    __tablename__ = "agent_team"
    agent_id: int = Field(foreign_key="agent.id", primary_key=True, ondelete="CASCADE")
    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=120)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = now_field()
    last_used_at: datetime | None = timestamp()
    revoked_at: datetime | None = timestamp()


class WebSession(SQLModel, table=True):
    """A signed-in browser; the cookie carries the token, the table only its hash."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = now_field()
    last_seen_at: datetime = now_field()
    expires_at: datetime = now_field()
