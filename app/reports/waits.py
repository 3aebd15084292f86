"""Waits still running: how long a span has been open at a given instant, in business
time where its policy has business hours, else wall-clock time, computed in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlmodel import Session

from app.reports.calendar import (
    CALENDAR_COLUMNS,
    Calendar,
    build_calendar,
    business_clock,
    calendar_table,
)
from app.reports.policies import schedules
from app.reports.sql import dialect


def calendar_for(session: Session, lo_us: int, hi_us: int) -> Calendar:
    """The business calendars of every policy with business hours over [lo_us, hi_us]."""
    return build_calendar(schedules(session), min(lo_us, hi_us), max(lo_us, hi_us))


def use_calendar(session: Session, calendar: Calendar) -> tuple[str, dict[str, Any]]:
    """Make `calendar` readable as `report_cal`: returns the statement's prefix and the
    parameters to bind. PostgreSQL: a CTE over the bound JSON (hash joins do the rest).
    SQLite: a temporary table keyed by (p, b), because its planner scans a CTE once per
    joined row instead of indexing it; temporary, so per connection and cheap."""
    params = {"cal_bs": calendar.bucket_us, "cal_policies": list(calendar.policy_ids) or [-1]}
    if dialect(session) == "postgresql":
        return (f"WITH report_cal AS MATERIALIZED (SELECT * FROM {calendar_table('postgresql')}"
                " j) ", {**params, "cal": calendar.params()["cal"]})
    columns = ", ".join(f"{c} INTEGER" for c in CALENDAR_COLUMNS)
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS report_cal ({columns}, "
                         "PRIMARY KEY (p, b)) WITHOUT ROWID"))
    session.execute(text("DELETE FROM temp.report_cal"))
    session.execute(text(f"INSERT INTO temp.report_cal SELECT * FROM {calendar_table('sqlite')}"
                         " j"), {"cal": calendar.params()["cal"]})
    return "", params


def elapsed_sql(s: str, at: str, d: str, tag: str) -> tuple[str, str]:
    """(LEFT JOINs, expression): microseconds of span alias `s` from its start to `at`.

    `at` is an SQL expression (a bound :now_us); `tag` keeps the aliases of several
    instants apart. The statement must be prepared with use_calendar() and bind
    :cal_policies expanding (see bind_calendar).
    """
    q0, q1 = f"{s}_{tag}0", f"{s}_{tag}1"
    bucket = "CAST(:cal_bs AS BIGINT)"
    joins = (f" LEFT JOIN report_cal {q0} ON {q0}.p = {s}.policy_id"
             f" AND {q0}.b = {s}.start_us / {bucket}"
             f" LEFT JOIN report_cal {q1} ON {q1}.p = {s}.policy_id"
             f" AND {q1}.b = {at} / {bucket}")
    business = f"{business_clock(q1, at, d)} - {business_clock(q0, f'{s}.start_us', d)}"
    expr = (f"(CASE WHEN {s}.policy_id IN :cal_policies THEN {business}"
            f" ELSE {at} - {s}.start_us END)")
    return joins, expr


def calendar_query(session: Session, calendar: Calendar, sql: str,
                   params: dict[str, Any]) -> tuple[TextClause, dict[str, Any]]:
    """The statement `sql` (which reads report_cal) ready to run with `params`."""
    prefix, cal_params = use_calendar(session, calendar)
    return (text(prefix + sql).bindparams(bindparam("cal_policies", expanding=True)),
            {**params, **cal_params})
