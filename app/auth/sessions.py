"""Browser sign-in: server-side sessions, CSRF tokens, and throttling of failed logins."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from app.auth.models import Agent, WebSession
from app.auth.service import authenticate, hash_token
from app.db import utcnow
from app.errors import DomainError, Unauthorized
from app.inbox.models import AuditEvent

SESSION_DAYS = 14
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_MAX = 5


class TooManyAttempts(DomainError):
    status_code = 429


def sign_in(session: Session, *, email: str, password: str, client: str = "",
            now: datetime | None = None) -> tuple[str, WebSession]:
    """A new browser session for valid credentials; throttled after repeated failures."""
    now = now or utcnow()
    key = email.strip().lower()
    failures = session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login_failed", AuditEvent.created_at > now - THROTTLE_WINDOW,
            AuditEvent.details["email"].as_string() == key,
        )
    ) or 0
    if failures >= THROTTLE_MAX:
        raise TooManyAttempts("too many failed sign-ins for this email; try again in 15 minutes")
    try:
        agent = authenticate(session, email=key, password=password)
    except Unauthorized:
        session.add(AuditEvent(action="login_failed", details={"email": key, "client": client},
                               created_at=now))
        raise
    token = secrets.token_urlsafe(32)
    web = WebSession(agent_id=agent.id or 0, token_hash=hash_token(token),
                     csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                     expires_at=now + timedelta(days=SESSION_DAYS))
    session.add(web)
    session.add(AuditEvent(agent_id=agent.id, action="login", details={"client": client},
                           created_at=now))
    session.flush()
    return token, web


def current(session: Session, token: str | None,
            now: datetime | None = None) -> tuple[Agent, WebSession] | None:
    """The signed-in agent and session for a cookie token, or None."""
    if not token:
        return None
    now = now or utcnow()
    web = session.scalars(select(WebSession).where(WebSession.token_hash == hash_token(token))
                          ).first()
    if web is None or web.expires_at <= now:
        return None
    agent = session.get(Agent, web.agent_id)
    if agent is None or not agent.is_active:
        return None
    return agent, web


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
