"""Hand-built conversation timelines with explicit timestamps, through the real paths
where they take a time (ingest for customer and platform-app messages, the outbox for
agent replies) and direct rows with the same effect where they don't (resolve, reopen,
snooze and notes stamp utcnow())."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.accounts.models import Account
from app.auth.models import Agent
from app.inbox.models import AuditEvent, Conversation, Message, Note
from app.ingest.service import ingest_batch
from app.outbox.service import queue_reply
from app.reports.models import SlaPolicy
from connectors.base import Platform, ThreadKind
from tests import factories as f

_threads = itertools.count(1)
# Monday 2 November 2026, 00:00 UTC: every test counts from here.
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def t(day: int = 0, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A time `day` days after Monday 2 November 2026 00:00 UTC."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


class Timeline:
    """One conversation, written event by event."""

    def __init__(self, session: Session, account: Account, *, thread: str | None = None,
                 kind: ThreadKind = ThreadKind.X_MENTION) -> None:
        self.session, self.account = session, account
        self.thread = thread or f"thread-{next(_threads)}"
        self.kind = kind
        self.platform = Platform(account.platform)
        self._conv: Conversation | None = None
        self.last: Message | None = None
        self._id: int | None = None

    @property
    def conv(self) -> Conversation:
        if self._conv is None:
            self._conv = self.session.scalars(select(Conversation).where(
                col(Conversation.account_id) == self.account.id,
                col(Conversation.external_thread_id) == self.thread)).one()
        self.session.refresh(self._conv)
        self._id = self._conv.id
        return self._conv

    @property
    def id(self) -> int:
        if self._id is None:
            self._id = self.conv.id
        assert self._id is not None
        return self._id

    def customer(self, at: datetime, text: str = "help please", *,
                 ingested: timedelta = timedelta(seconds=30)) -> Timeline:
        """A customer message, ingested a little later (as a poller would)."""
        self._ingest(at, text, own=False, ingested=ingested)
        return self

    def platform_reply(self, at: datetime, text: str = "on it (sent from the app)") -> Timeline:
        """A reply the brand wrote in the platform's own app, found by the connector."""
        self._ingest(at, text, own=True, ingested=timedelta(seconds=30))
        return self

    def _ingest(self, at: datetime, text: str, *, own: bool, ingested: timedelta) -> None:
        msg = f.inbound(text, thread=self.thread, kind=self.kind, platform=self.platform,
                        author=self.account.external_id or "42" if own else "7", is_own=own,
                        created_at=at)
        ingest_batch(self.session, account=self.account, stream="s", messages=[msg],
                     cursor=None, now=at + ingested)

    def reply(self, at: datetime, agent: Agent, text: str = "Sorry! Fixed.", *,
              state: str = "sent", canned: bool | None = None) -> Timeline:
        """An agent's reply through the outbox, delivered (or not) afterwards; the
        message is kept as `last`."""
        message = queue_reply(self.session, conversation=self.conv, agent=agent, text=text,
                              now=at)
        message.delivery_state = state
        if canned is not None:
            message.canned_response_id, message.canned_unchanged = 1, canned
        self.session.add(message)
        self.session.flush()
        self.last = message
        return self

    def auto_ack(self, at: datetime) -> Timeline:
        """An automatic acknowledgement: outbound, is_automated, no agent."""
        self.session.add(Message(conversation_id=self.id, platform=self.platform.value,
                                 direction="outbound", text="We got your message!",
                                 created_at=at, received_at=at, is_automated=True,
                                 delivery_state="sent"))
        self.session.flush()
        return self

    def note(self, at: datetime, agent: Agent) -> Timeline:
        self.session.add(Note(conversation_id=self.id, agent_id=agent.id, text="VIP",
                              created_at=at))
        self._event(at, agent, "noted")
        return self

    def resolve(self, at: datetime, agent: Agent | None = None) -> Timeline:
        conv = self.conv
        conv.status, conv.resolved_at, conv.waiting_since = "resolved", at, None
        self.session.add(conv)
        self._event(at, agent, "resolved")
        return self

    def reopen(self, at: datetime, agent: Agent) -> Timeline:
        """Staff reopen a resolved conversation (no customer message)."""
        conv = self.conv
        conv.status, conv.resolved_at = "open", None
        self.session.add(conv)
        self._event(at, agent, "reopened")
        return self

    def snooze(self, at: datetime, until: datetime, agent: Agent) -> Timeline:
        conv = self.conv
        conv.status, conv.snoozed_until = "snoozed", until
        self.session.add(conv)
        self._event(at, agent, "snoozed", until=until.isoformat())
        return self

    def wake(self, at: datetime) -> Timeline:
        conv = self.conv
        conv.status, conv.snoozed_until = "open", None
        self.session.add(conv)
        self._event(at, None, "woke")
        return self

    def set(self, **fields: Any) -> Timeline:
        conv = self.conv
        for name, value in fields.items():
            setattr(conv, name, value)
        self.session.add(conv)
        self.session.flush()
        return self

    def _event(self, at: datetime, agent: Agent | None, action: str, **details: Any) -> None:
        conversation_id = self.id
        self.session.flush()  # the conversation's changes, before anything reloads it
        self.session.add(AuditEvent(agent_id=agent.id if agent else None,
                                    conversation_id=conversation_id, action=action,
                                    details=details,
                                    created_at=at))
        self.session.flush()


def policy(session: Session, name: str = "standard", **fields: Any) -> SlaPolicy:
    p = SlaPolicy(name=name, **fields)
    session.add(p)
    session.flush()
    return p


OFFICE = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
