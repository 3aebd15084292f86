"""The SLA rule: a reply clock that gets at risk unanswered escalates, once, with the reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from app.auth.models import Team
from app.db import utcnow
from app.inbox.auto_escalate import escalate_at_risk
from app.inbox.models import Conversation, Escalation
from app.ingest.service import ingest_batch
from app.reports.models import SlaPolicy
from tests import factories as f


def test_at_risk_reply_is_escalated_once_with_the_reason(session: Session) -> None:
    team = Team(name="Second level")
    session.add(team)
    session.flush()
    session.add(SlaPolicy(name="Default", is_default=True, first_response_seconds=20 * 60,
                          at_risk_share=0.25, escalate_to_team_id=team.id))
    acc = f.account(session)
    now = utcnow()
    ingest_batch(session, account=acc, stream="m", cursor=None, now=now, messages=[
        f.inbound("help", created_at=now - timedelta(minutes=10), thread="a", author="1"),
        f.inbound("also", created_at=now - timedelta(minutes=1), thread="b", author="2"),
    ])
    # At risk once less than 5 of the 20 minutes are left: thread a at +6 min, b at +15.
    assert escalate_at_risk(session, since=now, now=now + timedelta(minutes=2)) == []
    first = escalate_at_risk(session, since=now + timedelta(minutes=2),
                             now=now + timedelta(minutes=7))
    a = session.scalars(select(Conversation).where(Conversation.external_thread_id == "a")).one()
    assert first == [a.id]
    esc = session.scalars(select(Escalation)).one()
    assert esc.to_team_id == team.id and esc.reason.startswith("SLA at risk: first response")
    again = escalate_at_risk(session, since=now + timedelta(minutes=7),
                             now=now + timedelta(minutes=30))
    assert a.id not in again  # already escalated: not twice


def test_no_rule_no_escalation(session: Session) -> None:
    session.add(SlaPolicy(name="Default", is_default=True, first_response_seconds=20 * 60))
    acc = f.account(session)
    now = utcnow()
    ingest_batch(session, account=acc, stream="m", cursor=None, now=now, messages=[
        f.inbound("help", created_at=now - timedelta(minutes=19), thread="a", author="1")])
    assert escalate_at_risk(session, since=now - timedelta(minutes=10),
                            now=now + timedelta(minutes=5)) == []
