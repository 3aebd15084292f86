"""Everything the conversation view shows, gathered in a few queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent, Team
from app.inbox.actions import open_escalations
from app.inbox.models import (
    AuditEvent,
    CannedResponse,
    Contact,
    Conversation,
    ConversationTag,
    Escalation,
    Note,
    Tag,
)
from app.inbox.service import ThreadMessage, thread
from connectors.base import PUBLIC_KINDS, TEXT_LIMITS, ThreadKind
from connectors.facebook import messenger_window


@dataclass
class HistoryLine:
    at: datetime
    who: str
    action: str
    details: dict[str, Any]


@dataclass
class Composer:
    kind: ThreadKind
    public: bool
    limit: int
    private_limit: int | None
    window: str | None  # Messenger: "response", "human_agent" or "closed"


@dataclass
class ConversationView:
    conv: Conversation
    account: Account
    contact: Contact | None
    messages: list[ThreadMessage]
    notes: list[tuple[Note, str]]
    tags: list[Tag]
    history: list[HistoryLine]
    others: list[tuple[Conversation, Account]]
    escalations: list[tuple[Escalation, str, str]]
    assignee: Agent | None
    team: Team | None
    composer: Composer
    agents: list[Agent] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    all_tags: list[Tag] = field(default_factory=list)
    canned: list[CannedResponse] = field(default_factory=list)

    @property
    def timeline(self) -> list[tuple[str, Any]]:
        """Messages and internal notes in one time order: ("message", tm) / ("note", pair)."""
        items: list[tuple[datetime, int, str, Any]] = [
            (tm.message.created_at, tm.message.id or 0, "message", tm) for tm in self.messages]
        items += [(n.created_at, n.id or 0, "note", (n, who)) for n, who in self.notes]
        return [(kind, item) for _, _, kind, item in sorted(items, key=lambda i: i[:2])]


def composer_for(conv: Conversation) -> Composer:
    kind = ThreadKind(conv.thread_kind)
    public = kind in PUBLIC_KINDS
    window = messenger_window(conv.last_inbound_at) if kind == ThreadKind.FB_MESSENGER else None
    return Composer(kind=kind, public=public, limit=TEXT_LIMITS[(kind, False)],
                    private_limit=TEXT_LIMITS.get((kind, True)) if public else None,
                    window=window)


def conversation_view(session: Session, conv: Conversation) -> ConversationView:
    account = session.get(Account, conv.account_id)
    assert account is not None
    contact = session.get(Contact, conv.contact_id) if conv.contact_id else None
    everyone = list(session.scalars(select(Agent).order_by(Agent.name)))
    names = {a.id: a.name for a in everyone}
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    team_names = {t.id: t.name for t in teams}
    notes = [(n, names.get(n.agent_id, "someone")) for n in session.scalars(
        select(Note).where(Note.conversation_id == conv.id).order_by(Note.created_at))]
    tags = list(session.scalars(select(Tag).join(ConversationTag).where(
        ConversationTag.conversation_id == conv.id).order_by(Tag.name)))
    history = [HistoryLine(e.created_at, names.get(e.agent_id, "Switchboard"), e.action,
                           e.details)
               for e in session.scalars(select(AuditEvent).where(
                   AuditEvent.conversation_id == conv.id).order_by(AuditEvent.created_at))]
    escalations = [
        (e, names.get(e.by_agent_id, "someone"),
         names.get(e.to_agent_id) or team_names.get(e.to_team_id) or "?")
        for e in open_escalations(session, conv)
    ]
    return ConversationView(
        conv=conv, account=account, contact=contact, messages=thread(session, conv),
        notes=notes, tags=tags, history=history, others=other_conversations(session, conv,
                                                                             contact),
        escalations=escalations,
        assignee=session.get(Agent, conv.assignee_id) if conv.assignee_id else None,
        team=session.get(Team, conv.team_id) if conv.team_id else None,
        composer=composer_for(conv),
        agents=[a for a in everyone if a.is_active],
        teams=teams, all_tags=list(session.scalars(select(Tag).order_by(Tag.name))),
        canned=list(session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))),
    )


def other_conversations(session: Session, conv: Conversation, contact: Contact | None,
                        limit: int = 20) -> list[tuple[Conversation, Account]]:
    """The person's other conversations, on every channel and account, newest first."""
    if contact is None:
        return []
    same_person = [contact.id]
    if contact.person_id is not None:
        same_person += list(session.scalars(select(Contact.id).where(
            Contact.person_id == contact.person_id)))
    # Without a person link, the same handle on another platform is a strong hint.
    handle_match = (select(Contact.id).where(Contact.handle == contact.handle)
                    if contact.handle else None)
    who = or_(Conversation.contact_id.in_(same_person),  # type: ignore[union-attr]
              *( [Conversation.contact_id.in_(handle_match)] if handle_match is not None  # type: ignore[union-attr]
                 else []))
    rows = session.execute(
        select(Conversation, Account).join(Account, Account.id == Conversation.account_id)
        .where(who, Conversation.id != conv.id)
        .order_by(Conversation.last_message_at.desc()).limit(limit)  # type: ignore[union-attr]
    ).all()
    return [(c, a) for c, a in rows]
