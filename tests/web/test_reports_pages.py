"""The reports page, its CSV downloads and the JSON API: access, filters, agreement."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.auth.models import Agent
from app.auth.service import create_agent, create_token
from app.db import utcnow
from app.inbox import actions
from app.inbox.models import Conversation
from app.ingest.service import ingest_batch
from app.outbox.service import queue_reply
from app.reports.models import SlaPolicy
from connectors.base import Platform, ThreadKind
from tests import factories as f
from tests.web.conftest import soup


@pytest.fixture
def boss(session: Session, me: Agent) -> Agent:
    me.role = "supervisor"
    session.add(me)
    session.flush()
    return me


@pytest.fixture
def history(session: Session, boss: Agent) -> None:
    """Two X threads answered after 10 and 30 minutes, one Facebook thread unanswered."""
    session.add(SlaPolicy(name="Default", is_default=True, first_response_seconds=20 * 60))
    x = f.account(session, name="Acme X")
    fb = f.account(session, platform="facebook", name="Acme FB", external_id="900")
    start = utcnow() - timedelta(hours=3)
    for n, wait in enumerate((10, 30)):
        ingest_batch(session, account=x, stream="m", cursor=None, now=start, messages=[
            f.inbound("help", created_at=start, thread=f"x{n}", author=str(n))])
        conv = session.scalars(select(Conversation).where(
            Conversation.external_thread_id == f"x{n}")).one()
        queue_reply(session, conversation=conv, agent=boss, text="on it",
                    now=start + timedelta(minutes=wait))
    ingest_batch(session, account=fb, stream="c", cursor=None, now=start, messages=[
        f.inbound("hallo?", created_at=start, thread="fb", author="9",
                  kind=ThreadKind.FB_COMMENT, platform=Platform.FACEBOOK)])
    actions.resolve(session, conv, by=boss)


def test_agents_may_not_see_reports(web: TestClient) -> None:
    assert web.get("/reports").status_code == 403
    assert web.get("/reports/sla.csv").status_code == 403
    assert "Reports" not in soup(web.get("/inbox")).select_one("header nav").text  # type: ignore[union-attr]


def test_page_shows_the_figures_with_their_definitions(web: TestClient, history: None) -> None:
    page = soup(web.get("/reports"))
    first = page.select_one('#response-times tr[data-figure="first response"][data-clock="wall"]')
    assert first is not None
    cells = [td.text for td in first.select("td")]
    assert cells[2:6] == ["2", "20m 0s", "28m 0s", "20m 0s"]  # count, median, p90, mean
    assert cells[6] == "1"  # the Facebook thread, still unanswered, counted beside
    empty = soup(web.get("/reports?platform=facebook"))
    row = empty.select_one('#response-times tr[data-figure="first response"][data-clock="wall"]')
    assert row is not None and [td.text for td in row.select("td")][2:6] == ["0", "–", "–", "–"]
    sla_row = empty.select_one('#sla tr[data-target="first response"]')
    assert sla_row is not None and sla_row.select("td")[-1].text == "0.0"  # 0 of 1 met: not "–"
    sla = [td.text for td in page.select_one('#sla tr[data-target="first response"]').select("td")]  # type: ignore[union-attr]
    assert sla[1:3] == ["1", "2"]  # met: the 10-minute answer; breached: 30 min and waiting
    assert "first reply written by a person" in page.select_one("#response-times details").text  # type: ignore[union-attr]
    assert page.select("canvas[data-chart]")


def test_csv_matches_the_page_and_follows_filters(web: TestClient, history: None) -> None:
    r = web.get("/reports/response-times.csv?platform=x")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    wall = next(x for x in rows if x["figure"] == "first response" and x["clock"] == "wall")
    assert (wall["count"], wall["median_s"], wall["unanswered"]) == ("2", "1200.0", "0")
    fb = list(csv.DictReader(io.StringIO(web.get(
        "/reports/response-times.csv?platform=facebook").text)))
    assert next(x for x in fb if x["figure"] == "first response")["count"] == "0"


def test_json_api_gives_the_same_figures(session: Session, app_client: TestClient,
                                         history: None) -> None:
    create_agent(session, email="lead@example.com", name="Lead", role="admin",
                 password="long enough")
    token = create_token(session, email="lead@example.com")
    r = app_client.get("/api/v1/reports/agents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    body = r.json()
    assert body["columns"][0] == "agent"
    assert body["rows"][0][:2] == ["Sam Agent", 2]  # two replies written
    times = app_client.get("/api/v1/reports/response-times",
                           headers={"Authorization": f"Bearer {token}"}).json()
    first = dict(zip(times["columns"], times["rows"][0], strict=True))
    assert (first["figure"], first["clock"]) == ("first response", "wall")
    assert (first["count"], first["median_s"]) == (2, 1200.0)  # numbers, not text
    facebook = app_client.get("/api/v1/reports/response-times?platform=facebook",
                              headers={"Authorization": f"Bearer {token}"}).json()
    assert facebook["rows"][0][3] is None  # no median of nothing: null, not ""
    missing = app_client.get("/api/v1/reports/nonsense",
                             headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404


@pytest.mark.parametrize("query", ["start=yesterday", "start=2026-02-01&end=2026-01-01",
                                   "tz=Mars/Olympus", "platform=myspace", "agent=abc",
                                   "start=2020-01-01&end=2026-01-01", "account=\u00b2",
                                   "team=\u0663", "tag=99999999999999999999",
                                   "start=0001-01-01&end=0001-01-02", "end=0001-01-02",
                                   "start=9999-12-30&end=9999-12-31"])
def test_bad_report_parameters_are_clear_errors(web: TestClient, boss: Agent,
                                                query: str) -> None:
    r = web.get(f"/reports?{query}")
    assert r.status_code == 422
    assert soup(r).select_one(".error").text  # type: ignore[union-attr]


def test_inbox_shows_sla_badges_and_sorts_by_breach(web: TestClient, session: Session,
                                                    boss: Agent) -> None:
    session.add(SlaPolicy(name="Default", is_default=True, first_response_seconds=60 * 60))
    session.add(SlaPolicy(name="Urgent", priority="urgent", first_response_seconds=5 * 60))
    acc = f.account(session)
    now = utcnow()
    ingest_batch(session, account=acc, stream="m", cursor=None, now=now, messages=[
        f.inbound("old but relaxed", created_at=now - timedelta(minutes=50), thread="a",
                  author="1"),
        f.inbound("new but urgent", created_at=now - timedelta(minutes=2), thread="b",
                  author="2"),
        f.inbound("very late", created_at=now - timedelta(minutes=90), thread="c",
                  author="3"),
    ])
    urgent = session.scalars(select(Conversation).where(
        Conversation.external_thread_id == "b")).one()
    actions.set_priority(session, urgent, priority="urgent", by=boss)

    page = soup(web.get("/inbox?sort=breach"))
    order = [r.select_one(".snippet").text for r in page.select("li.row")]  # type: ignore[union-attr]
    assert order == ["very late", "new but urgent", "old but relaxed"]
    badges = [r.select_one(".sla")["class"][1] for r in page.select("li.row")]  # type: ignore[index]
    assert badges == ["sla-breached", "sla-ok", "sla-at_risk"]


def test_supervisor_edits_sla_policies(web: TestClient, session: Session, boss: Agent) -> None:
    def save(**fields: str):  # type: ignore[no-untyped-def]
        return web.post("/reports/sla-policies", data={"csrf_token": web.csrf, **fields})  # type: ignore[attr-defined]

    r = save(name="Office", first_response_minutes="30", timezone="Europe/Berlin",
             hours_fri="09:00-12:00, 13:00-17:00", holidays="2026-12-25 Christmas Day",
             at_risk_percent="20", is_default="true")
    assert r.status_code == 303
    policy = session.scalars(select(SlaPolicy)).one()
    assert (policy.first_response_seconds, policy.at_risk_share, policy.is_default) == (
        1800, 0.2, True)
    assert policy.business_hours == {"fri": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert policy.holidays == {"2026-12-25": "Christmas Day"}
    page = soup(web.get(f"/reports/sla-policies?edit={policy.id}"))
    assert page.select_one('input[name="hours_fri"]')["value"] == "09:00-12:00, 13:00-17:00"  # type: ignore[index]

    for bad, says in [({"name": ""}, "needs a name"),
                      ({"name": "X", "first_response_minutes": "-5"}, "at least one second"),
                      ({"name": "X", "first_response_minutes": "0.001"}, "at least one second"),
                      ({"name": "X", "first_response_minutes": "nan"}, "must be a number"),
                      ({"name": "X", "first_response_minutes": "inf"}, "must be a number"),
                      ({"name": "X", "first_response_minutes": "1e30"}, "at most a year"),
                      ({"name": "X", "first_response_minutes": "5", "at_risk_percent": "0.4"},
                       "between 1 and 99"),
                      ({"name": "X", "first_response_minutes": "5", "at_risk_percent": "12.5"},
                       "between 1 and 99"),
                      ({"name": "X", "first_response_minutes": "5", "account_id": "\u00b2"},
                       "no such account"),
                      ({"name": "X", "first_response_minutes": "5",
                        "account_id": "99999999999999999999"}, "no such account"),
                      ({"name": "X", "first_response_minutes": "5",
                        "hours_mon": "09:00-17:00:00:99"}, "bad time"),
                      ({"name": "X", "first_response_minutes": "5", "escalate_to": "team:\u00b2"},
                       "escalate to a team"),
                      ({"name": "X"}, "at least one target"),
                      ({"name": "X", "first_response_minutes": "5", "hours_mon": "nine"},
                       "like 09:00-17:00"),
                      ({"name": "X", "first_response_minutes": "5", "timezone": "Mars/Base"},
                       "time zone"),
                      ({"name": "X", "first_response_minutes": "5", "holidays": "Xmas"},
                       "date like"),
                      ({"name": "Office", "first_response_minutes": "5"}, "exists already")]:
        r = save(**({"at_risk_percent": "25", "timezone": "UTC"} | bad))  # type: ignore[arg-type]
        assert r.status_code == 422, bad
        assert says in soup(r).select_one(".error").text, bad  # type: ignore[union-attr]
    assert session.scalars(select(SlaPolicy)).all() == [policy]
    assert web.post(f"/reports/sla-policies/{policy.id}/delete",
                    data={"csrf_token": web.csrf}).status_code == 303  # type: ignore[attr-defined]
    assert session.scalars(select(SlaPolicy)).all() == []


def test_agents_cannot_edit_policies(web: TestClient) -> None:
    r = web.post("/reports/sla-policies", data={"csrf_token": web.csrf, "name": "Mine",  # type: ignore[attr-defined]
                                                 "first_response_minutes": "1"})
    assert r.status_code == 403


def test_sla_badges_say_long_times_in_hours_and_days_and_when_they_turn(
        web: TestClient, session: Session) -> None:
    session.add(SlaPolicy(name="Default", is_default=True, first_response_seconds=24 * 3600))
    session.add(SlaPolicy(name="Relaxed", priority="low", first_response_seconds=3 * 86400))
    acc = f.account(session)
    now = utcnow()
    # 30 s to spare, so that the page rendered a moment later still floors to the minute.
    day = now - timedelta(minutes=54, seconds=-30)
    ingest_batch(session, account=acc, stream="m", cursor=None, now=now, messages=[
        f.inbound("a day", created_at=day, thread="a", author="1"),
        f.inbound("three days", created_at=now - timedelta(hours=20, seconds=-30), thread="b",
                  author="2"),
    ])
    relaxed = session.scalars(select(Conversation).where(
        Conversation.external_thread_id == "b")).one()
    relaxed.priority = "low"
    session.add(relaxed)
    session.flush()

    page = soup(web.get("/inbox"))
    badges = {r.select_one(".snippet").text: r.select_one(".sla") for r in page.select("li.row")}  # type: ignore[union-attr]
    assert badges["a day"].text == "SLA 23h 6m left"  # type: ignore[union-attr]
    assert badges["three days"].text == "SLA 2d 4h left"  # type: ignore[union-attr]
    # At risk once a quarter of the target is left: 18 hours after the message.
    risk = datetime.fromisoformat(badges["a day"]["data-sla-risk"])  # type: ignore[index, arg-type]
    assert abs((risk - (day + timedelta(hours=18))).total_seconds()) < 1
