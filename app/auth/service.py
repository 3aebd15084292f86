"""Staff users, password hashes and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlmodel import Session

from app.auth.models import Agent, ApiToken, Role
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound, Unauthorized
from app.text import typed

_hasher = PasswordHasher()
TOKEN_PREFIX = "sb_"
MIN_PASSWORD = 8


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()


def create_agent(session: Session, *, email: str, name: str, role: str,
                 password: str) -> Agent:
    """A new staff user; the email must be unused."""
    email = typed(email.strip().lower(), "email", limit=254)
    if "@" not in email:
        raise Invalid(f"not an email address: {email!r}")
    if role not in {r.value for r in Role}:
        raise Invalid(f"role must be one of agent, supervisor, admin (got {role!r})")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password must have at least {MIN_PASSWORD} characters")
    typed(password, "password")  # bytes that are not text (a terminal's bad input)
    if agent_by_email(session, email) is not None:
        raise Conflict(f"an agent with email {email} exists already")
    agent = Agent(email=email, name=typed(name.strip(), "name", limit=120) or email, role=role,
                  password_hash=_hasher.hash(password))
    session.add(agent)
    session.flush()
    return agent


def agent_by_email(session: Session, email: str) -> Agent | None:
    return session.scalars(select(Agent).where(Agent.email == email.strip().lower())).first()


def authenticate(session: Session, *, email: str, password: str) -> Agent:
    """The active agent with these credentials, or Unauthorized."""
    agent = agent_by_email(session, email)
    try:
        if agent is None or not agent.is_active:
            raise VerifyMismatchError
        _hasher.verify(agent.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("wrong email or password") from None
    return agent


def create_token(session: Session, *, email: str, name: str = "") -> str:
    """A new personal API token for the agent; only its hash is stored."""
    agent = agent_by_email(session, email)
    if agent is None:
        raise NotFound(f"no agent with email {email}")
    name = typed(name.strip(), "token name", limit=120)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(agent_id=agent.id, name=name, token_hash=hash_token(token)))
    session.flush()
    return token


def agent_for_token(session: Session, token: str) -> Agent:
    """The agent a bearer token belongs to, or Unauthorized."""
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                               ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).first()
    agent = session.get(Agent, row.agent_id) if row else None
    if row is None or agent is None or not agent.is_active:
        raise Unauthorized("invalid or revoked API token")
    row.last_used_at = utcnow()
    session.add(row)
    return agent
