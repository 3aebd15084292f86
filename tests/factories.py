"""Plain builders for test data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from connectors.base import Author, InboundMessage, Platform, ThreadKind

_ids = itertools.count(1000)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def account(session: Session, *, platform: str = "x", name: str | None = None,
            external_id: str = "42", **kw: Any) -> Account:
    # Connected, as far as the app can tell; never opened unless a test sends for real.
    kw.setdefault("credentials_encrypted", "sealed-credentials")
    acc = Account(platform=platform, name=name or f"acme-{next(_ids)}", external_id=external_id,
                  handle="acme", **kw)
    session.add(acc)
    session.flush()
    return acc


def agent(session: Session, *, email: str | None = None, role: str = "agent",
          name: str = "Alex Agent") -> Agent:
    a = Agent(email=email or f"agent{next(_ids)}@example.com", name=name, role=role,
              password_hash="x")
    session.add(a)
    session.flush()
    return a


def inbound(text: str = "my order never arrived", *, minutes: float = 0,
            thread: str = "t1", author: str = "7", handle: str | None = "jane",
            name: str | None = "Jane Doe", is_own: bool = False,
            kind: ThreadKind = ThreadKind.X_MENTION, platform: Platform = Platform.X,
            external_id: str | None = None, created_at: datetime | None | bool = True,
            raw: dict[str, Any] | None = None) -> InboundMessage:
    """A normalized message; `created_at=None` means the platform gave none."""
    when = at(minutes) if created_at is True else created_at
    return InboundMessage(
        platform=platform, external_id=external_id or str(next(_ids)), thread_kind=kind,
        external_thread_id=thread,
        author=Author(external_id=author, handle=handle, name=name),
        text=text, created_at=when if isinstance(when, datetime) else None, is_own=is_own,
        raw=raw if raw is not None else {"text": text},
    )
