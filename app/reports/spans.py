"""Derive report spans from messages and resolution events, in SQL, per conversation.

Why a derived table: computing cycles with window functions over a 90-day range of a
million-message store takes 0.5-1 s on either database, on every report. Computed once
per change of a conversation instead, the reports read a narrow indexed table.

The timeline of a conversation, ordered by (time, kind, id); at equal times a customer
message comes before a reply, a reply before a resolution, a resolution before a reopen:
  k=0  customer message (inbound)
  k=1  human reply: outbound, not is_automated, not failed (Switchboard or platform app)
  k=2  resolution: a "resolved" audit event (or conversation.resolved_at without one)
  k=3  reopening by staff: a "reopened" event not written by ingest (ingest's reopen
       follows from the customer message itself, at ingest time, so it is left out)
A customer message starts a cycle when it is the first one, or when the last state row
(k 0, 2, 3) before it is a resolution. A reply counts when it is inside a cycle and the
conversation is not resolved at that moment. A run is a customer message that starts a
cycle or follows a reply, plus the customer messages after it; its answer is the first
counted reply after it. A cycle ends at its last resolution if no staff reopening
follows it; a later customer message then starts the next cycle.

The spans: one "reply" per run (the cycle's first run, is_first, is its first response)
and one "resolution" per cycle. Besides these waits, one "undone" row per resolution that
staff reopened: from the resolution (the first of several in a row) to the reopening,
the time the cycle stood resolved before its last resolution; the backlog leaves these
out, which the resolution span (start of cycle .. last resolution) cannot tell it.
report_message gets the customer messages and human replies themselves, for the counts
per day, hour and agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, bindparam, text
from sqlmodel import Session

from app.reports.calendar import (
    Calendar,
    Schedule,
    build_calendar,
    business_clock,
    calendar_table,
)
from app.reports.policies import policy_id_sql, schedules
from app.reports.sql import dialect, json_text, micros

CHUNK = 2000  # conversations per statement
# The report_span rows (alias s) that are waits. Every reader but the backlog wants only
# these: "undone" rows (a resolution staff reopened) are no wait and have no target.
WAIT_KINDS = "s.kind IN ('reply', 'resolution')"
HUMAN_REPLY = ("m.direction = 'outbound' AND m.is_automated = FALSE AND "
               "(m.delivery_state IS NULL OR m.delivery_state <> 'failed')")


def refresh(session: Session, conversation_ids: Iterable[int] | None = None) -> int:
    """Recompute the spans of dirty conversations (all, or those among the ids given),
    in the caller's transaction; returns how many conversations were recomputed."""
    ids = claim_dirty(session, None if conversation_ids is None else list(conversation_ids))
    if not ids:
        return 0
    hours = schedules(session)
    for i in range(0, len(ids), CHUNK):
        _recompute(session, ids[i:i + CHUNK], hours)
    return len(ids)


def mark_all_dirty(session: Session) -> None:
    """Queue every conversation for recomputation (after a change of definitions)."""
    session.execute(text("DELETE FROM report_dirty"))
    session.execute(text("INSERT INTO report_dirty (conversation_id, changes) "
                         "SELECT id, 0 FROM conversation"))


def claim_dirty(session: Session, among: Sequence[int] | None) -> list[int]:
    """Take conversations off the dirty list; returns their ids, sorted."""
    if among is not None and not among:
        return []
    where = "" if among is None else "WHERE conversation_id IN :among"
    if dialect(session) == "postgresql":
        # A writer that marked a row and has not committed holds its lock: skip it, so
        # a report never waits for ingest; that conversation is recomputed next time.
        sql = ("DELETE FROM report_dirty WHERE conversation_id IN (SELECT conversation_id "
               f"FROM report_dirty {where} FOR UPDATE SKIP LOCKED) RETURNING conversation_id")
    else:
        sql = f"DELETE FROM report_dirty {where} RETURNING conversation_id"
    stmt = text(sql)
    params = {}
    if among is not None:
        stmt = stmt.bindparams(bindparam("among", expanding=True))
        params["among"] = list(among)
    return sorted(int(r[0]) for r in session.execute(stmt, params))


def _recompute(session: Session, ids: list[int], hours: dict[int, Schedule]) -> None:
    d = dialect(session)
    ids_param: BindParameter[Any] = bindparam("ids", expanding=True)
    for table in ("report_span", "report_message"):
        session.execute(text(f"DELETE FROM {table} WHERE conversation_id IN :ids")
                        .bindparams(ids_param), {"ids": ids})
    session.execute(text(messages_sql(d)).bindparams(ids_param), {"ids": ids})
    lo, hi = session.execute(text(_RANGE.format(
        m=micros("created_at", d), e=micros("created_at", d), r=micros("resolved_at", d)))
        .bindparams(ids_param), {"ids": ids}).one()
    if lo is None:
        return
    calendar = build_calendar(hours, int(lo), int(hi))
    stmt = text(insert_sql(d)).bindparams(ids_param, bindparam("cal_policies", expanding=True))
    session.execute(stmt, {"ids": ids, **calendar.params()})


_RANGE = """
SELECT MIN(lo), MAX(hi) FROM (
  SELECT MIN({m}) AS lo, MAX({m}) AS hi FROM message WHERE conversation_id IN :ids
  UNION ALL SELECT MIN({e}), MAX({e}) FROM audit_event WHERE conversation_id IN :ids
  UNION ALL SELECT MIN({r}), MAX({r}) FROM conversation WHERE id IN :ids) x
"""


def messages_sql(d: str) -> str:
    """INSERT of the customer messages and human replies of conversations :ids."""
    return f"""
INSERT INTO report_message (at_us, message_id, conversation_id, is_reply, agent_id,
  canned_unchanged, platform, account_id, priority, team_id, assignee_id)
SELECT {micros('m.created_at', d)}, m.id, m.conversation_id, m.direction <> 'inbound',
       m.author_agent_id, m.canned_unchanged, c.platform, c.account_id, c.priority,
       c.team_id, c.assignee_id
FROM message m JOIN conversation c ON c.id = m.conversation_id
WHERE m.conversation_id IN :ids AND (m.direction = 'inbound' OR ({HUMAN_REPLY}))"""


def spans_sql(d: str) -> str:
    """The spans of conversations :ids, without policy or business time: CTEs ending in
    one named `spans`, to be followed by a SELECT."""
    resolved_now = ("(last_res IS NOT NULL AND (last_open IS NULL OR last_res > last_open))")
    order = "ORDER BY t, k, seq"
    return f"""
ev AS (
  SELECT m.conversation_id AS cid, {micros('m.created_at', d)} AS t,
         CASE WHEN m.direction = 'inbound' THEN 0 ELSE 1 END AS k, m.id AS seq,
         m.author_agent_id AS agent
  FROM message m
  WHERE m.conversation_id IN :ids AND (m.direction = 'inbound' OR ({HUMAN_REPLY}))
  UNION ALL
  SELECT e.conversation_id, {micros('e.created_at', d)},
         CASE WHEN e.action = 'resolved' THEN 2 ELSE 3 END, e.id, e.agent_id
  FROM audit_event e
  WHERE e.conversation_id IN :ids AND (e.action = 'resolved' OR (e.action = 'reopened'
        AND COALESCE({json_text('e.details', 'by', d)}, '') <> 'customer message'))
  UNION ALL
  SELECT c.id, {micros('c.resolved_at', d)}, 2, 0, NULL
  FROM conversation c
  WHERE c.id IN :ids AND c.status = 'resolved' AND c.resolved_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM audit_event e WHERE e.conversation_id = c.id
                    AND e.action = 'resolved' AND e.created_at = c.resolved_at)
), a AS (
  SELECT cid, t, k, seq, agent,
         MAX(CASE WHEN k = 2 THEN t * 4 + k END) OVER w AS last_res,
         MAX(CASE WHEN k IN (0, 3) THEN t * 4 + k END) OVER w AS last_open,
         MAX(CASE WHEN k = 0 THEN 1 ELSE 0 END) OVER w AS seen_in
  FROM ev
  WINDOW w AS (PARTITION BY cid {order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), b AS (
  SELECT cid, t, k, seq, agent,
         CASE WHEN k = 0 AND (COALESCE(seen_in, 0) = 0 OR {resolved_now}) THEN 1 ELSE 0 END
           AS cs,
         -- A resolution of an open conversation (not a repeated one) starts a resolved
         -- stretch; a staff reopening of a resolved one ends it.
         CASE WHEN k = 2 AND NOT {resolved_now} THEN 1 ELSE 0 END AS res_in,
         CASE WHEN k = 3 AND {resolved_now} THEN 1 ELSE 0 END AS res_out
  FROM a
  WHERE k <> 1 OR (seen_in = 1 AND NOT {resolved_now})
), c AS (
  SELECT cid, t, k, seq, agent, cs, res_in, res_out,
         SUM(cs) OVER (PARTITION BY cid {order} ROWS UNBOUNDED PRECEDING) AS cyc,
         MAX(CASE WHEN k IN (0, 1) THEN t * 4 + k END) OVER (PARTITION BY cid {order}
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_msg
  FROM b
), f AS (
  SELECT cid, t, k, seq, agent, cs, cyc, res_in, res_out,
         CASE WHEN k = 0 AND (cs = 1 OR last_msg IS NULL OR last_msg % 4 = 1)
              THEN 1 ELSE 0 END AS rs,
         CASE WHEN k = 1 AND last_msg % 4 = 0 THEN 1 ELSE 0 END AS ans
  FROM c WHERE cyc > 0
), g AS (
  SELECT cid, t, k, agent, cs, cyc, ans, res_out,
         SUM(rs) OVER (PARTITION BY cid, cyc {order} ROWS UNBOUNDED PRECEDING) AS run,
         SUM(CASE WHEN k >= 2 THEN 1 ELSE 0 END) OVER (PARTITION BY cid, cyc {order}
           ROWS UNBOUNDED PRECEDING) AS st_n,
         MAX(CASE WHEN res_in = 1 THEN t END) OVER (PARTITION BY cid, cyc {order}
           ROWS UNBOUNDED PRECEDING) AS res_from,
         SUM(CASE WHEN k >= 2 THEN 1 ELSE 0 END) OVER (PARTITION BY cid, cyc) AS st_total
  FROM f
), runs AS (
  SELECT cid, cyc, run, MAX(cs) AS first_run, MIN(CASE WHEN k = 0 THEN t END) AS start_t,
         MAX(CASE WHEN ans = 1 THEN t END) AS ans_t,
         MAX(CASE WHEN ans = 1 THEN agent END) AS ans_agent
  FROM g WHERE k IN (0, 1) GROUP BY cid, cyc, run
), cycles AS (
  SELECT cid, cyc, MIN(CASE WHEN cs = 1 THEN t END) AS start_t,
         MAX(CASE WHEN k = 2 AND st_n = st_total THEN t END) AS res_t,
         MAX(CASE WHEN k = 2 AND st_n = st_total THEN agent END) AS res_agent
  FROM g GROUP BY cid, cyc
), spans AS (
SELECT r.cid, 'reply' AS kind, r.cyc AS cycle_no, r.run AS run_no, r.first_run AS is_first,
       r.start_t AS start_us, r.ans_t AS end_us, y.res_t AS closed_us, r.ans_agent AS agent_id
FROM runs r JOIN cycles y ON y.cid = r.cid AND y.cyc = r.cyc
UNION ALL
SELECT cid, 'resolution', cyc, 0, 1, start_t, res_t, res_t, res_agent FROM cycles
UNION ALL
-- run_no: the place of the reopening among the state rows of the cycle (unique in it).
-- A resolved state always began in the same cycle (a cycle starts open); the null check
-- only guards the primary key.
SELECT cid, 'undone', cyc, st_n, 0, res_from, t, t, agent FROM g
WHERE res_out = 1 AND res_from IS NOT NULL
)"""


def insert_sql(d: str) -> str:
    """INSERT of the spans with their policy, target, business time and SLA outcome."""
    stop = "COALESCE(s.end_us, s.closed_us)"
    business = (f"CASE WHEN cv.policy_id IN :cal_policies THEN "
                f"{business_clock('q2', stop, d)} - {business_clock('q1', 's.start_us', d)}"
                f" ELSE {stop} - s.start_us END")
    # No target for an "undone" row: it is no wait, and has no SLA outcome.
    target = ("CAST(CASE WHEN s.kind = 'resolution' THEN p.resolution_seconds"
              " WHEN s.kind <> 'reply' THEN NULL"
              " WHEN s.is_first = 1 THEN p.first_response_seconds"
              " ELSE p.next_reply_seconds END AS BIGINT) * 1000000")
    # MATERIALIZED: computed once per conversation (the policy) and once per statement
    # (the calendar); inlined, SQLite would evaluate them again for every reference.
    return f"""
WITH {spans_sql(d)}, cv AS MATERIALIZED (
  SELECT c.id, c.platform, c.account_id, c.priority, c.team_id, c.assignee_id,
         {policy_id_sql('c')} AS policy_id
  FROM conversation c WHERE c.id IN :ids
), cal AS MATERIALIZED (SELECT * FROM {calendar_table(d)} j)
INSERT INTO report_span (conversation_id, kind, cycle_no, run_no, is_first, start_us, end_us,
  closed_us, wall_us, biz_us, agent_id, policy_id, target_us, met, platform, account_id,
  priority, team_id, assignee_id)
SELECT cid, kind, cycle_no, run_no, is_first = 1, start_us, end_us, closed_us, wall_us, biz_us,
  agent_id, policy_id, target_us,
  CASE WHEN target_us IS NULL OR biz_us IS NULL THEN NULL ELSE biz_us <= target_us END,
  platform, account_id, priority, team_id, assignee_id
FROM (
  SELECT s.cid, s.kind, s.cycle_no, s.run_no, s.is_first, s.start_us, s.end_us, s.closed_us,
         {stop} - s.start_us AS wall_us, {business} AS biz_us, s.agent_id, cv.policy_id,
         {target} AS target_us, cv.platform, cv.account_id, cv.priority, cv.team_id,
         cv.assignee_id
  FROM spans s
  JOIN cv ON cv.id = s.cid
  LEFT JOIN sla_policy p ON p.id = cv.policy_id
  LEFT JOIN cal q1 ON q1.p = cv.policy_id AND q1.b = s.start_us / CAST(:cal_bs AS BIGINT)
  LEFT JOIN cal q2 ON q2.p = cv.policy_id AND q2.b = {stop} / CAST(:cal_bs AS BIGINT)
) x
"""


__all__ = ["WAIT_KINDS", "Calendar", "claim_dirty", "insert_sql", "mark_all_dirty",
           "messages_sql", "refresh", "spans_sql"]
