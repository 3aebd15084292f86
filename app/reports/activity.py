"""Volumes per day, backlog per day and busiest hours, in a reporting time zone.

Local days and hours become bound (i, lo, hi) rows in UTC microseconds (built with
zoneinfo, so DST days have 23 or 25 hours); each bucket is counted by a range scan of
the time-ordered report tables: no per-row time zone arithmetic, no sort.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from app.reports.calendar import local_days, local_seconds, to_micros, utc_offsets, zone
from app.reports.filters import Filters, conditions
from app.reports.spans import refresh
from app.reports.sql import US, dialect, json_rows


@dataclass(frozen=True)
class DayVolume:
    day: date
    new_conversations: int  # first cycles that started that day
    reopened: int  # later cycles (a customer wrote on a resolved conversation)
    customer_messages: int
    replies: int  # human replies, from Switchboard or the platform's app


@dataclass(frozen=True)
class DayBacklog:
    day: date
    open: int  # conversations not resolved at the end of the day (snoozed included)


@dataclass(frozen=True)
class BusiestHours:
    tz: str
    # counts[weekday][hour]: customer messages, weekday 0 = Monday, local hours 0-23.
    counts: list[list[int]]


def _days(f: Filters, tz: str) -> list[tuple[date, int, int]]:
    """The local days meeting the range, each cut to the range."""
    start, end = f.start_us, f.end_us
    return [(day, max(lo, start), min(hi, end))
            for day, lo, hi in local_days(zone(tz), f.start, f.end)]


def _day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _counts(session: Session, f: Filters, tz: str, *, table: str, column: str,
            buckets: list[tuple[int, int, int]], pg_key: str, counts: list[str],
            where: list[str], params: dict[str, Any]) -> dict[int, list[int]]:
    """Rows of `table` (alias a) in each bucket (key, lo, hi) meeting each condition of
    `counts`, by key. SQLite: a range count per bucket over the time-ordered table (its
    GROUP BY would sort every row). PostgreSQL: one scan and a hash aggregate on the
    bucket's key, computed from the zone's UTC offsets (`pg_key`, over `local`)."""
    common = " AND ".join(where) or "TRUE"
    if dialect(session) == "postgresql":
        seconds = f"(a.{column} / 1000000)"
        offsets = utc_offsets(zone(tz), f.start_us // US - 1, f.end_us // US + 1)
        key = pg_key.replace("local", local_seconds(seconds, offsets))
        sums = ", ".join(f"SUM(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in counts)
        sql = (f"SELECT {key} AS k, {sums} FROM {table} a WHERE a.{column} >= :start_us "
               f"AND a.{column} < :end_us AND {common} GROUP BY 1")
        rows = session.execute(text(sql), {**params, "start_us": f.start_us,
                                           "end_us": f.end_us}).all()
    else:
        cte, bucket_params = _buckets(session, buckets)
        each = ", ".join(f"SUM((SELECT COUNT(*) FROM {table} a WHERE a.{column} >= bk.lo AND "
                         f"a.{column} < bk.hi AND {common} AND {c}))" for c in counts)
        sql = f"WITH {cte} SELECT bk.i, {each} FROM bk GROUP BY bk.i"
        rows = session.execute(text(sql), {**params, **bucket_params}).all()
    return {int(row[0]): [int(n or 0) for n in row[1:]] for row in rows}


def _buckets(session: Session, rows: list[tuple[int, int, int]]) -> tuple[str, dict[str, Any]]:
    table = json_rows("buckets", ("i", "lo", "hi"), dialect(session))
    return (f"bk AS MATERIALIZED (SELECT * FROM {table} j)",
            {"buckets": json.dumps([{"i": i, "lo": lo, "hi": hi} for i, lo, hi in rows])})


def volumes(session: Session, filters: Filters, *, tz: str = "UTC") -> list[DayVolume]:
    """Per local day of the range: new and reopened conversations, customer messages and
    human replies."""
    refresh(session)
    days = _days(filters, tz)
    buckets = [(_day_number(day), lo, hi) for day, lo, hi in days]
    day_key = "(local / 86400)"
    spans, p1 = conditions(filters, "a", "assignee")
    cycles = _counts(session, filters, tz, table="report_span", column="start_us",
                     buckets=buckets, pg_key=day_key, counts=["a.cycle_no = 1", "a.cycle_no > 1"],
                     where=["a.kind = 'resolution'", *spans], params=p1)
    # The agent filter means the agent's conversations for customer messages and the
    # agent's own replies for replies; the other filters apply to both.
    common, p2 = conditions(replace(filters, agent_id=None), "a", "author")
    customer, reply = "a.is_reply = FALSE", "a.is_reply = TRUE"
    if filters.agent_id is not None:
        customer += " AND a.assignee_id = :f_agent_id"
        reply += " AND a.agent_id = :f_agent_id"
        p2["f_agent_id"] = filters.agent_id
    messages = _counts(session, filters, tz, table="report_message", column="at_us",
                       buckets=buckets, pg_key=day_key, counts=[customer, reply], where=common,
                       params=p2)
    out = []
    for day, _, _ in days:
        n = _day_number(day)
        out.append(DayVolume(day, *cycles.get(n, [0, 0]), *messages.get(n, [0, 0])))
    return out


def backlog(session: Session, filters: Filters, *, tz: str = "UTC") -> list[DayBacklog]:
    """Open conversations at the end of each local day of the range.

    open(end of day) = cycles started and not yet resolved - cycles standing resolved
    before a staff reopening ("undone" rows: resolution .. reopening). Both are counted
    as those open at the range's start plus, per day, those started minus those ended:
    per-day range counts and a running sum, no rescan per day. A resolution span ends at
    the cycle's last resolution, so without the undone rows a cycle that staff reopened
    would count as open on the days it stood resolved.
    """
    refresh(session)
    days = _days(filters, tz)
    cte, params = _buckets(session, [(i, lo, hi) for i, (_, lo, hi) in enumerate(days)])
    conds, p1 = conditions(filters, "s", "assignee")

    def where(kind: str) -> str:
        return " AND ".join([f"s.kind = '{kind}'", *conds])

    def open_at_start(kind: str, *ended: str) -> str:
        # Started before the range and ended in it, after it or not at all: ranges of
        # (kind, end_us).
        return " + ".join(
            f"(SELECT COUNT(*) FROM report_span s WHERE {where(kind)} AND {e} "
            "AND s.start_us < :start_us)" for e in ended)

    def in_day(kind: str, column: str) -> str:
        # A range of (kind, start_us) (the primary key) or of (kind, end_us).
        return (f"(SELECT COUNT(*) FROM report_span s WHERE {where(kind)} "
                f"AND s.{column} >= bk.lo AND s.{column} < bk.hi)")

    # A row is open at a day's end (hi) when it started before hi and had not ended
    # before hi: an event at midnight exactly belongs to the next day.
    delta = (f"{in_day('resolution', 'start_us')} - {in_day('resolution', 'end_us')}"
             f" - {in_day('undone', 'start_us')} + {in_day('undone', 'end_us')}")
    later = "s.end_us >= :start_us"  # an undone row always has an end
    sql = f"""WITH {cte}
SELECT i, {open_at_start('resolution', later, 's.end_us IS NULL')}
          - {open_at_start('undone', later)}
          + SUM(delta) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING)
FROM (SELECT bk.i, {delta} AS delta FROM bk) x
ORDER BY i"""
    rows = session.execute(text(sql), {**params, **p1, "start_us": filters.start_us}).all()
    return [DayBacklog(days[int(i)][0], int(n)) for i, n in rows]


def busiest_hours(session: Session, filters: Filters, *, tz: str = "UTC") -> BusiestHours:
    """Customer messages of the range per local weekday and hour."""
    refresh(session)
    hours = [(weekday * 24 + hour, lo, hi) for weekday, hour, lo, hi in _hours(filters, tz)]
    conds, p1 = conditions(filters, "a", "assignee")
    # weekday * 24 + hour; 1970-01-01 was a Thursday (weekday 3)
    hour_key = "(((local / 86400 + 3) % 7) * 24 + (local % 86400) / 3600)"
    found = _counts(session, filters, tz, table="report_message", column="at_us",
                    buckets=hours, pg_key=hour_key, counts=["a.is_reply = FALSE"], where=conds,
                    params=p1)
    counts = [[0] * 24 for _ in range(7)]
    for key, (n,) in found.items():
        counts[key // 24][key % 24] = n
    return BusiestHours(tz=tz, counts=counts)


def _hours(f: Filters, tz: str) -> list[tuple[int, int, int, int]]:
    """(weekday, hour, lo, hi) of each local hour meeting the range. A skipped hour (DST
    starts) is empty; a repeated one (DST ends) lasts two hours."""
    z, out = zone(tz), []
    for day, _, _ in local_days(z, f.start, f.end):
        midnight = datetime(day.year, day.month, day.day, tzinfo=z)
        bounds = [to_micros(midnight + timedelta(hours=h)) for h in range(25)]
        bounds[24] = to_micros(datetime.combine(day + timedelta(days=1), midnight.timetz()))
        for hour in range(24):
            lo, hi = max(bounds[hour], f.start_us), min(bounds[hour + 1], f.end_us)
            if hi > lo:
                out.append((day.weekday(), hour, lo, hi))
    return out
