"""Response times and SLA outcomes over a date range (docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from app.db import utcnow
from app.reports.calendar import to_micros
from app.reports.filters import Filters, conditions, in_range
from app.reports.spans import WAIT_KINDS, refresh
from app.reports.sql import US, dialect, stats_sql
from app.reports.waits import calendar_for, calendar_query, elapsed_sql

KINDS = ("first_response", "reply", "resolution")
TARGETS = ("first_response", "next_reply", "resolution")
OPEN = "s.end_us IS NULL AND s.closed_us IS NULL"


@dataclass(frozen=True)
class Stats:
    """Durations in seconds of the waits that ended with an answer (or a resolution)."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None


@dataclass(frozen=True)
class Waiting:
    """Waits still running at `now`, counted beside the figures, with time so far."""

    count: int
    longest: float | None
    mean: float | None
    longest_business: float | None
    mean_business: float | None


@dataclass(frozen=True)
class Figure:
    wall: Stats
    business: Stats  # equal to wall where the policy has no business hours
    waiting: Waiting


@dataclass(frozen=True)
class ResponseTimes:
    first_response: Figure
    reply: Figure
    resolution: Figure


@dataclass(frozen=True)
class SlaCounts:
    met: int
    breached: int  # answered late, closed late, or still open and already late
    running: int  # still open and not late yet
    at_risk: int  # running, with less than the policy's at-risk share of the target left

    @property
    def met_share(self) -> float | None:
        """Met / (met + breached); None when nothing has been decided yet."""
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass(frozen=True)
class SlaSummary:
    first_response: SlaCounts
    next_reply: SlaCounts
    resolution: SlaCounts


IS_FIRST = "CASE WHEN s.is_first THEN 1 ELSE 0 END"


def _where(f: Filters, *extra: str) -> tuple[str, dict[str, Any]]:
    conds, params = conditions(f, "s", "waiting")
    started, range_params = in_range(f, "s.start_us")
    return " AND ".join([WAIT_KINDS, started, *conds, *extra]), {**params, **range_params}


def response_times(session: Session, filters: Filters, *,
                   now: datetime | None = None) -> ResponseTimes:
    """Median, p90, mean and count of first response, reply and resolution times, wall
    and business, for waits that started in the range; running waits beside them."""
    refresh(session)
    d = dialect(session)
    where, params = _where(filters, "s.end_us IS NOT NULL")
    source = (f"SELECT s.kind AS g, {IS_FIRST} AS f, s.wall_us AS wall, s.biz_us AS biz "
              f"FROM report_span s WHERE {where}")
    stats: dict[str, tuple[Stats, Stats]] = {}
    # A statement per kind: first responses are the reply spans with f = 1, while every
    # resolution has f = 1, so percentiles of that subset would sort the same rows again.
    for kind, filtered in (("reply", True), ("resolution", False)):
        sql = stats_sql(source, ("wall", "biz"), d, groups=(kind,), filtered=filtered)
        for row in session.execute(text(sql), params).mappings():
            stats[kind] = (_stats(row, "wall", "n"), _stats(row, "biz", "n"))
            if filtered:
                stats["first_response"] = (_stats(row, "wall_f", "nf"),
                                           _stats(row, "biz_f", "nf"))
    waiting = _waiting(session, filters, now or utcnow())
    empty = Stats(0, None, None, None)
    return ResponseTimes(**{
        kind: Figure(*stats.get(kind, (empty, empty)), waiting.get(kind, Waiting(0, *[None] * 4)))
        for kind in KINDS})


def _stats(row: Any, v: str, count: str) -> Stats:
    n = int(row[count] or 0)
    return Stats(count=n, median=_secs(row[f"{v}_p50"]), p90=_secs(row[f"{v}_p90"]),
                 mean=_secs(int(row[f"{v}_sum"]) / n) if n else None)


def _secs(us: Any) -> float | None:
    return None if us is None else round(float(us) / US, 6)


def _waiting(session: Session, f: Filters, now: datetime) -> dict[str, Waiting]:
    d, now_us = dialect(session), to_micros(now)
    joins, elapsed = elapsed_sql("s", ":now_us", d, "n")
    where, params = _where(f, OPEN)
    # A first response still awaited is also a reply still awaited: counted in both.
    sql = f"""
SELECT CASE WHEN kind = 'reply' AND first = 1 THEN 'first_response' ELSE kind END AS kind,
       COUNT(*) AS n, MAX(wall) AS wall_max, SUM(wall) AS wall_sum, MAX(biz) AS biz_max,
       SUM(biz) AS biz_sum
FROM (SELECT s.kind, {IS_FIRST} AS first, :now_us - s.start_us AS wall, {elapsed} AS biz
      FROM report_span s {joins} WHERE {where}) w
GROUP BY CASE WHEN kind = 'reply' AND first = 1 THEN 'first_response' ELSE kind END"""
    stmt, params = calendar_query(session, calendar_for(session, f.start_us, now_us), sql,
                                  {**params, "now_us": now_us})
    parts = {row["kind"]: row for row in session.execute(stmt, params).mappings()}
    out = {}
    for kind, rows in (("first_response", ["first_response"]),
                       ("reply", ["first_response", "reply"]), ("resolution", ["resolution"])):
        found = [parts[k] for k in rows if k in parts]
        n = sum(int(r["n"]) for r in found)
        if n:
            out[kind] = Waiting(
                n, _secs(max(r["wall_max"] for r in found)),
                _secs(sum(int(r["wall_sum"]) for r in found) / n),
                _secs(max(r["biz_max"] for r in found)),
                _secs(sum(int(r["biz_sum"]) for r in found) / n))
    return out


TARGET = ("CASE WHEN s.kind = 'resolution' THEN 'resolution' WHEN s.is_first "
          "THEN 'first_response' ELSE 'next_reply' END")


def sla_summary(session: Session, filters: Filters, *,
                now: datetime | None = None) -> SlaSummary:
    """Per target: met, breached, still running and at risk, for waits that started in
    the range under a policy with that target."""
    refresh(session)
    d, now_us = dialect(session), to_micros(now or utcnow())
    where, params = _where(filters, "s.target_us IS NOT NULL")
    counts: dict[str, dict[str, int]] = {t: {"met": 0, "breached": 0, "running": 0,
                                             "at_risk": 0} for t in TARGETS}
    # Decided waits: conditional sums in one pass over the range (a GROUP BY would sort).
    sums = ", ".join(
        f"SUM(CASE WHEN {TARGET} = '{t}' AND s.met {op} THEN 1 ELSE 0 END)"
        for t in TARGETS for op in ("= TRUE", "= FALSE"))
    decided = session.execute(text(f"SELECT {sums} FROM report_span s WHERE {where} "
                                   "AND s.met IS NOT NULL"), params).one()
    for i, t in enumerate(TARGETS):
        counts[t].update(met=int(decided[2 * i] or 0), breached=int(decided[2 * i + 1] or 0))
    joins, elapsed = elapsed_sql("s", ":now_us", d, "n")
    running = f"""
SELECT g, SUM(CASE WHEN el > target_us THEN 1 ELSE 0 END) AS late,
       SUM(CASE WHEN el <= target_us THEN 1 ELSE 0 END) AS running,
       SUM(CASE WHEN el <= target_us AND target_us - el < share * target_us
           THEN 1 ELSE 0 END) AS at_risk
FROM (SELECT {TARGET} AS g, s.target_us, p.at_risk_share AS share, {elapsed} AS el
      FROM report_span s JOIN sla_policy p ON p.id = s.policy_id {joins}
      WHERE {where} AND {OPEN}) w
GROUP BY g"""
    stmt, params = calendar_query(session, calendar_for(session, filters.start_us, now_us),
                                  running, {**params, "now_us": now_us})
    for row in session.execute(stmt, params).mappings():
        c = counts[row["g"]]
        c["breached"] += int(row["late"])
        c["running"], c["at_risk"] = int(row["running"]), int(row["at_risk"])
    return SlaSummary(**{t: SlaCounts(**counts[t]) for t in TARGETS})
