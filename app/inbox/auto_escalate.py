"""The SLA rule that hands a conversation over when its reply gets at risk unanswered."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.auth.models import Agent, Team
from app.inbox import actions
from app.inbox.models import Conversation
from app.reports.models import SlaPolicy
from app.reports.sla import newly_at_risk


def escalate_at_risk(session: Session, *, since: datetime, now: datetime) -> list[int]:
    """Escalate conversations whose reply clock crossed into at risk in (since, now]."""
    done = []
    for clock in newly_at_risk(session, since=since, now=now):
        if clock.target == "resolution":
            continue
        policy = session.get(SlaPolicy, clock.policy_id)
        conv = session.get(Conversation, clock.conversation_id)
        if policy is None or conv is None or conv.escalated_at is not None:
            continue
        team = session.get(Team, policy.escalate_to_team_id) \
            if policy.escalate_to_team_id else None
        person = session.get(Agent, policy.escalate_to_agent_id) \
            if policy.escalate_to_agent_id else None
        if team is None and (person is None or not person.is_active):
            continue
        minutes = int(clock.target_seconds // 60)
        reason = (f"SLA at risk: {clock.target.replace('_', ' ')} due "
                  f"{clock.due_at:%Y-%m-%d %H:%M} UTC (target {minutes} min, "
                  f"policy {policy.name})")
        actions.escalate(session, conv, by=None, reason=reason,
                         to_team_id=team.id if team else None,
                         to_agent_id=None if team else person.id if person else None)
        done.append(conv.id or 0)
    return done
