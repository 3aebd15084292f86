"""The reports' verbs, for the reports page, the CSV export, the JSON API and the inbox.

Every function takes a Session and returns plain dataclasses; none commits. Each first
brings the derived spans up to date (app/reports/spans.py), inside the caller's
transaction: commit afterwards to keep that work, or it is simply done again next time.
Definitions: docs/metrics.md.
"""

from __future__ import annotations

from sqlmodel import Session

from app.reports.activity import (
    BusiestHours,
    DayBacklog,
    DayVolume,
    backlog,
    busiest_hours,
    volumes,
)
from app.reports.agents import AgentFigures, agent_table
from app.reports.filters import Filters
from app.reports.policies import policy_for
from app.reports.sla import ConversationSla, SlaClock, newly_at_risk, sla_status
from app.reports.spans import mark_all_dirty, refresh
from app.reports.times import (
    Figure,
    ResponseTimes,
    SlaCounts,
    SlaSummary,
    Stats,
    Waiting,
    response_times,
    sla_summary,
)


def rebuild(session: Session) -> int:
    """Recompute every conversation's spans (after a change of definitions); returns how
    many conversations. Slow on a large store: run it from the CLI or the worker."""
    mark_all_dirty(session)
    return refresh(session)


__all__ = [
    "AgentFigures", "BusiestHours", "ConversationSla", "DayBacklog", "DayVolume", "Figure",
    "Filters", "ResponseTimes", "SlaClock", "SlaCounts", "SlaSummary", "Stats", "Waiting",
    "agent_table", "backlog", "busiest_hours", "newly_at_risk", "policy_for", "rebuild",
    "refresh", "response_times", "sla_status", "sla_summary", "volumes",
]
