"""Conversation actions as services: hand-over rules, snooze wake-up, audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.auth.service import create_agent
from app.db import utcnow
from app.errors import Invalid
from app.inbox import actions, search
from app.inbox.models import AuditEvent, Conversation
from app.ingest.service import ingest_batch
from tests import factories as f


@pytest.fixture
def conv(session: Session) -> Conversation:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[f.inbound("help")])
    return session.scalars(select(Conversation)).one()


def test_escalation_goes_to_a_supervisor_not_to_any_agent(session: Session,
                                                           conv: Conversation) -> None:
    agent = create_agent(session, email="a@x.io", name="Al", role="agent", password="long enough")
    boss = create_agent(session, email="b@x.io", name="Bo", role="supervisor",
                        password="long enough")
    with pytest.raises(Invalid, match="supervisor"):
        actions.escalate(session, conv, by=agent, reason="angry", to_agent_id=agent.id)
    with pytest.raises(Invalid, match="either a team or a named person"):
        actions.escalate(session, conv, by=agent, reason="angry")
    esc = actions.escalate(session, conv, by=agent, reason="angry", to_agent_id=boss.id)
    assert conv.assignee_id == boss.id and esc.reason == "angry"


def test_snoozed_conversations_wake_up_by_themselves(session: Session,
                                                      conv: Conversation) -> None:
    actions.snooze(session, conv, until=utcnow() + timedelta(hours=1), by=None)
    assert actions.wake_snoozed(session, utcnow()) == []
    assert actions.wake_snoozed(session, utcnow() + timedelta(hours=2)) == [conv.id]
    assert (conv.status, conv.snoozed_until) == ("open", None)
    woke = session.scalars(select(AuditEvent.action).where(
        AuditEvent.conversation_id == conv.id)).all()
    assert woke == ["snoozed", "woke"]


def test_resolve_closes_open_escalations(session: Session, conv: Conversation) -> None:
    boss = create_agent(session, email="b@x.io", name="Bo", role="admin", password="long enough")
    actions.escalate(session, conv, by=None, reason="legal question", to_agent_id=boss.id)
    actions.resolve(session, conv, by=None)
    assert conv.escalated_at is None
    assert actions.open_escalations(session, conv) == []


@pytest.mark.parametrize("bad", ["a\x00b", "half an emoji \ud83d"], ids=["NUL", "lone surrogate"])
def test_text_no_store_can_hold_is_refused_by_name_and_nothing_changes(
        session: Session, conv: Conversation, bad: str) -> None:
    boss = create_agent(session, email="b@x.io", name="Bo", role="supervisor",
                        password="long enough")
    attempts = {
        "note": lambda: actions.add_note(session, conv, by=boss, text=bad),
        "tag": lambda: actions.add_tag(session, conv, name=bad, by=boss),
        "reason": lambda: actions.escalate(session, conv, by=boss, reason=bad,
                                           to_agent_id=boss.id),
        "search": lambda: search.parse_terms(bad),
    }
    for what, attempt in attempts.items():
        with pytest.raises(Invalid, match=f"the {what} holds a character that cannot"):
            attempt()
    assert session.scalars(select(AuditEvent.action).where(
        AuditEvent.conversation_id == conv.id)).all() == []
    assert conv.escalated_at is None
