"""Which SLA policy applies to a conversation.

A policy names any of account, platform and priority; it matches a conversation when
every field it names is equal. The most specific match wins: naming the account
outranks naming the platform, which outranks naming the priority (a score of 4, 2 and
1, added up), then the lowest id. The default policy (is_default) matches everything,
whatever it names, and applies only when no other policy matches.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from app.inbox.models import Conversation
from app.reports.calendar import Schedule, schedule_of
from app.reports.models import SlaPolicy

# Ranks a policy for conversation alias `c`; the default ranks below every match.
_SCORE = ("CASE WHEN p.is_default THEN -1 ELSE"
          " (CASE WHEN p.account_id IS NOT NULL THEN 4 ELSE 0 END"
          " + CASE WHEN p.platform IS NOT NULL THEN 2 ELSE 0 END"
          " + CASE WHEN p.priority IS NOT NULL THEN 1 ELSE 0 END) END")


def policy_id_sql(c: str) -> str:
    """SQL: the id of the policy that applies to conversation alias `c` (or NULL)."""
    return (
        "(SELECT p.id FROM sla_policy p WHERE p.is_default OR ("
        f"(p.account_id IS NULL OR p.account_id = {c}.account_id)"
        f" AND (p.platform IS NULL OR p.platform = {c}.platform)"
        f" AND (p.priority IS NULL OR p.priority = {c}.priority))"
        f" ORDER BY {_SCORE} DESC, p.id LIMIT 1)"
    )


def _score(p: SlaPolicy) -> int:
    if p.is_default:
        return -1
    return 4 * (p.account_id is not None) + 2 * (p.platform is not None) + (
        p.priority is not None)


def _matches(p: SlaPolicy, conv: Conversation) -> bool:
    return p.is_default or (
        p.account_id in (None, conv.account_id) and p.platform in (None, conv.platform)
        and p.priority in (None, conv.priority))


def policy_for(session: Session, conversation: Conversation) -> SlaPolicy | None:
    """The policy that applies to the conversation: the same rule as policy_id_sql."""
    candidates = [p for p in all_policies(session) if _matches(p, conversation)]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (-_score(p), p.id or 0))


def all_policies(session: Session) -> Sequence[SlaPolicy]:
    return session.scalars(select(SlaPolicy).order_by(col(SlaPolicy.id))).all()


def schedules(session: Session) -> dict[int, Schedule]:
    """The business-hours schedule of each policy that has one."""
    out: dict[int, Schedule] = {}
    for p in all_policies(session):
        schedule = schedule_of(p)
        if schedule is not None and p.id is not None:
            out[p.id] = schedule
    return out
