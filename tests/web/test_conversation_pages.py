"""The conversation view and every action on it, with and without htmx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app.auth.models import Agent, Team
from app.auth.service import create_agent
from app.db import utcnow
from app.inbox.models import AuditEvent, Conversation, Escalation, Message, Note
from app.ingest.service import ingest_batch
from app.outbox.models import Outbox
from connectors.base import Platform, ThreadKind
from tests import factories as f
from tests.web.conftest import HTMX, soup


@pytest.fixture
def conv(session: Session) -> Conversation:
    acc = f.account(session, name="Acme X")
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        f.inbound("my printer <b>broke</b>", minutes=0, thread="t", author="1", handle="maria",
                  name="Maria Keller"),
        f.inbound("funeral is tomorrow", minutes=3, thread="t", author="1", handle="maria",
                  name="Maria Keller"),
    ])
    # Maria wrote by DM before: the view must show it as her other conversation.
    ingest_batch(session, account=acc, stream="d", cursor=None, messages=[
        f.inbound("earlier DM", minutes=-600, thread="dm", author="1", handle="maria",
                  name="Maria Keller", kind=ThreadKind.X_DM)])
    return session.scalars(select(Conversation).where(
        Conversation.external_thread_id == "t")).one()


def post(web: TestClient, url: str, htmx: bool = False, **data: object):  # type: ignore[no-untyped-def]
    return web.post(url, data={"csrf_token": web.csrf, **data},  # type: ignore[attr-defined]
                    headers=HTMX if htmx else {})


def refreshed(session: Session, conv: Conversation) -> Conversation:
    session.expire_all()
    found = session.get(Conversation, conv.id)
    assert found is not None
    return found


def actions_logged(session: Session, conv: Conversation) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.conversation_id == conv.id).order_by(AuditEvent.id)))


def test_view_shows_thread_contact_history_and_escapes(web: TestClient, conv: Conversation) -> None:
    page = web.get(f"/conversations/{conv.id}")
    doc = soup(page)
    texts = [m.text for m in doc.select(".msg .msg-text")]
    assert texts == ["my printer <b>broke</b>", "funeral is tomorrow"]
    assert doc.select_one(".msg-text b") is None  # shown as text, not markup
    others = doc.select(".others li")
    assert len(others) == 1 and "x dm" in others[0].text
    assert "Maria Keller" in doc.select_one(".conv-head h1").text  # type: ignore[union-attr]
    assert doc.select_one("#composer-form")["data-limit"] == "280"  # type: ignore[index]


def test_opening_marks_read(web: TestClient, session: Session, conv: Conversation) -> None:
    assert refreshed(session, conv).last_read_at is None
    web.get(f"/conversations/{conv.id}")
    assert refreshed(session, conv).last_read_at is not None


def test_unknown_conversation_is_404(web: TestClient) -> None:
    assert web.get("/conversations/424242").status_code == 404


@pytest.mark.parametrize("htmx", [False, True])
def test_reply_is_queued_and_shown(web: TestClient, session: Session, conv: Conversation,
                                   htmx: bool) -> None:
    r = post(web, f"/conversations/{conv.id}/reply", htmx, text="So sorry, Maria")
    if htmx:
        assert r.status_code == 200 and "<html" not in r.text
        assert soup(r).select(".msg.outbound .delivery-queued")
    else:
        assert (r.status_code, r.headers["location"]) == (303, f"/conversations/{conv.id}")
    assert session.scalar(select(func.count()).select_from(Outbox)) == 1
    assert refreshed(session, conv).waiting_since is None


@pytest.mark.parametrize(("text", "says"), [("   ", "needs some text"), ("x" * 281, "at most 280")])
def test_bad_reply_says_why_and_stores_nothing(web: TestClient, session: Session,
                                               conv: Conversation, text: str, says: str) -> None:
    for htmx in (False, True):
        r = post(web, f"/conversations/{conv.id}/reply", htmx, text=text)
        assert r.status_code == 422
        assert says in r.text
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0
    assert session.scalar(select(func.count()).select_from(Message).where(
        Message.direction == "outbound")) == 0


def test_send_and_resolve(web: TestClient, session: Session, conv: Conversation) -> None:
    post(web, f"/conversations/{conv.id}/reply", text="Fixed remotely", resolve="true")
    assert refreshed(session, conv).status == "resolved"


def test_private_answer_to_a_public_thread(web: TestClient, session: Session,
                                           conv: Conversation) -> None:
    post(web, f"/conversations/{conv.id}/reply", text="x" * 300, private="true")
    msg = session.scalars(select(Message).where(Message.direction == "outbound")).one()
    assert msg.is_private


def test_csrf_is_required_on_every_action(web: TestClient, session: Session,
                                          conv: Conversation) -> None:
    for path, data in [("reply", {"text": "hi"}), ("notes", {"text": "n"}),
                       ("status", {"action": "resolve"}), ("priority", {"value": "high"}),
                       ("tags", {"name": "x"}), ("assign", {"assignee": "me"})]:
        r = web.post(f"/conversations/{conv.id}/{path}", data=data)
        assert r.status_code == 403, path
        r = web.post(f"/conversations/{conv.id}/{path}", data=data,
                     headers={"X-CSRF-Token": "wrong"} | HTMX)
        assert r.status_code == 403, path
    assert actions_logged(session, conv) == []


def test_csrf_header_works_for_htmx(web: TestClient, session: Session, conv: Conversation) -> None:
    r = web.post(f"/conversations/{conv.id}/priority", data={"value": "high"},
                 headers=HTMX | {"X-CSRF-Token": web.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 200
    assert refreshed(session, conv).priority == "high"


def test_note_is_internal_and_shown_inline(web: TestClient, session: Session,
                                           conv: Conversation) -> None:
    r = post(web, f"/conversations/{conv.id}/notes", True, text="She is grieving; be gentle")
    assert [n.text for n in soup(r).select(".note .msg-text")] == ["She is grieving; be gentle"]
    assert session.scalar(select(func.count()).select_from(Note)) == 1
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0
    assert post(web, f"/conversations/{conv.id}/notes", text="").status_code == 422


def test_assign_take_and_team(web: TestClient, session: Session, conv: Conversation,
                              me: Agent) -> None:
    team = Team(name="Printers")
    other = create_agent(session, email="o@example.com", name="Olga", role="agent",
                         password="long enough")
    session.add(team)
    session.flush()
    r = post(web, f"/conversations/{conv.id}/assign", True, assignee="me")
    assert soup(r).select_one("[data-assignee]").text.startswith("Sam Agent")  # type: ignore[union-attr]
    post(web, f"/conversations/{conv.id}/assign", assignee=str(other.id), team=str(team.id))
    c = refreshed(session, conv)
    assert (c.assignee_id, c.team_id) == (other.id, team.id)
    assert post(web, f"/conversations/{conv.id}/assign", assignee="99999").status_code == 404
    assert post(web, f"/conversations/{conv.id}/assign", assignee="abc").status_code == 422
    assert actions_logged(session, conv) == ["assigned", "assigned"]


def test_tags_add_existing_or_new_and_remove(web: TestClient, session: Session,
                                             conv: Conversation) -> None:
    r = post(web, f"/conversations/{conv.id}/tags", True, name="  Printer ")
    assert [t.text for t in soup(r).select(".tags .tag")] == ["printer"]
    post(web, f"/conversations/{conv.id}/tags", name="printer")  # twice is once
    tag_id = soup(r).select_one(".tags form")["action"].split("/")[-2]  # type: ignore[index,union-attr]
    r = post(web, f"/conversations/{conv.id}/tags/{tag_id}/remove", True)
    assert soup(r).select(".tags .tag") == []
    assert post(web, f"/conversations/{conv.id}/tags", name="").status_code == 422
    assert actions_logged(session, conv) == ["tagged", "untagged"]


def test_priority_values_are_checked(web: TestClient, session: Session,
                                     conv: Conversation) -> None:
    assert post(web, f"/conversations/{conv.id}/priority", value="urgent").status_code == 303
    assert refreshed(session, conv).priority == "urgent"
    assert post(web, f"/conversations/{conv.id}/priority", value="asap").status_code == 422


def test_resolve_reopen_and_snooze(web: TestClient, session: Session, conv: Conversation) -> None:
    post(web, f"/conversations/{conv.id}/status", action="resolve")
    assert refreshed(session, conv).status == "resolved"
    post(web, f"/conversations/{conv.id}/status", action="reopen")
    assert refreshed(session, conv).status == "open"
    until = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    post(web, f"/conversations/{conv.id}/status", action="snooze",
         until=until.strftime("%Y-%m-%dT%H:%M"))
    c = refreshed(session, conv)
    assert c.status == "snoozed" and c.snoozed_until is not None
    past = post(web, f"/conversations/{conv.id}/status", action="snooze",
                until="2020-01-01T09:00")
    assert past.status_code == 422 and "future" in past.text
    assert post(web, f"/conversations/{conv.id}/status", action="snooze",
                until="tomorrow").status_code == 422
    assert post(web, f"/conversations/{conv.id}/status", action="dance").status_code == 422


def test_snooze_time_is_wall_time_in_the_agents_zone(web: TestClient, session: Session,
                                                     conv: Conversation) -> None:
    year = utcnow().year + 1
    # 09:00 in Berlin in January (UTC+1) is 08:00 UTC; shown back in that zone by app.js.
    r = post(web, f"/conversations/{conv.id}/status", True, action="snooze",
             until=f"{year}-01-15T09:00", tz="Europe/Berlin")
    assert r.status_code == 200
    assert refreshed(session, conv).snoozed_until == datetime(year, 1, 15, 8, 0, tzinfo=UTC)
    shown = soup(r).select_one("time[data-local-time]")
    assert shown is not None and shown["datetime"] == f"{year}-01-15T08:00:00+00:00"
    assert soup(r).select_one('input[name="tz"][data-time-zone]') is not None
    # No zone (no JavaScript) or one we do not know: the wall time is read as UTC.
    for tz in ("", "Mars/Olympus_Mons", "../../etc/passwd"):
        post(web, f"/conversations/{conv.id}/status", action="snooze",
             until=f"{year}-01-15T09:00", tz=tz)
        assert refreshed(session, conv).snoozed_until == datetime(year, 1, 15, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("tz", ["", "America/New_York"])
def test_absurd_snooze_times_are_refused(web: TestClient, session: Session, conv: Conversation,
                                         tz: str) -> None:
    for until in ("9999-12-31T23:59:59", "3000-01-01T00:00"):
        r = post(web, f"/conversations/{conv.id}/status", action="snooze", until=until, tz=tz)
        assert r.status_code == 422, (until, r.status_code)
        assert "snooze" in r.text
    assert refreshed(session, conv).status == "open"


def test_escalate_shows_who_and_why_until_deescalated(web: TestClient, session: Session,
                                                      conv: Conversation) -> None:
    boss = create_agent(session, email="boss@example.com", name="Bea Boss", role="supervisor",
                        password="long enough")
    assert post(web, f"/conversations/{conv.id}/escalate", target=f"agent:{boss.id}",
                reason="").status_code == 422
    r = post(web, f"/conversations/{conv.id}/escalate", True, target=f"agent:{boss.id}",
             reason="needs a replacement printer today")
    box = soup(r).select_one(".escalation")
    assert box is not None and "Bea Boss" in box.text
    assert "needs a replacement printer today" in box.text
    assert refreshed(session, conv).escalated_at is not None
    assert post(web, f"/conversations/{conv.id}/deescalate", note="").status_code == 422
    r = post(web, f"/conversations/{conv.id}/deescalate", True, note="courier booked")
    assert soup(r).select_one(".escalation") is None
    esc = session.scalars(select(Escalation)).one()
    assert (esc.closed_note, refreshed(session, conv).escalated_at) == ("courier booked", None)
    assert actions_logged(session, conv)[-2:] == ["escalated", "deescalated"]


def test_a_second_escalation_is_refused_naming_who_has_it(web: TestClient, session: Session,
                                                          conv: Conversation) -> None:
    boss = create_agent(session, email="boss@example.com", name="Bea Boss", role="supervisor",
                        password="long enough")
    team = Team(name="Second level")
    session.add(team)
    session.flush()
    assert post(web, f"/conversations/{conv.id}/escalate", target=f"agent:{boss.id}",
                reason="refund above my limit").status_code == 303
    # A colleague whose page still offers "Escalate" tries too.
    r = post(web, f"/conversations/{conv.id}/escalate", True, target=f"team:{team.id}",
             reason="customer is angry")
    assert r.status_code == 422
    assert "already escalated" in r.text and "Bea Boss has it" in r.text
    assert "by Sam Agent" in r.text
    esc = session.scalars(select(Escalation)).one()
    assert (esc.to_agent_id, esc.to_team_id) == (boss.id, None)
    assert refreshed(session, conv).team_id is None
    # Once de-escalated, it can be escalated again.
    post(web, f"/conversations/{conv.id}/deescalate", note="refund approved")
    assert post(web, f"/conversations/{conv.id}/escalate", target=f"team:{team.id}",
                reason="customer is angry").status_code == 303


def test_an_answer_ends_the_escalation(web: TestClient, session: Session,
                                       conv: Conversation) -> None:
    team = Team(name="Second level")
    session.add(team)
    session.flush()
    post(web, f"/conversations/{conv.id}/escalate", target=f"team:{team.id}", reason="tricky")
    post(web, f"/conversations/{conv.id}/reply", text="Here is what we found")
    assert refreshed(session, conv).escalated_at is None
    assert session.scalars(select(Escalation)).one().closed_note == "answered"


def test_retry_only_for_failed_replies(web: TestClient, session: Session,
                                       conv: Conversation) -> None:
    post(web, f"/conversations/{conv.id}/reply", text="hello")
    msg = session.scalars(select(Message).where(Message.direction == "outbound")).one()
    assert post(web, f"/messages/{msg.id}/retry").status_code == 422
    item = session.scalars(select(Outbox)).one()
    item.state, msg.delivery_state, msg.delivery_error = "failed", "failed", "boom"
    session.add_all([item, msg])
    session.flush()
    page = web.get(f"/conversations/{conv.id}")
    assert "failed: boom" in soup(page).select_one(".delivery-failed").text  # type: ignore[union-attr]
    r = post(web, f"/messages/{msg.id}/retry", True)
    assert soup(r).select(".delivery-queued")
    assert post(web, "/messages/987654/retry").status_code == 404


def test_typing_needs_csrf(web: TestClient, conv: Conversation) -> None:
    assert web.post(f"/conversations/{conv.id}/typing", data={"active": "true"}).status_code == 403
    assert post(web, f"/conversations/{conv.id}/typing", active="true").status_code == 204
    assert post(web, "/conversations/999999/typing", active="true").status_code == 404


def test_canned_replies_are_recorded_as_changed_or_not(web: TestClient, session: Session,
                                                        conv: Conversation) -> None:
    from app.inbox.models import CannedResponse
    canned = CannedResponse(shortcut="sorry", title="Sorry", text="Sorry, {first_name}!")
    session.add(canned)
    session.flush()
    post(web, f"/conversations/{conv.id}/reply", text="Sorry, Maria!", canned_id=str(canned.id),
         canned_text="Sorry, Maria!")
    post(web, f"/conversations/{conv.id}/reply", text="Sorry, Maria! Courier is on the way.",
         canned_id=str(canned.id), canned_text="Sorry, Maria!")
    post(web, f"/conversations/{conv.id}/reply", text="typed by hand")
    rows = session.execute(select(Message.canned_response_id, Message.canned_unchanged).where(
        Message.direction == "outbound").order_by(Message.id)).all()
    assert [tuple(r) for r in rows] == [(canned.id, True), (canned.id, False), (None, None)]


def test_a_malformed_form_field_is_a_page_error_not_json(web: TestClient,
                                                         conv: Conversation) -> None:
    r = web.post(f"/conversations/{conv.id}/reply",
                 data={"text": "hi", "private": "maybe", "csrf_token": web.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "private" in soup(r).select_one(".error").text  # type: ignore[union-attr]


@pytest.mark.parametrize("raw", [b"caf%E9+ok", b"%ED%A0%80"])
def test_form_bytes_that_are_not_utf8_are_refused_and_nothing_is_stored(
        web: TestClient, session: Session, conv: Conversation, raw: bytes) -> None:
    before = session.scalar(select(func.count()).select_from(Message))
    body = b"text=" + raw + b"&csrf_token=" + web.csrf.encode()  # type: ignore[attr-defined]
    r = web.post(f"/conversations/{conv.id}/reply", content=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and "UTF-8" in r.text
    assert session.scalar(select(func.count()).select_from(Message)) == before
    ok = web.post(f"/conversations/{conv.id}/reply",
                  content=b"text=caf%C3%A9+ok&csrf_token=" + web.csrf.encode(),  # type: ignore[attr-defined]
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ok.status_code in (200, 303)


@pytest.mark.parametrize(("days", "closed"), [(8, True), (3, False)])
def test_a_closed_messenger_window_disables_sending(web: TestClient, session: Session,
                                                     days: int, closed: bool) -> None:
    acc = f.account(session, platform="facebook", name="Acme FB", external_id="900")
    ingest_batch(session, account=acc, stream="c", cursor=None, messages=[
        f.inbound("still there?", created_at=utcnow() - timedelta(days=days), thread="m",
                  author="3", handle=None, name="Jonas", kind=ThreadKind.FB_MESSENGER,
                  platform=Platform.FACEBOOK)])
    conv = session.scalars(select(Conversation).where(
        Conversation.external_thread_id == "m")).one()
    form = soup(web.get(f"/conversations/{conv.id}")).select_one("#composer-form")
    assert form is not None
    buttons = form.select(".composer-bar button[type=submit]")
    assert [b.text for b in buttons] == ["Send", "Send and resolve"]
    assert all(b.has_attr("disabled") == closed for b in buttons)
    note = form.select_one(".composer-bar [data-window-closed]")
    assert (note is not None) == closed
    if note is not None:
        assert "Window closed" in note.text
