"""The issue's hand-built timelines: every metric equals the hand computation, to the
second, on SQLite and PostgreSQL (docs/metrics.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from app.reports import service as reports
from app.reports.calendar import from_micros
from app.reports.filters import Filters
from tests.reports.timeline import OFFICE, Timeline, policy, t

BERLIN = ZoneInfo("Europe/Berlin")
WIDE = Filters(start=t(-400), end=t(400))


def berlin(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def spans(session: Session, tl: Timeline) -> list[tuple[object, ...]]:
    """(what, cycle, start, end, wall s, business s, agent, met) of each wait; what is
    first_response (the reply span of a cycle's first run), reply or resolution."""
    reports.refresh(session)
    rows = session.execute(text(
        "SELECT kind, is_first, cycle_no, start_us, end_us, wall_us, biz_us, agent_id, met "
        "FROM report_span WHERE conversation_id = :c AND kind IN ('reply', 'resolution') "
        "ORDER BY start_us, kind"), {"c": tl.id})
    return [("first_response" if kind == "reply" and first else kind, cycle, from_micros(s),
             None if e is None else from_micros(e), None if w is None else w / 1e6,
             None if b is None else b / 1e6, agent, None if met is None else bool(met))
            for kind, first, cycle, s, e, w, b, agent, met in rows]


def undone(session: Session, tl: Timeline) -> list[tuple[object, ...]]:
    """(cycle, resolved, reopened, wall s, agent) of each time the conversation stood
    resolved until staff reopened it (the "undone" rows the backlog leaves out)."""
    reports.refresh(session)
    rows = session.execute(text(
        "SELECT cycle_no, start_us, end_us, wall_us, agent_id FROM report_span "
        "WHERE conversation_id = :c AND kind = 'undone' ORDER BY start_us"), {"c": tl.id})
    return [(cycle, from_micros(s), from_micros(e), w / 1e6, agent)
            for cycle, s, e, w, agent in rows]


def test_reopen_after_resolution_is_two_cycles(session: Session, acc: Account, alex: Agent,
                                               sam: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 20), alex)
    tl.resolve(t(0, 11), alex)
    tl.customer(t(1, 9))  # ingest reopens the conversation
    tl.reply(t(1, 9, 45), sam)
    tl.resolve(t(1, 12), sam)

    assert spans(session, tl) == [
        ("first_response", 1, t(0, 10), t(0, 10, 20), 1200, 1200, alex.id, None),
        ("resolution", 1, t(0, 10), t(0, 11), 3600, 3600, alex.id, None),
        ("first_response", 2, t(1, 9), t(1, 9, 45), 2700, 2700, sam.id, None),
        ("resolution", 2, t(1, 9), t(1, 12), 10800, 10800, sam.id, None),
    ]
    figures = reports.response_times(session, WIDE, now=t(2))
    first = figures.first_response.wall
    assert (first.count, first.median, first.p90, first.mean) == (2, 1950, 2550, 1950)
    resolution = figures.resolution.wall
    assert (resolution.count, resolution.median, resolution.p90) == (2, 7200, 10080)
    assert figures.first_response.waiting.count == 0
    days = reports.volumes(session, Filters(start=t(0), end=t(2)))
    assert [(d.new_conversations, d.reopened, d.customer_messages, d.replies)
            for d in days] == [(1, 0, 1, 1), (0, 1, 1, 1)]


def test_automatic_acknowledgement_does_not_stop_the_clock(session: Session, acc: Account,
                                                           alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).auto_ack(t(0, 10, 0, 5))
    tl.reply(t(0, 10, 30), alex)
    assert spans(session, tl)[0] == (
        "first_response", 1, t(0, 10), t(0, 10, 30), 1800, 1800, alex.id, None)
    assert reports.volumes(session, Filters(start=t(0), end=t(1)))[0].replies == 1


def test_reply_from_the_platform_app_counts_and_has_no_agent(session: Session, acc: Account,
                                                             alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).platform_reply(t(0, 10, 12))
    assert spans(session, tl)[0] == (
        "first_response", 1, t(0, 10), t(0, 10, 12), 720, 720, None, None)
    assert reports.response_times(session, WIDE, now=t(1)).first_response.wall.median == 720
    assert reports.agent_table(session, WIDE) == []


def test_internal_note_between_is_not_a_reply(session: Session, acc: Account,
                                              alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).note(t(0, 10, 5), alex)
    tl.reply(t(0, 10, 40), alex)
    assert spans(session, tl)[0][4] == 2400


def test_three_customer_messages_then_one_reply(session: Session, acc: Account,
                                                alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).customer(t(0, 10, 3)).customer(t(0, 10, 7))
    tl.reply(t(0, 10, 30), alex)
    assert spans(session, tl) == [
        ("first_response", 1, t(0, 10), t(0, 10, 30), 1800, 1800, alex.id, None),
        ("resolution", 1, t(0, 10), None, None, None, None, None),
    ]
    figures = reports.response_times(session, WIDE, now=t(1))
    assert (figures.reply.wall.count, figures.reply.wall.median) == (1, 1800)


def office_policy(session: Session, **kw: object) -> None:
    policy(session, "office", is_default=True, first_response_seconds=1800,
           next_reply_seconds=3600, timezone="Europe/Berlin", business_hours=OFFICE,
           at_risk_share=0.25, **kw)


def test_friday_1645_with_30_minutes_breaches_monday_0915(session: Session, acc: Account,
                                                          alex: Agent) -> None:
    office_policy(session)
    tl = Timeline(session, acc)
    tl.customer(berlin(2026, 11, 6, 16, 45))  # Friday

    badge = reports.sla_status(session, [tl.id], now=berlin(2026, 11, 9, 9, 10))[tl.id].reply
    assert badge is not None
    assert (badge.target, badge.elapsed, badge.left, badge.state, badge.business) == (
        "first_response", 1500, 300, "at_risk", True)
    assert badge.due_at == berlin(2026, 11, 9, 9, 15)
    at_due = reports.sla_status(session, [tl.id], now=berlin(2026, 11, 9, 9, 15))[tl.id]
    assert (at_due.reply and at_due.reply.left, at_due.state) == (0, "at_risk")
    late = reports.sla_status(session, [tl.id], now=berlin(2026, 11, 9, 9, 16))[tl.id].reply
    assert late is not None and (late.left, late.state) == (-60, "breached")

    tl.reply(berlin(2026, 11, 9, 9, 20), alex)
    wall = 2 * 86400 + 16 * 3600 + 35 * 60
    assert spans(session, tl)[0] == (
        "first_response", 1, berlin(2026, 11, 6, 16, 45), berlin(2026, 11, 9, 9, 20), wall,
        2100, alex.id, False)
    sla = reports.sla_summary(session, WIDE, now=berlin(2026, 11, 10))
    assert (sla.first_response.met, sla.first_response.breached) == (0, 1)
    business = reports.response_times(session, WIDE, now=berlin(2026, 11, 10)).first_response
    assert (business.wall.median, business.business.median) == (wall, 2100)


def test_reply_exactly_at_the_target_meets_it(session: Session, acc: Account,
                                              alex: Agent) -> None:
    office_policy(session)
    tl = Timeline(session, acc)
    tl.customer(berlin(2026, 11, 6, 16, 45)).reply(berlin(2026, 11, 9, 9, 15), alex)
    assert spans(session, tl)[0][5:] == (1800, alex.id, True)


def test_holiday_moves_the_deadline(session: Session, acc: Account, alex: Agent) -> None:
    office_policy(session, holidays={"2026-11-09": "a Monday off"})
    tl = Timeline(session, acc)
    tl.customer(berlin(2026, 11, 6, 16, 45))
    badge = reports.sla_status(session, [tl.id], now=berlin(2026, 11, 9, 12))[tl.id].reply
    assert badge is not None
    assert (badge.elapsed, badge.state, badge.due_at) == (900, "ok", berlin(2026, 11, 10, 9, 15))
    tl.reply(berlin(2026, 11, 10, 9, 10), alex)
    wall = 3 * 86400 + 16 * 3600 + 25 * 60
    assert spans(session, tl)[0][4:] == (wall, 1500, alex.id, True)


def test_dst_days_last_25_and_23_hours(session: Session, acc: Account, alex: Agent) -> None:
    policy(session, "sundays", is_default=True, first_response_seconds=86400,
           timezone="Europe/Berlin", business_hours={"sun": [["00:00", "24:00"]]})
    autumn = Timeline(session, acc)  # clocks go back on Sunday 25 October 2026
    autumn.customer(berlin(2026, 10, 24, 22)).reply(berlin(2026, 10, 26, 13), alex)
    spring = Timeline(session, acc)  # and forward on Sunday 29 March 2026
    spring.customer(berlin(2026, 3, 28, 13)).reply(berlin(2026, 3, 30, 14), alex)
    assert spans(session, autumn)[0][4:6] == (40 * 3600, 25 * 3600)
    assert spans(session, spring)[0][4:6] == (48 * 3600, 23 * 3600)
    # 25 business hours against a 24-hour target
    assert spans(session, autumn)[0][7] is False
    assert spans(session, spring)[0][7] is True


def test_office_hours_across_a_dst_change(session: Session, acc: Account,
                                          alex: Agent) -> None:
    office_policy(session)
    tl = Timeline(session, acc)
    # Friday 16:00 summer time (14:00 UTC) to Monday 10:00 winter time (09:00 UTC)
    tl.customer(berlin(2026, 10, 23, 16)).reply(berlin(2026, 10, 26, 10), alex)
    assert spans(session, tl)[0][4:6] == (67 * 3600, 2 * 3600)


def test_snooze_does_not_pause_either_clock(session: Session, acc: Account,
                                            alex: Agent) -> None:
    policy(session, "office utc", is_default=True, first_response_seconds=7200,
           business_hours=OFFICE)
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).snooze(t(0, 10, 5), until=t(0, 14), agent=alex)
    waiting = reports.response_times(session, WIDE, now=t(0, 12)).first_response.waiting
    assert (waiting.count, waiting.longest, waiting.longest_business) == (1, 7200, 7200)
    badge = reports.sla_status(session, [tl.id], now=t(0, 12, 30))[tl.id]
    assert badge.reply is not None and badge.reply.state == "breached"
    tl.wake(t(0, 14)).reply(t(0, 14, 30), alex)
    assert spans(session, tl)[0][4:] == (16200, 16200, alex.id, False)


def test_waiting_across_the_weekend_counts_business_time_only(
        session: Session, acc: Account) -> None:
    office_policy(session)
    tl = Timeline(session, acc)
    tl.customer(berlin(2026, 11, 6, 16, 45))
    now = berlin(2026, 11, 9, 10)
    waiting = reports.response_times(session, WIDE, now=now).first_response.waiting
    assert (waiting.count, waiting.longest, waiting.longest_business) == (
        1, (now - berlin(2026, 11, 6, 16, 45)) / timedelta(seconds=1), 15 * 60 + 3600)
