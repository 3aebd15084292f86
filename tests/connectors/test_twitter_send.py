"""TwitterConnector.send and find_sent against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import OutgoingReply, Permanent, ThreadKind, Transient
from connectors.twitter import TwitterConnector
from tests.connectors.conftest import BRAND_ID, CUSTOMER_ID, Control

OTHER_ID = "8000000000000000008"


def public(to: str, text: str) -> OutgoingReply:
    return OutgoingReply(ThreadKind.X_MENTION, to, text, in_reply_to=to)


def direct(text: str, recipient: str | None = CUSTOMER_ID, thread: str = "") -> OutgoingReply:
    return OutgoingReply(ThreadKind.X_DM, thread, text, recipient_id=recipient)


def group_dm(control: Control, text: str) -> str:
    """Jane writes to the brand in a group with Max; the group's dm_conversation_id."""
    event = control.dm_in_group(text, [{"id": OTHER_ID, "username": "max"}])
    return str(event["dm_conversation_id"])


def test_a_public_reply_answers_the_right_post(x: TwitterConnector, control: Control) -> None:
    question = control.mention("my order never arrived")

    tweet_id = x.send(public(question["id"], "@jane sorry! we are on it"))

    assert control.sent() == [{
        "kind": "tweet", "id": tweet_id, "brand_id": BRAND_ID, "text": "@jane sorry! we are on it",
        "in_reply_to": question["id"], "conversation_id": question["id"],
    }]


def test_a_dm_reaches_the_right_participant(x: TwitterConnector, control: Control) -> None:
    control.mention("hello", username="max", user_id="8000000000000000008")
    control.mention("hello", username="jane", user_id=CUSTOMER_ID)

    event_id = x.send(direct("your order number please?"))

    [sent] = control.sent()
    assert sent["id"] == event_id and sent["kind"] == "dm"
    assert sent["participant_id"] == CUSTOMER_ID
    assert sent["dm_conversation_id"] == f"{BRAND_ID}-{CUSTOMER_ID}"


def test_a_dm_without_recipient_goes_to_its_conversation(
    x: TwitterConnector, control: Control
) -> None:
    incoming = control.dm("hi, a question")
    conversation = x.fetch("dms", None).messages[0].external_thread_id
    assert conversation == incoming["dm_conversation_id"]

    x.send(direct("ask away", recipient=None, thread=conversation))

    assert control.sent()[0]["participant_id"] == CUSTOMER_ID
    assert control.requests()[-1]["path"] == f"/2/dm_conversations/{conversation}/messages"


def test_a_reply_in_a_dm_thread_goes_into_that_conversation(
    x: TwitterConnector, control: Control
) -> None:
    control.dm("hi, a question")
    conversation = x.fetch("dms", None).messages[0].external_thread_id

    x.send(direct("ask away", thread=conversation))  # the contact is known too

    assert control.requests()[-1]["path"] == f"/2/dm_conversations/{conversation}/messages"
    assert control.sent()[0]["participant_id"] == CUSTOMER_ID


def test_a_reply_in_a_group_dm_reaches_the_group_not_one_member(
    x: TwitterConnector, control: Control
) -> None:
    group = group_dm(control, "both our orders are late")
    [incoming] = x.fetch("dms", None).messages
    assert incoming.external_thread_id == group

    event_id = x.send(direct("sorry to you both, on it", thread=group))

    [sent] = control.sent()
    assert (sent["id"], sent["dm_conversation_id"], sent["participant_id"]) == (
        event_id, group, None)
    assert control.requests()[-1]["path"] == f"/2/dm_conversations/{group}/messages"


def test_a_private_reply_to_a_post_is_a_dm(x: TwitterConnector, control: Control) -> None:
    question = control.mention("my address changed")
    reply = OutgoingReply(ThreadKind.X_MENTION, question["id"], "please DM us the new one",
                          in_reply_to=question["id"], recipient_id=CUSTOMER_ID, private=True)
    x.send(reply)
    assert [(item["kind"], item["participant_id"]) for item in control.sent()] == [
        ("dm", CUSTOMER_ID)]
    assert control.requests()[-1]["path"] == (
        f"/2/dm_conversations/with/{CUSTOMER_ID}/messages")


def test_a_281_character_post_is_refused_before_any_request(
    x: TwitterConnector, control: Control
) -> None:
    question = control.mention("hi")
    before = control.requests()

    with pytest.raises(Permanent, match="280"):
        x.send(public(question["id"], "ü" * 281))

    assert control.requests() == before
    assert control.sent() == []
    assert x.send(public(question["id"], "ü" * 280))  # the limit itself is fine


@pytest.mark.parametrize("double", ["日", "😀", "👍🏽"])  # each counts 2 on X
def test_a_post_x_counts_over_280_is_refused_before_any_request(
    x: TwitterConnector, control: Control, double: str
) -> None:
    question = control.mention("hi")
    before = control.requests()

    with pytest.raises(Permanent, match="X counts this reply as 282"):
        x.send(public(question["id"], double * 141))

    assert control.requests() == before
    assert x.send(public(question["id"], double * 140))  # 280 is fine


def test_a_long_link_counts_23_and_the_post_is_found_again(
    x: TwitterConnector, control: Control
) -> None:
    question = control.mention("where is my parcel?")
    since = datetime.now(UTC) - timedelta(minutes=1)
    link = "https://example.com/track?id=" + "7" * 100
    reply = public(question["id"], "@jane " + "y" * 145 + " " + link)
    assert len(reply.text) == 281

    tweet_id = x.send(reply)

    assert [item["text"] for item in control.sent()] == [reply.text]
    assert x.find_sent(reply, since) == tweet_id


@pytest.mark.parametrize("reply", [
    public("1", "   "),
    direct(""),
    direct("no recipient and no conversation", recipient=None),
    OutgoingReply(ThreadKind.X_MENTION, "1", "no target post"),
    OutgoingReply(ThreadKind.FB_COMMENT, "1", "wrong platform", in_reply_to="1"),
])
def test_replies_that_cannot_succeed_make_no_request(
    x: TwitterConnector, control: Control, reply: OutgoingReply
) -> None:
    with pytest.raises(Permanent):
        x.send(reply)
    assert control.requests() == []


def test_replying_to_a_post_x_does_not_know_is_permanent(
    x: TwitterConnector, control: Control
) -> None:
    with pytest.raises(Permanent, match="deleted or not visible"):
        x.send(public("1234567890123", "hello"))
    assert control.sent() == []


def test_find_sent_finds_a_posted_reply(x: TwitterConnector, control: Control) -> None:
    question = control.mention("help")
    since = datetime.now(UTC) - timedelta(minutes=1)
    reply = public(question["id"], "@jane we're on it: https://example.org/status")
    assert x.find_sent(reply, since) is None

    posted = x.send(reply)

    assert x.find_sent(reply, since) == posted
    assert x.find_sent(public(question["id"], "another text"), since) is None
    other = control.mention("me too", username="max", user_id="8000000000000000008")
    assert x.find_sent(public(other["id"], reply.text), since) is None


def test_find_sent_finds_a_sent_dm(x: TwitterConnector, control: Control) -> None:
    control.dm("hi")
    since = datetime.now(UTC) - timedelta(minutes=1)
    reply = direct("thanks, fixed now")
    assert x.find_sent(reply, since) is None
    event_id = x.send(reply)
    assert x.find_sent(reply, since) == event_id
    assert x.find_sent(reply, datetime.now(UTC) + timedelta(minutes=1)) is None


def test_a_reply_that_landed_after_a_timeout_is_found_not_posted_twice(
    x: TwitterConnector, control: Control
) -> None:
    question = control.mention("help")
    since = datetime.now(UTC) - timedelta(minutes=1)
    reply = public(question["id"], "@jane sorted!")
    short = TwitterConnector(credentials=_credentials(control),
                             account_external_id=BRAND_ID, api_base_url=control.base_url,
                             timeout=0.3)
    control.fault("timeout", path_prefix="/2/tweets", method="POST", delay=0.6, process=True)

    with pytest.raises(Transient):
        short.send(reply)

    [landed] = control.sent()
    assert x.find_sent(reply, since) == landed["id"]


def test_a_group_dm_that_landed_after_a_timeout_is_found_not_sent_twice(
    x: TwitterConnector, control: Control
) -> None:
    group = group_dm(control, "any news?")
    since = datetime.now(UTC) - timedelta(minutes=1)
    reply = direct("shipped today", thread=group)
    short = TwitterConnector(credentials=_credentials(control),
                             account_external_id=BRAND_ID, api_base_url=control.base_url,
                             timeout=0.3)
    control.fault("timeout", path_prefix=f"/2/dm_conversations/{group}/messages",
                  method="POST", delay=0.6, process=True)

    with pytest.raises(Transient):
        short.send(reply)

    [landed] = control.sent()
    assert landed["dm_conversation_id"] == group
    assert x.find_sent(reply, since) == landed["id"]
    assert control.requests()[-1]["path"] == f"/2/dm_conversations/{group}/dm_events"


def _credentials(control: Control) -> dict[str, str]:
    credentials: dict[str, str] = control.get("brands")["brands"][0]["credentials"]
    return credentials
