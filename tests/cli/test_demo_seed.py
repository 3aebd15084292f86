"""The demo's seed shows a hand-over as a support team does it: the customer is told,
and the conversation waits with the team that can act, with the reason."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.auth.models import Team
from app.demo import seed
from app.inbox.models import Contact, Conversation, Direction, Escalation, Message
from app.inbox.service import ConversationFilter, Sort, list_conversations


def test_the_demo_holds_one_hand_over_with_its_reason(session: Session) -> None:
    assert seed(session) is True
    session.flush()
    page = list_conversations(session, filters=ConversationFilter(escalated=True),
                              sort=Sort.ESCALATED, limit=10)
    assert [contact.name for _, contact, _ in page.items] == ["Lena Fischer"]
    conv: Conversation = page.items[0][0]
    esc = session.scalars(select(Escalation).where(
        Escalation.conversation_id == conv.id)).one()
    team = session.get(Team, esc.to_team_id)
    assert team is not None and conv.team_id == team.id and team.name == "Second level"
    assert "refund" in esc.reason and esc.closed_at is None and esc.by_agent_id is not None
    last = session.scalars(select(Message).where(Message.conversation_id == conv.id)
                           .order_by(Message.created_at.desc())).first()  # type: ignore[attr-defined]
    assert last is not None and last.direction == Direction.OUTBOUND
    assert "billing team" in last.text  # she knows who has it now
    assert session.scalars(select(Contact).where(Contact.name == "Lena Fischer")).one()
    assert seed(session) is False  # seeds once
