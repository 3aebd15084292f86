"""Facebook through the app: polling into threads, replies on each kind, the Messenger window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account
from app.accounts.service import add_account
from app.db import utcnow
from app.errors import Invalid
from app.inbox.models import Conversation, Message
from app.ingest.poller import poll_due
from app.outbox.sender import send_due
from app.outbox.service import queue_reply
from connectors.simulator.faults import Fault
from connectors.simulator.server import SimulatorThread
from connectors.simulator.state import SimState

PAGE = "104000000000777"
HOUR = 3600


@pytest.fixture
def page(session: Session, sim: SimState, simulator: SimulatorThread,
         box: CredentialBox) -> Account:
    fb = sim.facebook
    p = fb.add_page(PAGE, "Acme", "acme")
    return add_account(session, box=box, platform="facebook", name="Acme FB",
                       credentials=p.credentials(), api_base_url=simulator.base_url)


def thread(session: Session, kind: str) -> Conversation:
    return session.scalars(select(Conversation).where(Conversation.thread_kind == kind)).one()


def test_comments_and_messenger_become_threads(session: Session, sim: SimState, page: Account,
                                                connector_for) -> None:  # type: ignore[no-untyped-def]
    fb = sim.facebook
    fb.add_person("501", "Priya Nair")
    post = fb.add_post(PAGE, "Our new printer is here!", back_seconds=2 * HOUR)
    top = fb.add_comment(post.id, "501", "Mine arrived broken", back_seconds=HOUR)
    fb.add_comment(top.id, PAGE, "So sorry Priya, we'll fix it", back_seconds=HOUR - 60)
    fb.add_comment(top.id, "501", "Thanks, waiting", back_seconds=HOUR - 120)
    fb.add_message(PAGE, "501", "Order W-8812, photos attached", back_seconds=600)

    report = poll_due(session, connector_for, default_interval=60)

    assert report.errors == []
    comments = thread(session, "fb_comment")
    assert comments.external_thread_id == top.id
    msgs = session.scalars(select(Message).where(Message.conversation_id == comments.id)
                           .order_by(Message.created_at)).all()
    assert [(m.direction, m.text) for m in msgs] == [
        ("inbound", "Mine arrived broken"), ("outbound", "So sorry Priya, we'll fix it"),
        ("inbound", "Thanks, waiting")]
    messenger = thread(session, "fb_messenger")
    assert messenger.contact_id == comments.contact_id  # the same person, one contact
    again = poll_due(session, connector_for, default_interval=60, now=utcnow() + timedelta(
        minutes=5))
    assert again.new_messages == 0


def test_replies_reach_the_right_ids_with_the_right_type(
        session: Session, sim: SimState, page: Account, connector_for) -> None:  # type: ignore[no-untyped-def]
    fb = sim.facebook
    fb.add_person("502", "Daniel Roth")
    post = fb.add_post(PAGE, "Opening hours", back_seconds=3 * HOUR)
    top = fb.add_comment(post.id, "502", "Are you open Sunday?", back_seconds=2 * HOUR)
    fb.add_message(PAGE, "502", "labels won't print", back_seconds=25 * HOUR)
    poll_due(session, connector_for, default_interval=60)

    queue_reply(session, conversation=thread(session, "fb_comment"), agent=None,
                text="Yes, 10 to 4!")
    queue_reply(session, conversation=thread(session, "fb_comment"), agent=None,
                text="Sending you the holiday hours privately", private=True)
    queue_reply(session, conversation=thread(session, "fb_messenger"), agent=None,
                text="Let's get those labels printing")
    report = send_due(session, connector_for)

    assert report.sent == 3, report
    sent = fb.sent_items()
    assert [(s["kind"], s.get("target_id"), s.get("messaging_type"), s.get("tag"))
            for s in sent] == [
        ("comment", top.id, None, None),
        ("message", None, None, None),  # private reply to the comment (no type needed)
        ("message", None, "MESSAGE_TAG", "HUMAN_AGENT"),  # 25 hours after their message
    ]
    assert sent[1]["reply_to"] == top.id
    assert sent[2]["recipient_id"] == "502"


def test_a_comment_takes_one_private_reply(session: Session, sim: SimState, page: Account,
                                           connector_for) -> None:  # type: ignore[no-untyped-def]
    fb = sim.facebook
    fb.add_person("503", "Ana")
    post = fb.add_post(PAGE, "Sale!", back_seconds=3 * HOUR)
    fb.add_comment(post.id, "503", "Is the blue one in stock?", back_seconds=HOUR)
    poll_due(session, connector_for, default_interval=60)
    conv = thread(session, "fb_comment")
    first = queue_reply(session, conversation=conv, agent=None, text="Checking for you",
                        private=True)
    with pytest.raises(Invalid, match="one per comment"):
        queue_reply(session, conversation=conv, agent=None, text="Found it!", private=True)
    queue_reply(session, conversation=conv, agent=None, text="Yes, in stock")  # in public
    assert send_due(session, connector_for).sent == 2
    assert [s["kind"] for s in fb.sent_items()] == ["message", "comment"]
    # Once the first one failed for good, a private reply is possible again.
    first.delivery_state = "failed"
    session.add(first)
    session.flush()
    queue_reply(session, conversation=conv, agent=None, text="Found it!", private=True)


def test_a_comment_that_cannot_be_answered_privately_is_refused_before_storing(
        session: Session, sim: SimState, page: Account, connector_for) -> None:  # type: ignore[no-untyped-def]
    fb = sim.facebook
    fb.add_person("505", "Omar")
    post = fb.add_post(PAGE, "Sale!", back_seconds=3 * HOUR)
    fb.add_comment(post.id, "505", "price?", back_seconds=HOUR)
    poll_due(session, connector_for, default_interval=60)
    comment = session.scalars(select(Message).where(Message.text == "price?")).one()
    assert comment.raw["can_reply_privately"] is True  # as Facebook said when polled
    comment.raw = {**comment.raw, "can_reply_privately": False}
    session.add(comment)
    session.flush()
    with pytest.raises(Invalid, match="cannot be messaged"):
        queue_reply(session, conversation=thread(session, "fb_comment"), agent=None,
                    text="Sent you the price", private=True)
    assert session.scalars(select(Message).where(Message.direction == "outbound")).all() == []


def test_closed_window_for_an_ingested_thread(session: Session, sim: SimState, page: Account,
                                              connector_for) -> None:  # type: ignore[no-untyped-def]
    fb = sim.facebook
    fb.add_person("504", "Lena")
    fb.add_message(PAGE, "504", "hello?", back_seconds=60)
    poll_due(session, connector_for, default_interval=60)
    conv = thread(session, "fb_messenger")
    conv.last_inbound_at = utcnow() - timedelta(days=8)  # as if she last wrote 8 days ago
    session.add(conv)
    session.flush()
    with pytest.raises(Invalid, match="within 7 days"):
        queue_reply(session, conversation=conv, agent=None, text="Sorry for the wait")
    assert session.scalars(select(Message).where(Message.direction == "outbound")).all() == []
    assert fb.sent_items() == []


def test_expired_page_token_stops_that_page_only(session: Session, sim: SimState, page: Account,
                                                 connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    x = connect()
    sim.generate_mentions("42", 2)
    sim.facebook.add_person("505", "Ana")
    sim.facebook.add_message(PAGE, "505", "hi", back_seconds=60)
    sim.faults.add(Fault(kind="auth_expired", path_prefix="/v21.0/", count=5))
    poll_due(session, connector_for, default_interval=60)
    session.refresh(page)
    session.refresh(x)
    assert page.needs_reconnect and not x.needs_reconnect
    assert x.last_polled_at is not None
