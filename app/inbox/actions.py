"""What staff do to a conversation. Each action leaves an audit event: who, what, when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from app.auth.models import Agent, Team
from app.db import utcnow
from app.errors import Invalid, NotFound
from app.ids import MAX_ID, optional_id
from app.inbox.models import (
    AuditEvent,
    Conversation,
    ConversationTag,
    Escalation,
    Note,
    Priority,
    Status,
    Tag,
)
from app.text import blank, typed

MAX_NOTE = 10_000
# Longer than anyone means to wait; beyond it a typo (year 9999) is more likely than a plan.
MAX_SNOOZE = timedelta(days=5 * 366)


def _touch(session: Session, conv: Conversation, by: Agent | None, action: str,
            now: datetime, /, **details: Any) -> None:
    conv.updated_at = now
    session.add(conv)
    session.add(AuditEvent(agent_id=by.id if by else None, conversation_id=conv.id,
                           action=action, details=details, created_at=now))


def assign(session: Session, conv: Conversation, *, by: Agent | None,
           agent_id: int | None = None, team_id: int | None = None) -> Conversation:
    """Give the conversation to an agent and/or a team (None clears)."""
    now = utcnow()
    assignee = session.get(Agent, agent_id) if agent_id is not None else None
    if agent_id is not None and (assignee is None or not assignee.is_active):
        raise NotFound(f"no active agent {agent_id}")
    team = session.get(Team, team_id) if team_id is not None else None
    if team_id is not None and team is None:
        raise NotFound(f"no team {team_id}")
    conv.assignee_id, conv.team_id = agent_id, team_id
    _touch(session, conv, by, "assigned", now, agent=assignee.name if assignee else None,
           team=team.name if team else None)
    return conv


def add_tag(session: Session, conv: Conversation, *, name: str, by: Agent | None) -> Tag:
    """Tag the conversation, creating the tag when it is new."""
    clean = " ".join(typed(name, "tag").strip().lower().split())
    if not clean or len(clean) > 64:
        raise Invalid("a tag needs 1 to 64 characters")
    tag = session.scalars(select(Tag).where(Tag.name == clean)).first()
    if tag is None:
        tag = Tag(name=clean)
        session.add(tag)
        session.flush()
    exists = session.get(ConversationTag, (conv.id, tag.id))
    if exists is None:
        session.add(ConversationTag(conversation_id=conv.id or 0, tag_id=tag.id or 0))
        _touch(session, conv, by, "tagged", utcnow(), tag=clean)
    return tag


def remove_tag(session: Session, conv: Conversation, *, tag_id: int, by: Agent | None) -> None:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"no tag {tag_id}")
    gone = session.execute(delete(ConversationTag).where(
        ConversationTag.conversation_id == conv.id, ConversationTag.tag_id == tag_id)).rowcount
    if gone:
        _touch(session, conv, by, "untagged", utcnow(), tag=tag.name)


def set_priority(session: Session, conv: Conversation, *, priority: str,
                 by: Agent | None) -> None:
    if priority not in {p.value for p in Priority}:
        raise Invalid("priority must be low, normal, high or urgent")
    if conv.priority != priority:
        old, conv.priority = conv.priority, priority
        _touch(session, conv, by, "priority", utcnow(), old=old, new=priority)


def resolve(session: Session, conv: Conversation, *, by: Agent | None) -> None:
    """Close the cycle; a new customer message reopens it."""
    if conv.status == Status.RESOLVED:
        return
    now = utcnow()
    conv.status, conv.resolved_at, conv.snoozed_until = Status.RESOLVED.value, now, None
    conv.waiting_since = None
    _close_escalations(session, conv, now, "resolved")
    _touch(session, conv, by, "resolved", now)


def reopen(session: Session, conv: Conversation, *, by: Agent | None) -> None:
    if conv.status == Status.OPEN:
        return
    now = utcnow()
    conv.status, conv.snoozed_until, conv.resolved_at = Status.OPEN.value, None, None
    _touch(session, conv, by, "reopened", now)


def snooze(session: Session, conv: Conversation, *, until: datetime, by: Agent | None) -> None:
    """Hide until `until`; wakes by itself then, or when the customer writes."""
    now = utcnow()
    if until.tzinfo is None:
        raise Invalid("snooze time needs a time zone")
    if until <= now:
        raise Invalid("snooze until a time in the future")
    if until > now + MAX_SNOOZE:
        raise Invalid("snooze for at most five years")
    conv.status, conv.snoozed_until = Status.SNOOZED.value, until
    _touch(session, conv, by, "snoozed", now, until=until.isoformat())


def wake_snoozed(session: Session, now: datetime | None = None) -> list[int]:
    """Reopen conversations whose snooze time has come; returns their ids."""
    now = now or utcnow()
    due = session.scalars(select(Conversation).where(
        Conversation.status == Status.SNOOZED.value,
        Conversation.snoozed_until <= now)).all()  # type: ignore[operator]
    for conv in due:
        conv.status, conv.snoozed_until = Status.OPEN.value, None
        _touch(session, conv, None, "woke", now)
    return [c.id for c in due if c.id is not None]


def escalate(session: Session, conv: Conversation, *, by: Agent | None, reason: str,
             to_agent_id: int | None = None, to_team_id: int | None = None) -> Escalation:
    """Hand over to a supervisor or team, with the reason; visible until answered."""
    reason = typed(reason.strip(), "reason", limit=MAX_NOTE)
    if blank(reason):
        raise Invalid("say why you escalate: the next person needs the reason")
    if (to_agent_id is None) == (to_team_id is None):
        raise Invalid("escalate to either a team or a named person")
    # Two agents escalating at once: the second waits for the first to commit, then sees
    # its escalation (PostgreSQL row lock; SQLite has one writer at a time anyway).
    session.execute(select(Conversation.id).where(Conversation.id == conv.id).with_for_update())
    if current := open_escalations(session, conv):
        raise Invalid(f"already escalated: {_escalation_names(session, current[0])}; "
                      "de-escalate first to hand it to someone else")
    target = (session.get(Agent, to_agent_id) if to_agent_id is not None
              else session.get(Team, to_team_id))
    if target is None:
        raise NotFound("no such team or person to escalate to")
    if isinstance(target, Agent) and (target.role == "agent" or not target.is_active):
        raise Invalid("escalate to a supervisor or an admin, or to a team")
    now = utcnow()
    esc = Escalation(conversation_id=conv.id or 0, by_agent_id=by.id if by else None,
                     to_agent_id=to_agent_id, to_team_id=to_team_id, reason=reason,
                     created_at=now)
    session.add(esc)
    conv.escalated_at = conv.escalated_at or now
    if to_agent_id is not None:
        conv.assignee_id = to_agent_id
    else:
        conv.team_id = to_team_id
    _touch(session, conv, by, "escalated", now, to=target.name, reason=reason)
    session.flush()
    return esc


def _escalation_names(session: Session, esc: Escalation) -> str:
    """Who has it and who handed it over, as the agent needs to read it."""
    to_agent = session.get(Agent, esc.to_agent_id) if esc.to_agent_id else None
    to_team = session.get(Team, esc.to_team_id) if esc.to_team_id else None
    by = session.get(Agent, esc.by_agent_id) if esc.by_agent_id else None
    has = to_agent.name if to_agent else f"team {to_team.name}" if to_team else "someone"
    return f"{has} has it (escalated by {by.name if by else 'Switchboard'})"


def deescalate(session: Session, conv: Conversation, *, by: Agent | None, note: str) -> None:
    note = typed(note.strip(), "note", limit=MAX_NOTE)
    if blank(note):
        raise Invalid("de-escalating needs a note saying what was done")
    if conv.escalated_at is None:
        raise Invalid("this conversation is not escalated")
    now = utcnow()
    _close_escalations(session, conv, now, note)
    _touch(session, conv, by, "deescalated", now, note=note)


def _close_escalations(session: Session, conv: Conversation, now: datetime, note: str) -> None:
    for esc in open_escalations(session, conv):
        esc.closed_at, esc.closed_note = now, note
        session.add(esc)
    conv.escalated_at = None


def close_escalations_on_answer(session: Session, conv: Conversation) -> None:
    """An answer to the customer ends the hand-over."""
    if conv.escalated_at is not None:
        _close_escalations(session, conv, utcnow(), "answered")


def open_escalations(session: Session, conv: Conversation) -> list[Escalation]:
    return list(session.scalars(select(Escalation).where(
        Escalation.conversation_id == conv.id, Escalation.closed_at.is_(None))  # type: ignore[union-attr]
        .order_by(Escalation.id)))


def add_note(session: Session, conv: Conversation, *, by: Agent | None, text: str) -> Note:
    """An internal note: never sent to the platform."""
    text = typed(text.strip(), "note", limit=MAX_NOTE)
    if blank(text):
        raise Invalid("a note needs some text")
    now = utcnow()
    note = Note(conversation_id=conv.id or 0, agent_id=by.id if by else None, text=text,
                created_at=now)
    session.add(note)
    _touch(session, conv, by, "noted", now)
    session.flush()
    return note


def mark_read(session: Session, conv: Conversation) -> None:
    conv.last_read_at = utcnow()
    session.add(conv)


def bulk(session: Session, ids: list[int], *, action: str, value: str,
         by: Agent | None) -> int:
    """Assign, tag or resolve several conversations at once; returns how many."""
    if not ids:
        raise Invalid("select at least one conversation")
    if action not in ("resolve", "tag", "assign"):
        raise Invalid(f"unknown bulk action {action!r}")
    agent_id = optional_id(value, "assignee") if action == "assign" else None
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise NotFound("some selected conversations no longer exist")
    convs = session.scalars(select(Conversation).where(Conversation.id.in_(ids))).all()  # type: ignore[union-attr]
    if len(convs) != len(set(ids)):
        raise NotFound("some selected conversations no longer exist")
    for conv in convs:
        if action == "resolve":
            resolve(session, conv, by=by)
        elif action == "tag":
            add_tag(session, conv, name=value, by=by)
        else:
            assign(session, conv, by=by, agent_id=agent_id, team_id=conv.team_id)
    return len(convs)
