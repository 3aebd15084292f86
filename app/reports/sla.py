"""SLA clocks of open conversations: the inbox badge, and the at-risk check that an
auto-escalation rule can run every minute or so."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session

from app.db import utcnow
from app.reports.calendar import WEEK_US, Schedule, from_micros, to_micros, week_intervals
from app.reports.policies import all_policies, schedules
from app.reports.spans import WAIT_KINDS, refresh
from app.reports.sql import US, dialect, json_rows
from app.reports.waits import calendar_for, calendar_query, elapsed_sql

OK, AT_RISK, BREACHED = "ok", "at_risk", "breached"
_SEVERITY = {OK: 0, AT_RISK: 1, BREACHED: 2}


@dataclass(frozen=True)
class SlaClock:
    """One running target. Seconds are business seconds where the policy has business
    hours, else wall-clock seconds."""

    conversation_id: int
    target: str  # first_response | next_reply | resolution
    policy_id: int
    started_at: datetime
    target_seconds: float
    elapsed: float
    left: float  # negative once breached
    state: str  # ok | at_risk | breached
    business: bool
    due_at: datetime  # the wall-clock instant at which it breaches
    risk_at: datetime  # the wall-clock instant at which it turns at risk


@dataclass(frozen=True)
class ConversationSla:
    conversation_id: int
    reply: SlaClock | None  # the first response or next reply now awaited
    resolution: SlaClock | None

    @property
    def state(self) -> str | None:
        """The worse of the two clocks; None without a running target."""
        clocks = [c for c in (self.reply, self.resolution) if c is not None]
        return max((c.state for c in clocks), key=_SEVERITY.__getitem__, default=None)


def sla_status(session: Session, conversation_ids: Iterable[int], *,
               now: datetime | None = None) -> dict[int, ConversationSla]:
    """The running SLA clocks of these conversations (one page of the inbox): only these
    conversations are brought up to date first, so the cost stays that of a page."""
    ids = sorted(set(conversation_ids))
    refresh(session, ids)
    out = {cid: ConversationSla(cid, None, None) for cid in ids}
    for clock in _clocks(session, now or utcnow(), ids=ids):
        current = out[clock.conversation_id]
        if clock.target == "resolution":
            out[clock.conversation_id] = ConversationSla(clock.conversation_id, current.reply,
                                                         clock)
        else:
            out[clock.conversation_id] = ConversationSla(clock.conversation_id, clock,
                                                         current.resolution)
    return out


def newly_at_risk(session: Session, *, since: datetime,
                  now: datetime | None = None) -> list[SlaClock]:
    """Running clocks that crossed into at risk (or straight into breached) in
    (since, now]: run it every minute with the previous run's `now` as `since`."""
    refresh(session)
    # A clock that started before `earliest` was already at risk at `since`: reading
    # only later starts keeps this to a range of the open-span index.
    since_us, earliest = to_micros(since), to_micros(since)
    hours = schedules(session)
    for p in all_policies(session):
        for target in (p.first_response_seconds, p.next_reply_seconds, p.resolution_seconds):
            if target is not None and p.id is not None:
                threshold = int((1 - p.at_risk_share) * target * US)
                earliest = min(earliest, _back(hours.get(p.id), since_us, threshold))
    return _clocks(session, now or utcnow(), since=since, lo_us=earliest)


def _clocks(session: Session, now: datetime, *, ids: list[int] | None = None,
            since: datetime | None = None, lo_us: int | None = None) -> list[SlaClock]:
    d, now_us = dialect(session), to_micros(now)
    where = [WAIT_KINDS, "s.end_us IS NULL", "s.closed_us IS NULL", "s.target_us IS NOT NULL"]
    params: dict[str, object] = {"now_us": now_us}
    spans = "report_span s"
    if ids is not None:
        if not ids:
            return []
        # The page's ids drive the loop (CROSS JOIN fixes SQLite's order): an index
        # probe per conversation, where SQLite would otherwise scan every open wait.
        spans = (f"{json_rows('ids', ('cid',), d)} page CROSS JOIN report_span s")
        where.append("s.conversation_id = page.cid")
        params["ids"] = json.dumps([{"cid": i} for i in ids])
    if lo_us is not None:
        where.append("s.start_us >= :lo_us")
        params["lo_us"] = lo_us
    else:
        lo_us = session.execute(text(f"SELECT MIN(s.start_us) FROM {spans} "
                                     f"WHERE {' AND '.join(where)}"), params).scalar()
        if lo_us is None:
            return []
    joins, elapsed = elapsed_sql("s", ":now_us", d, "n")
    # At risk: less than the policy's share of the target left (share * target > left).
    at_risk = "el > target_us - share * target_us"
    crossed = ""
    if since is not None:
        since_joins, since_elapsed = elapsed_sql("s", ":since_us", d, "b")
        joins += since_joins
        elapsed += f" AS el, {since_elapsed} AS el_before"
        params["since_us"] = to_micros(since)
        crossed = f"WHERE {at_risk} AND NOT (el_before > target_us - share * target_us)"
    else:
        elapsed += " AS el"
    sql = f"""
SELECT conversation_id, kind, first, policy_id, start_us, target_us, el, share,
       CASE WHEN el > target_us THEN 'breached' WHEN {at_risk} THEN 'at_risk' ELSE 'ok' END
FROM (SELECT s.conversation_id, s.kind, CASE WHEN s.is_first THEN 1 ELSE 0 END AS first,
             s.policy_id, s.start_us, s.target_us,
             p.at_risk_share AS share, {elapsed}
      FROM {spans} JOIN sla_policy p ON p.id = s.policy_id {joins}
      WHERE {' AND '.join(where)}) x {crossed}"""
    lo_us = min(int(lo_us), to_micros(since) if since is not None else now_us)
    stmt, bound = calendar_query(session, calendar_for(session, lo_us, now_us), sql, params)
    hours = schedules(session)
    clocks = []
    for cid, kind, first, policy_id, start_us, target_us, el, share, state in session.execute(
            stmt, bound):
        if el is None:  # a wait that starts after `now` (a clock ahead): none spent yet
            el = 0
        schedule = hours.get(int(policy_id))
        target = kind if kind == "resolution" else "first_response" if first else "next_reply"
        clocks.append(SlaClock(
            conversation_id=int(cid), target=target,
            policy_id=int(policy_id), started_at=from_micros(int(start_us)),
            target_seconds=int(target_us) / US, elapsed=int(el) / US,
            left=(int(target_us) - int(el)) / US, state=state, business=schedule is not None,
            due_at=from_micros(_due(schedule, int(start_us), int(target_us))),
            risk_at=from_micros(_due(schedule, int(start_us),
                                     int(int(target_us) * (1 - float(share)))))))
    return sorted(clocks, key=lambda c: (c.conversation_id, c.target))


def _back(schedule: Schedule | None, end_us: int, amount_us: int) -> int:
    """The instant before end_us from which `amount_us` of (business) time reaches it."""
    if schedule is None:
        return end_us - amount_us
    left, week = amount_us, end_us // WEEK_US
    for _ in range(520):  # ten years of weeks: a schedule with no hours never gets there
        for s, e in reversed(week_intervals(schedule, week)):
            e = min(e, end_us)
            if e <= s:
                continue
            if e - s >= left:
                return e - left
            left -= e - s
        week -= 1
    return week * WEEK_US


def _due(schedule: Schedule | None, start_us: int, target_us: int) -> int:
    """The instant at which `target_us` of (business) time has passed since start."""
    if schedule is None:
        return start_us + target_us
    left, week = target_us, start_us // WEEK_US
    for _ in range(520):
        for s, e in week_intervals(schedule, week):
            s = max(s, start_us)
            if e <= s:
                continue
            if e - s >= left:
                return s + left
            left -= e - s
        week += 1
    return week * WEEK_US
