"""What a report covers, as SQL conditions on report spans and on messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.errors import Invalid
from app.reports.calendar import to_micros


@dataclass(frozen=True)
class Filters:
    """A date range [start, end) and optional filters on the conversation.

    platform, account_id, team_id, priority and tag_id are the conversation's current
    values. agent_id means the agent's work where a figure has an author (the reply
    that answered, the resolution, replies written); where it has none (waits still
    unanswered, new conversations, customer messages, backlog, busiest hours) it means
    conversations assigned to the agent.
    """

    start: datetime
    end: datetime
    platform: str | None = None
    account_id: int | None = None
    team_id: int | None = None
    tag_id: int | None = None
    priority: str | None = None
    agent_id: int | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise Invalid("report dates need a time zone")
        if self.start >= self.end:
            raise Invalid("the report's start must be before its end")

    @property
    def start_us(self) -> int:
        return to_micros(self.start)

    @property
    def end_us(self) -> int:
        return to_micros(self.end)


AgentRule = Literal["author", "waiting", "assignee"]
_FIELDS = ("platform", "account_id", "team_id", "priority")


def conditions(f: Filters, alias: str, agent: AgentRule,
               ) -> tuple[list[str], dict[str, Any]]:
    """Conditions on report_span or report_message alias `alias` (both carry copies of
    the conversation's fields), without the date range.

    agent: "author" - the row's agent (who answered, resolved or wrote the reply);
    "waiting" - the author, or the assignee while the wait has no answer yet (spans);
    "assignee" - the conversation's assignee.
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(f, name)
        if value is not None:
            where.append(f"{alias}.{name} = :f_{name}")
            params[f"f_{name}"] = value
    if f.tag_id is not None:
        where.append(f"{alias}.conversation_id IN "
                     "(SELECT conversation_id FROM conversation_tag WHERE tag_id = :f_tag_id)")
        params["f_tag_id"] = f.tag_id
    if f.agent_id is not None:
        where.append({
            "author": f"{alias}.agent_id = :f_agent_id",
            "waiting": f"({alias}.agent_id = :f_agent_id OR ({alias}.end_us IS NULL AND "
                       f"{alias}.assignee_id = :f_agent_id))",
            "assignee": f"{alias}.assignee_id = :f_agent_id",
        }[agent])
        params["f_agent_id"] = f.agent_id
    return where, params


def in_range(f: Filters, column: str) -> tuple[str, dict[str, Any]]:
    """`column` (epoch microseconds) within the report's [start, end)."""
    return (f"{column} >= :start_us AND {column} < :end_us",
            {"start_us": f.start_us, "end_us": f.end_us})
