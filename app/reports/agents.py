"""The per-agent table: replies, resolutions, first responses and canned replies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlmodel import Session

from app.reports.filters import Filters, conditions, in_range
from app.reports.spans import refresh
from app.reports.sql import US, dialect, stats_sql


@dataclass
class AgentFigures:
    """One agent's work in the range. Durations in seconds."""

    agent_id: int
    name: str
    replies: int = 0  # human replies the agent wrote (by reply time)
    canned_unchanged: int = 0  # of those, canned responses sent without a change
    resolved: int = 0  # cycles the agent resolved (by resolution time)
    first_responses: int = 0  # first responses the agent wrote (cycle started in range)
    first_response_median: float | None = None
    first_response_median_business: float | None = None

    @property
    def canned_share(self) -> float | None:
        """Share of the agent's replies that were canned responses sent unchanged."""
        return self.canned_unchanged / self.replies if self.replies else None


def agent_table(session: Session, filters: Filters) -> list[AgentFigures]:
    """Every agent with work in the range, by name. A reply from the platform's own app
    has no agent and is in no row; the agent filter keeps one row."""
    refresh(session)
    d = dialect(session)
    rows: dict[int, AgentFigures] = {}

    def row(agent_id: int) -> AgentFigures:
        return rows.setdefault(agent_id, AgentFigures(agent_id=agent_id, name=""))

    conds, params = conditions(filters, "m", "author")
    written, p1 = in_range(filters, "m.at_us")
    where = " AND ".join([written, "m.is_reply = TRUE", "m.agent_id IS NOT NULL", *conds])
    replies = (f"SELECT m.agent_id, COUNT(*), SUM(CASE WHEN m.canned_unchanged THEN 1 ELSE 0 "
               f"END) FROM report_message m WHERE {where} GROUP BY m.agent_id")
    for agent_id, n, canned in session.execute(text(replies), {**params, **p1}):
        author = row(int(agent_id))
        author.replies, author.canned_unchanged = int(n), int(canned or 0)

    conds, params = conditions(filters, "s", "author")
    resolved_at, p1 = in_range(filters, "s.end_us")
    where = " AND ".join(["s.kind = 'resolution'", resolved_at, "s.agent_id IS NOT NULL",
                          *conds])
    resolved = f"SELECT s.agent_id, COUNT(*) FROM report_span s WHERE {where} GROUP BY s.agent_id"
    for agent_id, n in session.execute(text(resolved), {**params, **p1}):
        row(int(agent_id)).resolved = int(n)

    started, p1 = in_range(filters, "s.start_us")
    where = " AND ".join(["s.kind = 'reply'", "s.is_first = TRUE", started,
                          "s.end_us IS NOT NULL", "s.agent_id IS NOT NULL", *conds])
    source = (f"SELECT s.agent_id AS g, 1 AS f, s.wall_us AS wall, s.biz_us AS biz "
              f"FROM report_span s WHERE {where}")
    medians = stats_sql(source, ("wall", "biz"), d, percentiles=(0.5,), filtered=False)
    for stats in session.execute(text(medians), {**params, **p1}).mappings():
        figures = row(int(stats["g"]))
        figures.first_responses = int(stats["n"])
        figures.first_response_median = round(float(stats["wall_p50"]) / US, 6)
        figures.first_response_median_business = round(float(stats["biz_p50"]) / US, 6)

    if rows:
        names = text("SELECT id, name FROM agent WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True))
        for agent_id, name in session.execute(names, {"ids": sorted(rows)}):
            rows[int(agent_id)].name = name
    return sorted(rows.values(), key=lambda r: (r.name.lower(), r.agent_id))
