"""FacebookConnector.send, the Messenger windows and find_sent against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import OutgoingReply, Permanent, ThreadKind, Transient
from connectors.facebook import FacebookConnector, messenger_window, private_reply_open
from connectors.simulator import SimulatorThread
from connectors.simulator.graph_state import Page
from tests.connectors.conftest import FAN_ID, GRAPH, PAGE_ID, FacebookControl

HOUR = 3600.0
DAY = 24 * HOUR


def public(thread: str, text: str, to: str | None = None) -> OutgoingReply:
    return OutgoingReply(ThreadKind.FB_COMMENT, thread, text, in_reply_to=to or thread)


def private(comment: dict[str, Any], text: str, **extra: Any) -> OutgoingReply:
    return OutgoingReply(ThreadKind.FB_COMMENT, comment["id"], text, in_reply_to=comment["id"],
                         private=True, extra=extra)


def messenger(thread: str, text: str, recipient: str | None = FAN_ID,
              last_customer_message_at: datetime | None = None) -> OutgoingReply:
    extra = {"last_customer_message_at": last_customer_message_at}
    return OutgoingReply(ThreadKind.FB_MESSENGER, thread, text, recipient_id=recipient,
                         extra={k: v for k, v in extra.items() if v is not None})


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


@pytest.fixture
def question(fb_control: FacebookControl) -> dict[str, Any]:
    post = fb_control.page_post()
    return fb_control.comment(post["id"], "my order never arrived")


def test_a_comment_reply_answers_the_right_comment(
    fb: FacebookConnector, fb_control: FacebookControl, question: dict[str, Any]
) -> None:
    comment_id = fb.send(public(question["id"], "Sorry Jane, we're on it"))

    assert fb_control.fb_sent() == [{
        "kind": "comment", "id": comment_id, "page_id": PAGE_ID,
        "text": "Sorry Jane, we're on it", "target_id": question["id"],
        "parent_id": question["id"], "post_id": question["post_id"],
    }]
    assert fb_control.requests()[-1]["path"] == f"{GRAPH}{question['id']}/comments"


def test_a_reply_to_a_reply_stays_in_the_thread(
    fb: FacebookConnector, fb_control: FacebookControl, question: dict[str, Any]
) -> None:
    follow_up = fb_control.comment(question["id"], "hello??")

    fb.send(public(question["id"], "Here!", to=follow_up["id"]))

    [sent] = fb_control.fb_sent()
    assert sent["target_id"] == follow_up["id"] and sent["parent_id"] == question["id"]


def test_a_private_reply_goes_to_the_comment_once(
    fb: FacebookConnector, fb_control: FacebookControl, question: dict[str, Any]
) -> None:
    message_id = fb.send(private(question, "Please send us your order number"))

    [sent] = fb_control.fb_sent()
    assert sent["id"] == message_id and message_id.startswith("m_")
    assert (sent["kind"], sent["reply_to"], sent["recipient_id"]) == (
        "message", question["id"], FAN_ID)
    assert sent["messaging_type"] is None and sent["tag"] is None
    assert fb_control.requests()[-1]["path"] == f"{GRAPH}{PAGE_ID}/messages"

    with pytest.raises(Permanent, match="already replied"):
        fb.send(private(question, "Once more"))


def test_a_private_reply_to_a_visitor_post_names_the_post(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    post = fb_control.visitor_post("Where is my refund?")
    fb.send(OutgoingReply(ThreadKind.FB_COMMENT, post["id"], "Let's sort it out here",
                          private=True))
    assert fb_control.fb_sent()[0]["reply_to"] == post["id"]


def test_a_private_reply_after_seven_days_is_refused_before_any_request(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    post = fb_control.page_post(back_seconds=10 * DAY)
    old = fb_control.comment(post["id"], "hello?", back_seconds=8 * DAY)
    before = fb_control.requests()

    with pytest.raises(Permanent, match="within 7 days of the comment"):
        fb.send(private(old, "Sorry for the wait", comment_created_at=ago(8 * DAY)))

    assert fb_control.requests() == before
    # Without the time, the platform refuses it: still Permanent, nothing sent.
    with pytest.raises(Permanent, match="allowed window"):
        fb.send(private(old, "Sorry for the wait"))
    assert fb_control.fb_sent() == []


def test_a_messenger_reply_inside_24_hours_is_a_response(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    incoming = fb_control.messenger("Do you ship to Italy?", back_seconds=2 * HOUR)

    message_id = fb.send(messenger(incoming["conversation_id"], "Yes we do!",
                                   last_customer_message_at=ago(2 * HOUR)))

    [sent] = fb_control.fb_sent()
    assert sent["id"] == message_id
    assert (sent["recipient_id"], sent["conversation_id"]) == (FAN_ID, incoming["conversation_id"])
    assert (sent["messaging_type"], sent["tag"]) == ("RESPONSE", None)


def test_a_messenger_reply_without_recipient_looks_up_the_person(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    incoming = fb_control.messenger("hi")
    thread = incoming["conversation_id"]

    fb.send(messenger(thread, "hello!", recipient=None))

    assert fb_control.fb_sent()[0]["recipient_id"] == FAN_ID
    assert [r["path"] for r in fb_control.requests()] == [f"{GRAPH}{thread}",
                                                          f"{GRAPH}{PAGE_ID}/messages"]


def test_a_messenger_reply_at_25_hours_uses_the_human_agent_tag(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    incoming = fb_control.messenger("Hello?", back_seconds=25 * HOUR)

    fb.send(messenger(incoming["conversation_id"], "Sorry for the wait, Jane",
                      last_customer_message_at=ago(25 * HOUR)))

    [sent] = fb_control.fb_sent()
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_the_platform_refuses_a_response_outside_24_hours(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    """Without the time of the last message the connector assumes the window is open; the
    platform's refusal (code 10) is Permanent: retrying cannot help."""
    incoming = fb_control.messenger("Hello?", back_seconds=25 * HOUR)
    with pytest.raises(Permanent, match="7 days of the person's last message"):
        fb.send(messenger(incoming["conversation_id"], "Sorry for the wait"))
    assert fb_control.fb_sent() == []


def test_a_messenger_reply_after_7_days_is_refused_and_nothing_is_sent(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    incoming = fb_control.messenger("Hello?", back_seconds=8 * DAY)
    before = fb_control.requests()

    with pytest.raises(Permanent) as refused:
        fb.send(messenger(incoming["conversation_id"], "Sorry!",
                          last_customer_message_at=ago(8 * DAY)))

    assert "Messenger only allows replies within 7 days of the person's last message" in str(
        refused.value)
    assert fb_control.requests() == before
    assert fb_control.fb_sent() == []


@pytest.mark.parametrize(("age", "window"), [
    (None, "response"), (timedelta(0), "response"), (timedelta(hours=23), "response"),
    (timedelta(hours=24), "human_agent"), (timedelta(hours=25), "human_agent"),
    (timedelta(days=6, hours=23), "human_agent"), (timedelta(days=7), "closed"),
    (timedelta(days=8), "closed"),
])
def test_messenger_window(age: timedelta | None, window: str) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert messenger_window(now - age if age is not None else None, now) == window
    naive = (now - age).replace(tzinfo=None) if age is not None else None
    assert messenger_window(naive, now) == window  # naive times are taken as UTC


def test_private_reply_open() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert private_reply_open(None, now) and private_reply_open(now - timedelta(days=6), now)
    assert not private_reply_open(now - timedelta(days=7), now)


@pytest.mark.parametrize("reply", [
    public("1_2", "   "),
    public("1_2", "x" * 8001),
    OutgoingReply(ThreadKind.FB_COMMENT, "1_2", "x" * 2001, private=True),
    messenger("t_1", "x" * 2001),
    messenger("not-a-thread", "no recipient, no thread id", recipient=None),
    OutgoingReply(ThreadKind.FB_COMMENT, "", "no target"),
    OutgoingReply(ThreadKind.X_MENTION, "1", "wrong platform", in_reply_to="1"),
])
def test_replies_that_cannot_succeed_make_no_request(
    fb: FacebookConnector, fb_control: FacebookControl, reply: OutgoingReply
) -> None:
    with pytest.raises(Permanent):
        fb.send(reply)
    assert fb_control.requests() == []


def test_the_longest_allowed_texts_go_through(
    fb: FacebookConnector, fb_control: FacebookControl, question: dict[str, Any]
) -> None:
    assert fb.send(public(question["id"], "ü" * 8000))
    incoming = fb_control.messenger("hi")
    assert fb.send(messenger(incoming["conversation_id"], "ü" * 2000))


def test_find_sent_finds_a_comment_reply(
    fb: FacebookConnector, fb_control: FacebookControl, question: dict[str, Any]
) -> None:
    since = ago(60)
    reply = public(question["id"], "We're on it:  https://example.org/status")
    assert fb.find_sent(reply, since) is None

    posted = fb.send(reply)

    assert fb.find_sent(reply, since) == posted
    assert fb.find_sent(public(question["id"], "another text"), since) is None
    assert fb.find_sent(reply, datetime.now(UTC) + timedelta(minutes=1)) is None
    other = fb_control.comment(question["post_id"], "me too", person_id="5000000000000006")
    assert fb.find_sent(public(other["id"], reply.text), since) is None


def test_find_sent_finds_messenger_and_private_replies(
    fb: FacebookConnector, fb_control: FacebookControl, question: dict[str, Any]
) -> None:
    since = ago(60)
    incoming = fb_control.messenger("hi")
    answer = messenger(incoming["conversation_id"], "thanks, fixed now")
    note = private(question, "please send your order number")
    assert fb.find_sent(answer, since) is None and fb.find_sent(note, since) is None

    answer_id, note_id = fb.send(answer), fb.send(note)

    assert fb.find_sent(answer, since) == answer_id
    assert fb.find_sent(note, since) == note_id


def test_a_reply_that_landed_after_a_timeout_is_found_not_posted_twice(
    sim: SimulatorThread, page: Page, fb: FacebookConnector, fb_control: FacebookControl,
    question: dict[str, Any]
) -> None:
    since = ago(60)
    reply = public(question["id"], "Sorted!")
    short = FacebookConnector(credentials=page.credentials(), account_external_id=PAGE_ID,
                              api_base_url=sim.base_url, timeout=0.3)
    fb_control.fault("timeout", path_prefix=GRAPH, method="POST", delay=0.6, process=True)

    with pytest.raises(Transient):
        short.send(reply)

    [landed] = fb_control.fb_sent()
    assert fb.find_sent(reply, since) == landed["id"]
