"""Sending replies over real HTTP to the simulator: routing, errors, and at-most-once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlmodel import Session

from app import migrate
from app.accounts.crypto import CredentialBox
from app.accounts.models import Account
from app.accounts.service import add_account, make_connector
from app.db import make_engine, session_factory, utcnow
from app.errors import Invalid
from app.inbox.models import Conversation, Message
from app.ingest.poller import poll_due
from app.outbox.models import Outbox
from app.outbox.sender import send_due
from app.outbox.service import queue_reply, retry_reply
from connectors.simulator.faults import Fault
from connectors.simulator.server import SimulatorThread
from connectors.simulator.state import SimState


def thread_of(session: Session, kind: str) -> Conversation:
    return session.scalars(select(Conversation).where(Conversation.thread_kind == kind)).one()


def landed_but_timed_out(sim: SimState) -> None:
    """The next post reaches X, then the client gives up waiting for the answer."""
    sim.faults.add(Fault(kind="timeout", path_prefix="/2/tweets", method="POST", delay=3,
                         process=True))


def later(minutes: float):  # type: ignore[no-untyped-def]
    return utcnow() + timedelta(minutes=minutes)


@pytest.fixture
def jane_thread(session: Session, sim: SimState, connect, connector_for):  # type: ignore[no-untyped-def]
    """Jane tweeted twice in one thread and sent a DM; all polled in."""
    connect()
    sim.add_user("7", "jane", "Jane Doe")
    root = sim.add_tweet("7", "@acme printer broken")
    newest = sim.add_tweet("7", "@acme hello??", in_reply_to=root.id)
    sim.add_dm("7", "42", "order 5512")
    poll_due(session, connector_for, default_interval=60)
    return root, newest


def test_public_reply_answers_the_newest_customer_post(session: Session, sim: SimState,
                                                       jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    _root, newest = jane_thread
    conv = thread_of(session, "x_mention")
    msg = queue_reply(session, conversation=conv, agent=None, text="Sorry Jane, on it!")
    session.commit()
    assert msg.delivery_state == "queued"

    report = send_due(session, connector_for)

    assert report.sent == 1
    sent = sim.sent_items()
    assert [(s["kind"], s["in_reply_to"], s["text"]) for s in sent] == [
        ("tweet", str(newest.id), "Sorry Jane, on it!")]
    session.refresh(msg)
    assert (msg.delivery_state, msg.external_id) == ("sent", sent[0]["id"])
    # Our own post comes back on the own-timeline stream: still one message, not two.
    poll_due(session, connector_for, default_interval=60, now=later(2))
    assert session.scalar(select(func.count()).select_from(Message)
                          .where(Message.external_id == sent[0]["id"])) == 1


def test_a_reply_answers_what_the_agent_saw_even_if_the_customer_writes_again(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    _root, newest = jane_thread
    msg = queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                      text="Sorry Jane, on it!")
    session.commit()
    assert msg.in_reply_to_external_id == str(newest.id)
    sim.add_tweet("7", "@acme anyone there?", in_reply_to=newest.id)
    poll_due(session, connector_for, default_interval=60, now=later(2))

    assert send_due(session, connector_for).sent == 1
    assert [s["in_reply_to"] for s in sim.sent_items()] == [str(newest.id)]


def test_dm_reply_and_private_answer_reach_the_customer(session: Session, sim: SimState,
                                                        jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    queue_reply(session, conversation=thread_of(session, "x_dm"), agent=None, text="Got it")
    queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                text="Let's continue in private, Jane", private=True)
    session.commit()
    assert send_due(session, connector_for).sent == 2
    sent = sim.sent_items()
    assert [(s["kind"], s["participant_id"]) for s in sent] == [("dm", "7"), ("dm", "7")]
    # The DM thread's reply goes into its conversation; the private answer starts one with Jane.
    posts = [r["path"] for r in sim.requests_log() if r["method"] == "POST"]
    assert posts == ["/2/dm_conversations/7-42/messages", "/2/dm_conversations/with/7/messages"]


@pytest.fixture
def group_thread(session: Session, sim: SimState, connect, connector_for) -> str:  # type: ignore[no-untyped-def]
    """Jane wrote to the brand in a group DM with Max; polled in. The group's id."""
    connect()
    sim.add_user("7", "jane", "Jane Doe")
    sim.add_user("8", "max", "Max Muster")
    group = sim.add_group(["7", "42", "8"])
    sim.add_group_dm("7", group, "our two orders are late")
    poll_due(session, connector_for, default_interval=60)
    return group


def test_a_reply_in_a_group_dm_reaches_the_group(session: Session, sim: SimState,
                                                 group_thread: str, connector_for) -> None:  # type: ignore[no-untyped-def]
    conv = thread_of(session, "x_dm")
    assert conv.external_thread_id == group_thread
    queue_reply(session, conversation=conv, agent=None, text="Sorry to you both, on it")
    session.commit()

    assert send_due(session, connector_for).sent == 1

    assert [(s["kind"], s["dm_conversation_id"], s["participant_id"])
            for s in sim.sent_items()] == [("dm", group_thread, None)]


def test_a_group_dm_that_landed_after_a_timeout_is_not_sent_twice(
        session: Session, sim: SimState, group_thread: str, connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_dm"), agent=None,
                      text="Both shipped today")
    sim.faults.add(Fault(kind="timeout", path_prefix=f"/2/dm_conversations/{group_thread}/",
                         method="POST", delay=3, process=True))
    assert send_due(session, connector_for).retried == 1

    report = send_due(session, connector_for, now=later(5))

    assert (report.reconciled, report.sent) == (1, 0)
    [landed] = sim.sent_items()
    session.refresh(msg)
    assert (msg.delivery_state, msg.external_id) == ("sent", landed["id"])
    assert landed["dm_conversation_id"] == group_thread


@pytest.mark.parametrize(("text", "private", "kind", "says"), [
    ("   ", False, "x_mention", "needs some text"),
    ("\u200b\ufeff", False, "x_mention", "needs some text"),
    ("ok\x01", False, "x_dm", "control character"),
    ("x" * 281, False, "x_mention", "at most 280"),
    (("ご注文の商品は明日発送いたします。" * 12)[:200], False, "x_mention",
     "X counts this reply as 400 characters; a post takes at most 280"),
    ("😀" * 141, False, "x_mention", "X counts this reply as 282 characters"),
    ("hi", True, "x_dm", "private already"),
])
def test_bad_replies_are_refused_before_anything_is_stored(
        session: Session, sim: SimState, jane_thread, text: str, private: bool, kind: str,
        says: str) -> None:  # type: ignore[no-untyped-def]
    before = session.scalar(select(func.count()).select_from(Message))
    with pytest.raises(Invalid, match=says):
        queue_reply(session, conversation=thread_of(session, kind), agent=None, text=text,
                    private=private)
    assert session.scalar(select(func.count()).select_from(Message)) == before
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0


@pytest.mark.parametrize("text", [
    "😀" * 140,
    "Tracking: https://example.com/parcels/" + "7" * 120 + " " + "z" * 122,  # 281 code points
])
def test_a_post_within_x_weighted_count_is_queued_and_sent(
        session: Session, sim: SimState, jane_thread, connector_for, text: str) -> None:  # type: ignore[no-untyped-def]
    assert len(text) in (140, 281)
    queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None, text=text)
    assert send_due(session, connector_for).sent == 1
    assert [s["text"] for s in sim.sent_items()] == [text]


def test_a_281_character_dm_answer_is_fine(session: Session, sim: SimState, jane_thread,
                                           connector_for) -> None:  # type: ignore[no-untyped-def]
    queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                text="y" * 281, private=True)
    assert send_due(session, connector_for).sent == 1


def test_rate_limited_send_waits_for_the_reset(session: Session, sim: SimState, jane_thread,
                                               connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                      text="On it")
    sim.faults.add(Fault(kind="rate_limit", path_prefix="/2/tweets", method="POST",
                         reset_in=120))
    assert send_due(session, connector_for).retried == 1
    assert send_due(session, connector_for, now=later(1)).sent == 0  # before the reset
    assert send_due(session, connector_for, now=later(3)).sent == 1
    session.refresh(msg)
    assert msg.delivery_state == "sent"
    assert len(sim.sent_items()) == 1


def test_timeout_after_the_post_landed_is_not_posted_twice(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                      text="Checking now")
    landed_but_timed_out(sim)
    assert send_due(session, connector_for).retried == 1
    session.refresh(msg)
    assert msg.delivery_state == "sending"

    report = send_due(session, connector_for, now=later(5))
    assert (report.reconciled, report.sent) == (1, 0)
    session.refresh(msg)
    assert msg.delivery_state == "sent"
    assert len(sim.sent_items()) == 1
    assert msg.external_id == sim.sent_items()[0]["id"]


def test_customer_writing_again_after_a_timed_out_post_does_not_double_it(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    _root, newest = jane_thread
    queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                text="Checking now")
    landed_but_timed_out(sim)
    assert send_due(session, connector_for).retried == 1
    # Jane answers under our (landed) reply before the worker looks again.
    ours = sim.sent_items()[0]["id"]
    sim.add_tweet("7", "@acme thanks!", in_reply_to=int(ours))
    poll_due(session, connector_for, default_interval=60, now=later(2))

    report = send_due(session, connector_for, now=later(5))
    assert (report.reconciled, report.sent) == (1, 0)
    assert len(sim.sent_items()) == 1


def test_retrying_a_reply_that_gave_up_after_it_landed_does_not_double_it(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                      text="Here is the fix", now=later(-11))
    for _ in range(5):
        sim.faults.add(Fault(kind="server_error", path_prefix="/2/tweets", method="POST"))
    landed_but_timed_out(sim)  # the sixth attempt
    for minutes in (-10, -9, -8, -7, -6, 0):  # the landing attempt at the simulator's now
        send_due(session, connector_for, now=later(minutes))
    session.refresh(msg)
    assert msg.delivery_state == "failed" and "gave up" in (msg.delivery_error or "")
    assert len(sim.sent_items()) == 1

    retry_reply(session, message=msg, agent=None)
    session.commit()
    report = send_due(session, connector_for, now=later(2))
    assert (report.reconciled, report.sent) == (1, 0)
    session.refresh(msg)
    assert (msg.delivery_state, msg.external_id) == ("sent", sim.sent_items()[0]["id"])
    assert len(sim.sent_items()) == 1


def test_a_look_up_that_keeps_failing_fails_the_reply_instead_of_leaving_it_sending(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                      text="One moment")
    landed_but_timed_out(sim)
    sim.faults.add(Fault(kind="server_error", path_prefix="/2/users/42/tweets", count=20))
    send_due(session, connector_for)
    for minute in range(1, 8):
        send_due(session, connector_for, now=later(minute * 20))
    session.refresh(msg)
    assert msg.delivery_state == "failed"
    assert "unknown whether this reply was posted" in (msg.delivery_error or "")
    assert len(sim.sent_items()) == 1  # never posted again blindly

    sim.faults.clear()
    retry_reply(session, message=msg, agent=None)  # a person asks again: looked up first
    session.commit()
    assert send_due(session, connector_for, now=later(200)).reconciled == 1
    assert len(sim.sent_items()) == 1


def test_unreadable_credentials_fail_that_reply_and_the_rest_go_out(
        session: Session, sim: SimState, jane_thread, connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    other = connect("43", "acme_de")
    sim.add_tweet("7", "@acme_de hallo")
    poll_due(session, connector_for, default_interval=60, now=later(1))
    stuck = queue_reply(session, conversation=thread_of(session, "x_dm"), agent=None, text="Hi")
    german = session.scalars(select(Conversation).where(
        Conversation.account_id == other.id)).one()
    fine = queue_reply(session, conversation=german, agent=None, text="Hallo!")
    account = session.get(Account, thread_of(session, "x_dm").account_id)
    assert account is not None
    account.credentials_encrypted = CredentialBox(Fernet.generate_key().decode()).seal({})
    session.add(account)
    session.commit()

    report = send_due(session, connector_for)

    assert (report.failed, report.sent) == (1, 1)
    session.refresh(stuck)
    session.refresh(fine)
    assert stuck.delivery_state == "failed" and "decrypt" in (stuck.delivery_error or "")
    assert fine.delivery_state == "sent"


def test_an_account_without_credentials_cannot_be_replied_from(
        session: Session, sim: SimState, jane_thread) -> None:  # type: ignore[no-untyped-def]
    conv = thread_of(session, "x_dm")
    account = session.get(Account, conv.account_id)
    assert account is not None
    account.credentials_encrypted = ""  # a sample account, as the demo seeds them
    session.add(account)
    session.flush()
    before = session.scalar(select(func.count()).select_from(Message))
    with pytest.raises(Invalid, match="not connected"):
        queue_reply(session, conversation=conv, agent=None, text="Hi")
    assert session.scalar(select(func.count()).select_from(Message)) == before


def test_a_failed_reply_puts_the_customer_back_in_the_queue_until_retried(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    conv = thread_of(session, "x_mention")
    waiting = conv.waiting_since
    assert waiting is not None
    msg = queue_reply(session, conversation=conv, agent=None, text="Fixed it")
    assert conv.waiting_since is None  # answered, as far as anyone can tell yet
    sim.faults.add(Fault(kind="canned", path_prefix="/2/tweets", method="POST", status=403,
                         body={"errors": [{"code": 187, "message": "Status is a duplicate."}]}))
    assert send_due(session, connector_for).failed == 1
    session.refresh(conv)
    assert conv.waiting_since == waiting  # the answer never reached Jane: still waiting

    at = later(3)
    retry_reply(session, message=msg, agent=None, now=at)
    session.commit()
    session.refresh(conv)
    session.refresh(msg)
    assert conv.waiting_since is None  # answered again
    assert msg.created_at == at  # and it reaches Jane now, not when first written
    assert (conv.last_message_at, conv.last_message_text) == (at, "Fixed it")  # the list's


def test_server_error_before_posting_is_retried(session: Session, sim: SimState, jane_thread,
                                                connector_for) -> None:  # type: ignore[no-untyped-def]
    queue_reply(session, conversation=thread_of(session, "x_dm"), agent=None, text="Hi")
    sim.faults.add(Fault(kind="server_error", path_prefix="/2/dm_conversations", method="POST",
                         status=503))
    assert send_due(session, connector_for).retried == 1
    report = send_due(session, connector_for, now=later(5))
    assert report.sent == 1  # looked first (not found), then sent
    assert len(sim.sent_items()) == 1


def test_expired_token_fails_the_reply_and_marks_the_account(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_dm"), agent=None, text="Hi")
    sim.faults.add(Fault(kind="auth_expired", path_prefix="/2/dm_conversations"))
    assert send_due(session, connector_for).failed == 1
    session.refresh(msg)
    assert msg.delivery_state == "failed" and "reconnection" in (msg.delivery_error or "")
    conv = session.get(Conversation, msg.conversation_id)
    account = session.get(Account, conv.account_id) if conv else None
    assert account is not None
    session.refresh(account)
    assert account.needs_reconnect


def test_refused_reply_fails_with_the_reason_and_can_be_retried(
        session: Session, sim: SimState, jane_thread, connector_for) -> None:  # type: ignore[no-untyped-def]
    msg = queue_reply(session, conversation=thread_of(session, "x_mention"), agent=None,
                      text="Duplicate?")
    sim.faults.add(Fault(kind="canned", path_prefix="/2/tweets", method="POST", status=403,
                         body={"errors": [{"code": 187, "message": "Status is a duplicate."}]}))
    assert send_due(session, connector_for).failed == 1
    session.refresh(msg)
    assert msg.delivery_state == "failed"
    assert "duplicate" in (msg.delivery_error or "").lower()
    with pytest.raises(Invalid):
        retry_reply(session, message=Message(id=-1, conversation_id=msg.conversation_id,
                                             platform="x", direction="outbound"), agent=None)
    retry_reply(session, message=msg, agent=None)
    assert send_due(session, connector_for).sent == 1
    assert len(sim.sent_items()) == 1


CHILD = textwrap.dedent("""
    import os, signal, sys
    from app.accounts.crypto import CredentialBox
    from app.accounts.service import make_connector
    from app.db import make_engine, session_factory
    from app.outbox.sender import send_due
    import connectors.twitter as tw

    real_send = tw.TwitterConnector.send
    def send_then_die(self, reply):
        real_send(self, reply)  # the post is on the platform now...
        os.kill(os.getpid(), signal.SIGKILL)  # ...and the worker dies before recording it
    tw.TwitterConnector.send = send_then_die

    box = CredentialBox(os.environ["KEY"])
    with session_factory(make_engine(os.environ["DB"]))() as s:
        send_due(s, lambda a: make_connector(a, box, timeout=2))
""")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_worker_killed_between_posting_and_recording_does_not_post_twice(
        kind: str, fresh_db_url, simulator: SimulatorThread,
        sim: SimState) -> None:  # type: ignore[no-untyped-def]
    url = fresh_db_url(kind)
    migrate.upgrade(url)
    raw_key = Fernet.generate_key().decode()  # the child process needs the key itself
    child_box = CredentialBox(raw_key)
    connector_for = partial(make_connector, box=child_box)
    factory = session_factory(make_engine(url))
    brand = sim.add_brand("42", "acme")
    sim.add_user("7", "jane", "Jane Doe")
    sim.add_tweet("7", "@acme help")
    with factory() as s:
        add_account(s, box=child_box, platform="x", name="acme",
                    credentials=brand.credentials(), api_base_url=simulator.base_url)
        s.commit()
        poll_due(s, connector_for, default_interval=60)
        conv = s.scalars(select(Conversation)).one()
        msg = queue_reply(s, conversation=conv, agent=None, text="We are on it, Jane")
        s.commit()
        msg_id = msg.id

    child = subprocess.run([sys.executable, "-c", CHILD], env=os.environ | {
        "KEY": raw_key, "DB": url}, cwd=Path(__file__).parents[2], timeout=60)
    assert child.returncode == -9  # killed, as planned
    assert len(sim.sent_items()) == 1

    with factory() as s:
        item = s.scalars(select(Outbox)).one()
        assert item.state == "sending"  # what a dead worker leaves behind
        report = send_due(s, connector_for, now=later(5))
        assert (report.reconciled, report.sent) == (1, 0)
        stored = s.get(Message, msg_id)
        assert stored is not None and stored.delivery_state == "sent"
        assert stored.external_id == sim.sent_items()[0]["id"]
    assert len(sim.sent_items()) == 1
