"""The report functions over several conversations: percentiles, every filter, volumes,
backlog, busiest hours and the per-agent table, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent, Team
from app.inbox.actions import add_tag
from app.reports import service as reports
from app.reports.filters import Filters
from tests import factories as f
from tests.reports.test_timelines import WIDE, berlin
from tests.reports.timeline import Timeline, t


def answered(session: Session, acc: Account, start_minute: float, seconds: int,
             agent: Agent | None) -> Timeline:
    tl = Timeline(session, acc)
    at = t(0, 9) + timedelta(minutes=start_minute)
    tl.customer(at)
    if agent is None:
        tl.platform_reply(at + timedelta(seconds=seconds))
    else:
        tl.reply(at + timedelta(seconds=seconds), agent)
    return tl


def test_percentiles_are_continuous(session: Session, acc: Account, alex: Agent) -> None:
    for i, seconds in enumerate([600, 60, 3600, 300, 120]):
        answered(session, acc, i * 7, seconds, alex)
    first = reports.response_times(session, WIDE, now=t(1)).first_response.wall
    assert (first.count, first.median, first.p90, first.mean) == (5, 300, 2400, 936)


def test_percentiles_interpolate_between_two_ranks(session: Session, acc: Account,
                                                   alex: Agent) -> None:
    for i, seconds in enumerate([60, 120, 300, 600]):
        answered(session, acc, i, seconds, alex)
    first = reports.response_times(session, WIDE, now=t(1)).first_response.business
    assert (first.median, first.p90) == (210, 510)


@pytest.fixture
def spread(session: Session, acc: Account, alex: Agent, sam: Agent) -> dict[str, object]:
    """Six conversations over two platforms, two teams, a tag, priorities, assignees."""
    fb = f.account(session, platform="facebook", external_id="page")
    team_a, team_b = Team(name="A"), Team(name="B")
    session.add_all([team_a, team_b])
    session.flush()
    answered(session, acc, -9 * 60, 300, None)  # exactly at the range's start
    c1 = answered(session, acc, 0, 600, alex).set(team_id=team_a.id, priority="high",
                                                  assignee_id=alex.id)
    answered(session, acc, 60, 1200, sam).set(team_id=team_b.id, assignee_id=sam.id)
    c3 = answered(session, fb, 120, 1800, sam).set(team_id=team_a.id, priority="urgent",
                                                   assignee_id=alex.id)
    c4 = Timeline(session, fb).customer(t(0, 12)).set(assignee_id=sam.id)  # waiting
    answered(session, acc, 15 * 60, 60, alex)  # exactly at the range's end: left out
    tag = add_tag(session, c1.conv, name="billing", by=None)
    add_tag(session, c4.conv, name="billing", by=None)
    return {"account": fb.id, "team": team_a.id, "tag": tag.id, "c3": c3}


@pytest.mark.parametrize(("filters", "count", "median", "waiting"), [
    ({}, 4, 900, 1),
    ({"platform": "x"}, 3, 600, 0),
    ({"platform": "facebook"}, 1, 1800, 1),
    ({"account": "fb"}, 1, 1800, 1),
    ({"team": "A"}, 2, 1200, 0),
    ({"tag": "billing"}, 1, 600, 1),
    ({"priority": "normal"}, 2, 750, 1),
    ({"priority": "urgent"}, 1, 1800, 0),
    ({"agent": "alex"}, 1, 600, 0),  # answered by Alex; c3 is assigned to Alex, not his
    ({"agent": "sam"}, 2, 1500, 1),  # and c4 waits in Sam's queue
])
def test_filters(session: Session, spread: dict[str, object], alex: Agent, sam: Agent,
                 filters: dict[str, str], count: int, median: float, waiting: int) -> None:
    agents = {"alex": alex.id, "sam": sam.id}
    f = Filters(start=t(0), end=t(1))
    for name, value in filters.items():
        if name in ("platform", "priority"):
            f = replace(f, **{name: value})  # type: ignore[arg-type]
        elif name == "agent":
            f = replace(f, agent_id=agents[value])
        else:
            f = replace(f, **{f"{name}_id": spread[name]})  # type: ignore[arg-type]
    figures = reports.response_times(session, f, now=t(1))
    first = figures.first_response
    assert (first.wall.count, first.wall.median, first.waiting.count) == (count, median,
                                                                          waiting)


def test_volumes_backlog_and_busiest_hours_in_a_time_zone(session: Session, acc: Account,
                                                          alex: Agent) -> None:
    earlier = Timeline(session, acc)  # open before the range, resolved inside it
    earlier.customer(berlin(2026, 11, 1, 20)).resolve(berlin(2026, 11, 4, 12), alex)
    late = Timeline(session, acc)
    late.customer(berlin(2026, 11, 2, 23, 30)).reply(berlin(2026, 11, 3, 0, 10), alex)
    late.resolve(berlin(2026, 11, 3, 10), alex)
    morning = Timeline(session, acc)
    morning.customer(berlin(2026, 11, 3, 9)).customer(berlin(2026, 11, 3, 9, 5))
    morning.platform_reply(berlin(2026, 11, 3, 9, 30))
    span = Filters(start=berlin(2026, 11, 2), end=berlin(2026, 11, 5))

    days = reports.volumes(session, span, tz="Europe/Berlin")
    assert [(d.day, d.new_conversations, d.reopened, d.customer_messages, d.replies)
            for d in days] == [(date(2026, 11, 2), 1, 0, 1, 0), (date(2026, 11, 3), 1, 0, 2, 2),
                               (date(2026, 11, 4), 0, 0, 0, 0)]
    assert [(d.day.day, d.open) for d in reports.backlog(session, span, tz="Europe/Berlin")
            ] == [(2, 2), (3, 2), (4, 1)]
    berlin_hours = reports.busiest_hours(session, span, tz="Europe/Berlin").counts
    assert (berlin_hours[0][23], berlin_hours[1][9], sum(map(sum, berlin_hours))) == (1, 2, 3)
    utc_hours = reports.busiest_hours(session, span, tz="UTC").counts
    assert (utc_hours[0][22], utc_hours[1][8]) == (1, 2)


def test_agent_table(session: Session, acc: Account, alex: Agent, sam: Agent) -> None:
    mine = Timeline(session, acc)
    mine.customer(t(0, 10)).reply(t(0, 10, 10), alex, canned=True)
    mine.customer(t(0, 10, 30)).reply(t(0, 11), alex, canned=False)
    mine.resolve(t(0, 12), alex)
    theirs = Timeline(session, acc)
    theirs.customer(t(0, 10)).reply(t(0, 10, 20), sam, canned=False)
    Timeline(session, acc).customer(t(0, 10)).platform_reply(t(0, 10, 5))

    rows = reports.agent_table(session, Filters(start=t(0), end=t(1)))
    assert [(r.name, r.replies, r.canned_unchanged, r.canned_share, r.resolved,
             r.first_responses, r.first_response_median) for r in rows] == [
        ("Alex", 2, 1, 0.5, 1, 1, 600), ("Sam", 1, 0, 0, 0, 1, 1200)]
    only = reports.agent_table(session, Filters(start=t(0), end=t(1), agent_id=sam.id))
    assert [r.name for r in only] == ["Sam"]
