"""The inbox list: views, counts, filters, search, fragments for htmx, escaping, bulk."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.auth.models import Agent, Team
from app.inbox import actions
from app.inbox.models import Conversation
from app.ingest.service import ingest_batch
from connectors.base import Platform, ThreadKind
from tests import factories as f
from tests.web.conftest import HTMX, soup


def seed(session: Session) -> dict[str, Conversation]:
    x = f.account(session, name="Acme X")
    fb = f.account(session, platform="facebook", name="Acme FB", external_id="900")
    ingest_batch(session, account=x, stream="m", cursor=None, messages=[
        f.inbound("printer shows E-07 <script>alert(1)</script>", minutes=0, thread="a",
                  author="1", handle="maria", name="Maria Keller"),
        f.inbound("refund please", minutes=5, thread="b", author="2", handle="tom", name="Tom"),
    ])
    ingest_batch(session, account=fb, stream="c", cursor=None, messages=[
        f.inbound("Drucker kaputt", minutes=2, thread="c", author="3", handle=None,
                  name="Jonas", kind=ThreadKind.FB_COMMENT, platform=Platform.FACEBOOK),
    ])
    convs = {c.external_thread_id: c for c in session.scalars(select(Conversation))}
    return convs


def rows(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.find(class_="snippet").text for r in soup(page).select("li.row")]


def test_open_view_lists_longest_waiting_first_with_counts(web: TestClient,
                                                           session: Session) -> None:
    seed(session)
    page = web.get("/inbox")
    assert page.status_code == 200
    assert rows(page) == ["printer shows E-07 <script>alert(1)</script>", "Drucker kaputt",
                          "refund please"]
    doc = soup(page)
    assert doc.select_one('[data-view-count="open"]').text == "3"  # type: ignore[union-attr]
    assert doc.select_one('[data-view-count="mine"]').text == "0"  # type: ignore[union-attr]
    # Platform text is shown as text: no script element came from the message.
    assert doc.find("script", string=lambda s: s and "alert" in s) is None
    assert doc.select_one("li.row .waiting")["data-since"]  # type: ignore[index]


def test_htmx_asks_get_only_the_list(web: TestClient, session: Session) -> None:
    seed(session)
    r = web.get("/inbox?view=open&platform=facebook", headers=HTMX | {"HX-Target": "list"})
    assert "<html" not in r.text
    assert rows(r) == ["Drucker kaputt"]


def test_views_follow_assignment_escalation_and_status(web: TestClient, session: Session,
                                                       me: Agent) -> None:
    convs = seed(session)
    team = Team(name="Second level")
    session.add(team)
    session.flush()
    actions.assign(session, convs["a"], by=me, agent_id=me.id)
    actions.escalate(session, convs["b"], by=me, reason="refund over limit", to_team_id=team.id)
    actions.resolve(session, convs["c"], by=me)
    assert rows(web.get("/inbox?view=mine")) == ["printer shows E-07 <script>alert(1)</script>"]
    assert rows(web.get("/inbox?view=unassigned")) == ["refund please"]
    assert rows(web.get("/inbox?view=escalated")) == ["refund please"]
    assert rows(web.get("/inbox?view=resolved")) == ["Drucker kaputt"]
    assert rows(web.get(f"/inbox?view=open&team={team.id}")) == ["refund please"]


def test_filters_and_search(web: TestClient, session: Session, me: Agent) -> None:
    convs = seed(session)
    tag_id = actions.add_tag(session, convs["b"], name="billing", by=me).id
    actions.set_priority(session, convs["c"], priority="urgent", by=me)
    assert rows(web.get(f"/inbox?tag={tag_id}")) == ["refund please"]
    assert rows(web.get("/inbox?priority=urgent")) == ["Drucker kaputt"]
    assert rows(web.get("/inbox?platform=x&sort=newest")) == [
        "refund please", "printer shows E-07 <script>alert(1)</script>"]
    assert rows(web.get("/inbox?q=Maria")) == ["printer shows E-07 <script>alert(1)</script>"]
    assert rows(web.get("/inbox?q=refund")) == ["refund please"]


def test_bad_filters_are_clear_errors(web: TestClient) -> None:
    for query in ("view=nope", "status=gone", "platform=myspace", "account=abc", "sort=random",
                  "account=\u00b2", "tag=99999999999999999999", "team=\u0663"):
        r = web.get(f"/inbox?{query}")
        assert r.status_code == 422, query
        assert soup(r).find(class_="error").text  # type: ignore[union-attr]


def test_more_pages_load_as_rows(web: TestClient, session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        f.inbound(f"q{i}", minutes=i, thread=f"t{i}", author=str(50 + i)) for i in range(55)])
    page = web.get("/inbox")
    assert len(rows(page)) == 50
    more = soup(page).select_one("#more a")["hx-get"]  # type: ignore[index]
    rest = web.get(more, headers=HTMX | {"HX-Target": "more"})
    assert "<html" not in rest.text
    assert rows(rest) == [f"q{i}" for i in range(50, 55)]


def test_bulk_resolve_tag_and_assign(web: TestClient, session: Session, me: Agent) -> None:
    convs = seed(session)
    ids = [convs["a"].id, convs["b"].id]
    r = web.post("/inbox/bulk", data={"ids": ids, "action": "tag", "value": "printer",
                                      "csrf_token": web.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 303
    web.post("/inbox/bulk", data={"ids": ids, "action": "assign", "value": str(me.id),
                                  "csrf_token": web.csrf})  # type: ignore[attr-defined]
    web.post("/inbox/bulk", data={"ids": ids, "action": "resolve",
                                  "csrf_token": web.csrf})  # type: ignore[attr-defined]
    session.expire_all()
    assert {(c.status, c.assignee_id) for c in (session.get(Conversation, i) for i in ids)
            if c} == {("resolved", me.id)}
    bad = web.post("/inbox/bulk", data={"ids": ids, "action": "explode",
                                        "csrf_token": web.csrf})  # type: ignore[attr-defined]
    assert bad.status_code == 422
    none = web.post("/inbox/bulk", data={"action": "resolve", "csrf_token": web.csrf})  # type: ignore[attr-defined]
    assert none.status_code == 422
    for data in ({"ids": ids, "action": "assign", "value": "abc"},
                 {"ids": ids, "action": "assign", "value": "\u00b2"}):
        r = web.post("/inbox/bulk", data={**data, "csrf_token": web.csrf})  # type: ignore[attr-defined]
        assert r.status_code == 422, data
    huge = web.post("/inbox/bulk", data={"ids": [10**22], "action": "resolve",
                                         "csrf_token": web.csrf})  # type: ignore[attr-defined]
    assert huge.status_code in (404, 422)
    assert web.get(f"/conversations/{10**22}").status_code == 422


def test_bulk_without_csrf_changes_nothing(web: TestClient, session: Session) -> None:
    convs = seed(session)
    r = web.post("/inbox/bulk", data={"ids": [convs["a"].id], "action": "resolve"})
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Conversation, convs["a"].id).status == "open"  # type: ignore[union-attr]


def test_the_live_list_fragment_brings_the_view_counts_along(web: TestClient, session: Session,
                                                             me: Agent) -> None:
    convs = seed(session)
    actions.assign(session, convs["a"], by=me, agent_id=me.id)
    r = web.get("/inbox?view=open", headers=HTMX | {"HX-Target": "list"})
    views = soup(r).select_one("nav#views")
    assert views is not None and views["hx-swap-oob"] == "true"
    counts = {s["data-view-count"]: s.text for s in views.select("[data-view-count]")}
    assert counts["open"] == "3" and counts["mine"] == "1" and counts["unassigned"] == "2"
    # The full page has the same nav, swapped in place rather than out of band.
    page = soup(web.get("/inbox"))
    assert page.select_one("nav#views").get("hx-swap-oob") is None  # type: ignore[union-attr]


@pytest.mark.parametrize("shown", ["60", "250", "5000", "lots"])
def test_a_live_refresh_after_many_pages_lists_what_one_call_can(
        web: TestClient, session: Session, shown: str) -> None:
    seed(session)
    r = web.get(f"/inbox?view=open&shown={shown}", headers=HTMX | {"HX-Target": "list"})
    assert r.status_code == 200  # many loaded pages are capped, never an error
    assert len(rows(r)) == 3


def test_bulk_from_htmx_answers_with_the_list_or_a_plain_error(web: TestClient,
                                                               session: Session) -> None:
    convs = seed(session)
    back = "/inbox?view=open&platform=x"
    url = f"/inbox/bulk?back={quote(back, safe='/')}"
    csrf = {"csrf_token": web.csrf}  # type: ignore[attr-defined]
    for data, message in (({"action": "resolve"}, "select at least one conversation"),
                          ({"ids": [convs["a"].id], "action": "tag", "value": "   "},
                           "a tag needs 1 to 64 characters")):
        r = web.post(url, data={**data, **csrf}, headers=HTMX)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text == message

    r = web.post(url, data={"ids": [convs["a"].id], "action": "resolve", **csrf}, headers=HTMX)
    assert r.status_code == 200 and "<html" not in r.text
    assert rows(r) == ["refund please"]  # the list it came from: open, X only
    doc = soup(r)
    assert doc.select_one('form.bulk')["hx-post"] == url  # type: ignore[index]
    assert doc.select_one('nav#views [data-view-count="open"]').text == "2"  # type: ignore[union-attr]
    assert doc.select_one('nav#views [data-view-count="resolved"]').text == "1"  # type: ignore[union-attr]
