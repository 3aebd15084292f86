"""What the reports page, its CSV downloads and the JSON API share: parsing and tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from app.db import utcnow
from app.errors import Invalid, NotFound
from app.ids import optional_id
from app.reports import service as reports
from app.reports.filters import Filters

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Query:
    filters: Filters
    tz: str
    start_day: date
    end_day: date  # inclusive

    def params(self) -> dict[str, str]:
        f = self.filters
        out = {"start": self.start_day.isoformat(), "end": self.end_day.isoformat(),
               "tz": self.tz}
        for key, value in (("platform", f.platform), ("account", f.account_id),
                           ("team", f.team_id), ("tag", f.tag_id), ("priority", f.priority),
                           ("agent", f.agent_id)):
            if value is not None:
                out[key] = str(value)
        return out


# Days a report may cover: a day on either side is still a representable instant.
FIRST_DAY, LAST_DAY = date(1970, 1, 2), date(9998, 12, 31)


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} must be a date like 2026-11-01") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{name} must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def parse(params: dict[str, str]) -> Query:
    """Dates are local days in `tz` (default UTC); the end day is included."""
    tz = params.get("tz") or "UTC"
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {tz!r}") from None
    end_day = _day(params.get("end"), "end") or utcnow().astimezone(zone).date()
    start_day = _day(params.get("start"), "start") or max(
        FIRST_DAY, end_day - timedelta(days=DEFAULT_DAYS - 1))
    if start_day > end_day:
        raise Invalid("the start date must not be after the end date")
    if (end_day - start_day).days >= MAX_DAYS:
        raise Invalid(f"a report covers at most {MAX_DAYS} days")
    platform = params.get("platform") or None
    if platform not in (None, "x", "facebook"):
        raise Invalid(f"unknown platform {platform!r}")
    priority = params.get("priority") or None
    if priority not in (None, "low", "normal", "high", "urgent"):
        raise Invalid(f"unknown priority {priority!r}")
    start = datetime.combine(start_day, datetime.min.time(), zone)
    end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), zone)
    filters = Filters(start=start, end=end, platform=platform,
                      account_id=optional_id(params.get("account"), "account"),
                      team_id=optional_id(params.get("team"), "team"),
                      tag_id=optional_id(params.get("tag"), "tag"), priority=priority,
                      agent_id=optional_id(params.get("agent"), "agent"))
    return Query(filters=filters, tz=tz, start_day=start_day, end_day=end_day)


def _secs(value: float | None) -> float | None:
    """Seconds to the millisecond; None (an empty CSV cell, JSON null) when there is none."""
    return None if value is None else round(value, 3)


def response_rows(session: Session, q: Query) -> tuple[list[str], list[list[Any]]]:
    rt = reports.response_times(session, q.filters)
    head = ["figure", "clock", "count", "median_s", "p90_s", "mean_s", "unanswered",
            "unanswered_longest_s"]
    rows = []
    for name, fig in (("first response", rt.first_response), ("reply", rt.reply),
                      ("resolution", rt.resolution)):
        for clock, st in (("wall", fig.wall), ("business", fig.business)):
            longest = fig.waiting.longest if clock == "wall" else fig.waiting.longest_business
            rows.append([name, clock, st.count, _secs(st.median), _secs(st.p90),
                         _secs(st.mean), fig.waiting.count, _secs(longest)])
    return head, rows


def sla_rows(session: Session, q: Query) -> tuple[list[str], list[list[Any]]]:
    s = reports.sla_summary(session, q.filters)
    head = ["target", "met", "breached", "running", "at_risk", "met_percent"]
    rows = []
    for name, c in (("first response", s.first_response), ("next reply", s.next_reply),
                    ("resolution", s.resolution)):
        share = c.met_share
        rows.append([name, c.met, c.breached, c.running, c.at_risk,
                     None if share is None else round(100 * share, 1)])
    return head, rows


def volume_rows(session: Session, q: Query) -> tuple[list[str], list[list[Any]]]:
    head = ["day", "new_conversations", "reopened", "customer_messages", "replies"]
    return head, [[v.day.isoformat(), v.new_conversations, v.reopened, v.customer_messages,
                   v.replies] for v in reports.volumes(session, q.filters, tz=q.tz)]


def backlog_rows(session: Session, q: Query) -> tuple[list[str], list[list[Any]]]:
    return ["day", "open_at_end_of_day"], [
        [b.day.isoformat(), b.open] for b in reports.backlog(session, q.filters, tz=q.tz)]


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def hours_rows(session: Session, q: Query) -> tuple[list[str], list[list[Any]]]:
    b = reports.busiest_hours(session, q.filters, tz=q.tz)
    return ["weekday", *[f"{h:02d}" for h in range(24)]], [
        [WEEKDAYS[d], *b.counts[d]] for d in range(7)]


def agent_rows(session: Session, q: Query) -> tuple[list[str], list[list[Any]]]:
    head = ["agent", "replies", "canned_unchanged", "canned_unchanged_percent", "resolved",
            "first_responses", "first_response_median_s", "first_response_median_business_s"]
    rows = []
    for a in reports.agent_table(session, q.filters):
        share = round(100 * a.canned_unchanged / a.replies, 1) if a.replies else None
        rows.append([a.name, a.replies, a.canned_unchanged, share, a.resolved,
                     a.first_responses, _secs(a.first_response_median),
                     _secs(a.first_response_median_business)])
    return head, rows


TABLES: dict[str, Callable[[Session, Query], tuple[list[str], list[list[Any]]]]] = {
    "response-times": response_rows, "sla": sla_rows, "volumes": volume_rows,
    "backlog": backlog_rows, "busiest-hours": hours_rows, "agents": agent_rows,
}


def table(session: Session, name: str, q: Query) -> tuple[list[str], list[list[Any]]]:
    if name not in TABLES:
        raise NotFound(f"no report {name!r}; reports: {', '.join(TABLES)}")
    return TABLES[name](session, q)


def as_csv(head: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    writer.writerows(rows)
    return out.getvalue()
